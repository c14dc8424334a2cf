/**
 * The code each hash worker thread runs (hash_pool.ts starts it with `eval: true`). It is a string
 * of plain CommonJS on purpose: a worker thread loads JavaScript itself, outside the TypeScript
 * toolchain, and the same string runs from the compiled dist/, from the TypeScript sources under
 * jest (swc compiles them in-process, so there is no .js file beside this one) and from a bundle.
 * It uses only Node's own modules, and does its file I/O synchronously: the thread is dedicated to
 * the job, so a blocking read costs nothing, and it keeps reads off libuv's 4-thread pool that the
 * walk's lstat and readdir calls share.
 *
 * Protocol: the pool posts `{ id, op, file, ... }`; the worker answers `{ id, ok: true, sha256,
 * size, bytes? }` or `{ id, ok: false, error }`, with `error` the fields of the Node error (code,
 * errno, syscall, path, dest) and `side`: 'source' for the file read, 'destination' for the copy
 * written. Between chunks it checks `stop` (an Int32Array on a SharedArrayBuffer the pool sets on
 * abort) and then fails with code ABORT_ERR, closing what it opened first.
 *
 * Ops:
 * - hash {file}: reads the file to its end and hashes it.
 * - read {file, limit}: reads a file of at most `limit` bytes whole and hashes it, returning the
 *   bytes (an ArrayBuffer of its own, transferred, never a slice of a shared pool); a larger one
 *   (or one that grew past the limit) comes back with `tooBig` and no hash.
 * - copy {file, dest}: copies the file into `dest` (created, mode 0600, must not exist), hashing
 *   exactly the bytes it writes; on failure `dest` is removed.
 * Files are opened O_NONBLOCK and must be regular files: one replaced by a FIFO since it was
 * listed fails with code EFTYPE instead of blocking the thread forever.
 */
export const HASH_WORKER_SOURCE = String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { createHash } = require('node:crypto');

const stop = new Int32Array(workerData.stop);
const chunk = Buffer.allocUnsafeSlow(workerData.chunkSize);
const READ = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK;
const CREATE = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL;

function tag(err, side) {
  if (err && typeof err === 'object' && err.side === undefined) err.side = side;
  return err;
}

function checkStop() {
  if (Atomics.load(stop, 0) !== 0) {
    const err = new Error('the operation was aborted');
    err.code = 'ABORT_ERR';
    throw err;
  }
}

function openSource(file) {
  let fd;
  try {
    fd = fs.openSync(file, READ);
  } catch (err) {
    throw tag(err, 'source');
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) {
      const err = new Error('EFTYPE: not a regular file (replaced since it was listed?), open ' + JSON.stringify(file));
      err.code = 'EFTYPE';
      err.syscall = 'open';
      err.path = file;
      throw err;
    }
    return { fd, size: st.size };
  } catch (err) {
    fs.closeSync(fd);
    throw tag(err, 'source');
  }
}

function readInto(fd, buf, offset, length) {
  try {
    return fs.readSync(fd, buf, offset, length, null);
  } catch (err) {
    throw tag(err, 'source');
  }
}

function hashFile(file) {
  const { fd } = openSource(file);
  try {
    const hash = createHash('sha256');
    let size = 0;
    for (;;) {
      checkStop();
      const n = readInto(fd, chunk, 0, chunk.length);
      if (n === 0) break;
      hash.update(chunk.subarray(0, n));
      size += n;
    }
    return { sha256: hash.digest('hex'), size };
  } finally {
    fs.closeSync(fd);
  }
}

function readWhole(file, limit) {
  const { fd, size } = openSource(file);
  try {
    if (size > limit) return { tooBig: true };
    checkStop();
    let buf = Buffer.allocUnsafeSlow(size);
    let n = 0;
    while (n < size) {
      const r = readInto(fd, buf, n, size - n);
      if (r === 0) break;
      n += r;
    }
    if (n === size) {
      // Grown since fstat? Read on to the end, as a whole read would.
      const more = [];
      for (;;) {
        checkStop();
        const r = readInto(fd, chunk, 0, chunk.length);
        if (r === 0) break;
        n += r;
        if (n > limit) return { tooBig: true };
        more.push(Buffer.from(chunk.subarray(0, r)));
      }
      if (more.length) {
        const all = Buffer.allocUnsafeSlow(n);
        buf.copy(all, 0, 0, size);
        let at = size;
        for (const m of more) at += m.copy(all, at);
        buf = all;
      }
    }
    const sha256 = createHash('sha256').update(buf.subarray(0, n)).digest('hex');
    return { sha256, size: n, bytes: buf.buffer };
  } finally {
    fs.closeSync(fd);
  }
}

function copyFile(file, dest) {
  const { fd } = openSource(file);
  let out;
  try {
    try {
      out = fs.openSync(dest, CREATE, 0o600);
    } catch (err) {
      throw tag(err, 'destination');
    }
    const hash = createHash('sha256');
    let size = 0;
    for (;;) {
      checkStop();
      const n = readInto(fd, chunk, 0, chunk.length);
      if (n === 0) break;
      hash.update(chunk.subarray(0, n));
      let off = 0;
      while (off < n) {
        try {
          off += fs.writeSync(out, chunk, off, n - off);
        } catch (err) {
          throw tag(err, 'destination');
        }
      }
      size += n;
    }
    const done = out;
    out = undefined;
    try {
      fs.closeSync(done);
    } catch (err) {
      try { fs.unlinkSync(dest); } catch {}
      throw tag(err, 'destination');
    }
    return { sha256: hash.digest('hex'), size };
  } catch (err) {
    if (out !== undefined) {
      try { fs.closeSync(out); } catch {}
      try { fs.unlinkSync(dest); } catch {}
    }
    throw err;
  } finally {
    fs.closeSync(fd);
  }
}

parentPort.on('message', (job) => {
  let result;
  try {
    if (job.op === 'hash') result = hashFile(job.file);
    else if (job.op === 'read') result = readWhole(job.file, job.limit);
    else if (job.op === 'copy') result = copyFile(job.file, job.dest);
    else throw new Error('unknown op ' + String(job.op));
  } catch (err) {
    const e = err && typeof err === 'object' ? err : { message: String(err) };
    parentPort.postMessage({
      id: job.id,
      ok: false,
      error: {
        message: String(e.message),
        code: typeof e.code === 'string' ? e.code : undefined,
        errno: typeof e.errno === 'number' ? e.errno : undefined,
        syscall: typeof e.syscall === 'string' ? e.syscall : undefined,
        path: typeof e.path === 'string' ? e.path : undefined,
        dest: typeof e.dest === 'string' ? e.dest : undefined,
        side: e.side,
      },
    });
    return;
  }
  parentPort.postMessage({ id: job.id, ok: true, ...result }, result.bytes ? [result.bytes] : []);
});
`;
