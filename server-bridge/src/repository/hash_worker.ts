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
 * size }` or `{ id, ok: false, error }`, with `error` the fields of the Node error (code,
 * errno, syscall, path, dest) and `side`: 'source' for the file read, 'destination' for the copy
 * written. Between chunks it checks `stop` (an Int32Array on a SharedArrayBuffer the pool sets on
 * abort) and then fails with code ABORT_ERR, closing what it opened first.
 *
 * Ops:
 * - hash {file}: reads the file to its end and hashes it.
 * - copy {file, dest, listed?}: copies the file into `dest` (created, mode 0600, must not exist), hashing
 *   exactly the bytes it writes; on failure `dest` is removed. Reads and hashing overlap the
 *   write of the previous chunk (handed to libuv's threads), so the copy runs on two cores.
 * Both go through the worker's two chunk buffers, allocated once: a worker never holds a file whole.
 * Files are opened O_NOATIME, O_NOFOLLOW (see source_open.ts) and O_NONBLOCK and must be regular files: one
 * replaced by a FIFO since it was listed fails with code EFTYPE instead of blocking the thread forever.
 * A copy given `listed` checks its source as source_open.ts's openListed does and answers `replaced`.
 */
import { SOURCE_OPEN_JS } from './source_open_worker';

export const HASH_WORKER_SOURCE = String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { createHash } = require('node:crypto');

const stop = new Int32Array(workerData.stop);
const chunks = [Buffer.allocUnsafeSlow(workerData.chunkSize), Buffer.allocUnsafeSlow(workerData.chunkSize)];
const chunk = chunks[0];
${SOURCE_OPEN_JS}
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

function openSource(file, listed) {
  try {
    return openListed(file, listed);
  } catch (err) {
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

function writeAll(out, buf, n) {
  return new Promise((resolve, reject) => {
    let off = 0;
    const next = () => {
      fs.write(out, buf, off, n - off, null, (err, written) => {
        if (err) return reject(tag(err, 'destination'));
        off += written;
        if (off < n) next();
        else resolve();
      });
    };
    next();
  });
}

async function copyFile(file, dest, listed) {
  const { fd, replaced } = openSource(file, listed);
  let out;
  let writing;
  try {
    try {
      out = fs.openSync(dest, CREATE, 0o600);
    } catch (err) {
      throw tag(err, 'destination');
    }
    const hash = createHash('sha256');
    let size = 0;
    for (let i = 0; ; i++) {
      checkStop();
      // chunks[i % 2] is free: the write that used it was awaited before the last one started.
      const buf = chunks[i % 2];
      const n = readInto(fd, buf, 0, buf.length);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
      if (writing) await writing;
      writing = writeAll(out, buf, n);
      size += n;
    }
    if (writing) await writing;
    writing = undefined;
    const done = out;
    out = undefined;
    try {
      fs.closeSync(done);
    } catch (err) {
      try { fs.unlinkSync(dest); } catch {}
      throw tag(err, 'destination');
    }
    return { sha256: hash.digest('hex'), size, replaced };
  } catch (err) {
    // A write still under way must end before the file is closed and removed.
    if (writing) await writing.catch(() => undefined);
    if (out !== undefined) {
      try { fs.closeSync(out); } catch {}
      try { fs.unlinkSync(dest); } catch {}
    }
    throw err;
  } finally {
    fs.closeSync(fd);
  }
}

function failure(err) {
  const e = err && typeof err === 'object' ? err : { message: String(err) };
  return {
    message: String(e.message),
    code: typeof e.code === 'string' ? e.code : undefined,
    errno: typeof e.errno === 'number' ? e.errno : undefined,
    syscall: typeof e.syscall === 'string' ? e.syscall : undefined,
    path: typeof e.path === 'string' ? e.path : undefined,
    dest: typeof e.dest === 'string' ? e.dest : undefined,
    side: e.side,
  };
}

parentPort.on('message', async (job) => {
  let result;
  try {
    if (job.op === 'hash') result = hashFile(job.file);
    else if (job.op === 'copy') result = await copyFile(job.file, job.dest, job.listed);
    else throw new Error('unknown op ' + String(job.op));
  } catch (err) {
    parentPort.postMessage({ id: job.id, ok: false, error: failure(err) });
    return;
  }
  parentPort.postMessage({ id: job.id, ok: true, ...result });
});
`;
