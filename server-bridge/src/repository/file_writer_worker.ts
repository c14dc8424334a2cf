/**
 * The code each restore writer thread runs (file_writers.ts starts it with `eval: true`; plain
 * CommonJS for the reason hash_worker.ts gives). It creates new small files in directories the
 * restore made, with the same calls and checks as ContainedTree.createFile on the main thread:
 * the directory is opened without following a link, its handle is checked against the path it
 * must be (/proc/self/fd, Linux) before every file, each file is made with O_EXCL|O_NOFOLLOW
 * through that handle, and its owner, mode and time are set on the handle that wrote it.
 *
 * Protocol: `{ id, op: 'write', groups: [{ open, want, mk, names }], data, meta }` (data: the
 * files' bytes back to back, an ArrayBuffer, possibly longer than they are; meta: a Float64Array's
 * buffer, six numbers a file in the order of the groups' names: length, uid, gid, mode, flags
 * (1 chown, 2 chmod), time in seconds or NaN to leave it) is
 * answered `{ id, ok: true, existed, skipped, stats }` (`existed`: the indexes, across the groups, of files not made because
 * something was at the name: the main thread's general path deals with them) or `{ id, ok: false,
 * at, error, refused }` (`at`: the index of the file that failed; `refused`: { path, why } when a
 * directory is not the one it must be). `mk` ({ open, want, name }: its parent, made by the
 * restore) asks for the group's directory to be made first, mode 0700 as ContainedTree.makeFreshDir
 * makes one; a directory already there is used if it passes the checks. `{ id, op: 'close' }`
 * closes the kept directory handles.
 * `stats` (an ArrayBuffer of BigInt64 pairs: the inode and the mtime in nanoseconds, 0n 0n when
 * unknown) says what each file made is on disk, fstat on the handle that wrote it, then each
 * group's directory whose metadata was set: a post-restore index (restore_index.ts) records it
 * without a second lstat of every path. A pair is given only when the owner, mode and size are what
 * was asked for (else the index looks at the path itself).
 * A group may carry `meta` ({ uid, gid, mode, chown, chmod, time }) and no files: the directory,
 * one this thread made and wrote every file of, is complete; its owner, mode and time are set on
 * its checked handle (as ContainedTree.applyDirMeta would, at the end, by path). A directory one
 * of whose files was not made (something at the name) is left for the main thread: the answer's
 * `skipped` lists such groups, and a failure in them names the group (`group`).
 * `stop` (an Int32Array on a SharedArrayBuffer) set non-zero makes the next file fail ABORT_ERR.
 * A failed file is removed; on any failure the kept handles are closed (handles are the process's,
 * and a thread that is terminated does not close them). A few handles are kept (a directory and
 * the parent its siblings are made in), each checked again on every use.
 */
export const FILE_WRITER_SOURCE = String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');

const stop = new Int32Array(workerData.stop);
const proc = workerData.proc;
const C = fs.constants;
const DIR = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;
const CREATE = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW;
const KEEP = 4;
const kept = new Map(); // open path -> fd: the directories used last, oldest first
const hadExisting = new Set(); // directories with a file not made here: their metadata is the main thread's

function refused(p, why) {
  const err = new Error(p + ' ' + why);
  err.refused = { path: p, why };
  return err;
}

function closeFd(fd) {
  try {
    fs.closeSync(fd);
  } catch {}
}

function closeKept() {
  for (const fd of kept.values()) closeFd(fd);
  kept.clear();
}

function check(fd, want, p) {
  if (!proc) return;
  let got;
  try {
    got = fs.readlinkSync('/proc/self/fd/' + fd);
  } catch (err) {
    throw refused(p, 'cannot be checked (' + (err.code || 'readlink failed') + ')');
  }
  if (got !== want) throw refused(p, 'resolves to ' + got + ' (a symbolic link above it)');
}

function isLink(p) {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

// The kept handle, checked again on each use, or the group's directory opened and checked.
function dirHandle(g) {
  const had = kept.get(g.open);
  if (had !== undefined) {
    check(had, g.want, g.open);
    return had;
  }
  let fd;
  try {
    fd = fs.openSync(g.open, DIR);
  } catch (err) {
    if (err.code === 'ELOOP' || (err.code === 'ENOTDIR' && isLink(g.open))) throw refused(g.open, 'is a symbolic link');
    if (err.code === 'ENOTDIR') throw refused(g.open, 'is not a directory');
    throw err;
  }
  try {
    check(fd, g.want, g.open);
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  if (kept.size >= KEEP) {
    const [oldest, ofd] = kept.entries().next().value;
    kept.delete(oldest);
    closeFd(ofd);
  }
  kept.set(g.open, fd);
  return fd;
}

// The group's directory made inside its checked parent (nothing followed: mkdir never does).
function makeDir(mk) {
  const pfd = dirHandle(mk);
  try {
    fs.mkdirSync(proc ? '/proc/self/fd/' + pfd + '/' + mk.name : mk.open + '/' + mk.name, { mode: 0o700 });
  } catch (err) {
    if (err.code !== 'EEXIST') throw err;
  }
}

// What the handle's file is now (inode, mtime in ns) into stats[2i, 2i+1], when it is what was
// asked for: type, owner, mode and (a file) size; else left 0n (the index looks at the path). A
// report only saves the index a look: failing to make one never fails the file.
function noteStat(fd, want, isDir, stats, i) {
  let st;
  try {
    st = fs.fstatSync(fd, { bigint: true });
  } catch {
    return;
  }
  if (isDir ? !st.isDirectory() : !st.isFile()) return;
  if (Number(st.mode & 0o7777n) !== want.mode || Number(st.uid) !== want.uid || Number(st.gid) !== want.gid) return;
  if (!isDir && Number(st.size) !== want.len) return;
  stats[2 * i] = st.ino;
  stats[2 * i + 1] = st.mtimeNs;
}

// False, with nothing changed, when something is at the name (a link included: O_EXCL).
function create(dirFd, g, f, data, off, stats, at) {
  const p = proc ? '/proc/self/fd/' + dirFd + '/' + f.name : g.open + '/' + f.name;
  let fd;
  try {
    fd = fs.openSync(p, CREATE, 0o600);
  } catch (err) {
    if (err.code === 'EEXIST') return false;
    throw err;
  }
  let open = true;
  try {
    for (let o = 0; o < f.len; ) o += fs.writeSync(fd, data, off + o, f.len - o);
    if (f.chown) fs.fchownSync(fd, f.uid, f.gid);
    // After chown, which clears set-user-ID bits.
    if (f.chmod) fs.fchmodSync(fd, f.mode);
    if (f.time !== undefined) fs.futimesSync(fd, f.time, f.time);
    noteStat(fd, f, false, stats, at);
    open = false;
    fs.closeSync(fd); // may report a failed write-back (NFS): the file goes too
    return true;
  } catch (err) {
    if (open) {
      try {
        fs.closeSync(fd);
      } catch {}
    }
    try {
      fs.unlinkSync(p);
    } catch {}
    throw err;
  }
}

// A complete directory's owner, mode and time, on its checked handle (chmod after chown, which
// clears set-user-ID bits; the time last, as nothing is made in it afterwards).
function setDirMeta(fd, c, stats, i) {
  if (c.chown) fs.fchownSync(fd, c.uid, c.gid);
  if (c.chmod) fs.fchmodSync(fd, c.mode);
  if (c.time !== undefined) fs.futimesSync(fd, c.time, c.time);
  noteStat(fd, c, true, stats, i);
}

function aborted() {
  if (Atomics.load(stop, 0) === 0) return;
  const err = new Error('the operation was aborted');
  err.code = 'ABORT_ERR';
  throw err;
}

function fields(err) {
  if (!err || typeof err !== 'object') return { message: String(err) };
  return { message: String(err.message), code: err.code, errno: err.errno, syscall: err.syscall, path: err.path };
}

parentPort.on('message', (m) => {
  if (m.op === 'close') {
    closeKept();
    parentPort.postMessage({ id: m.id, ok: true, existed: [] });
    return;
  }
  const data = Buffer.from(m.data);
  const meta = new Float64Array(m.meta);
  let files = 0;
  for (const g of m.groups) files += g.names.length;
  const stats = new BigInt64Array(2 * (files + m.groups.length));
  const existed = [];
  const skipped = [];
  let at = 0;
  let off = 0;
  let group;
  try {
    m.groups.forEach((g, gi) => {
      if (g.mk) makeDir(g.mk);
      for (const name of g.names) {
        const k = 6 * at;
        const flags = meta[k + 4];
        const time = meta[k + 5];
        const f = {
          name,
          len: meta[k],
          uid: meta[k + 1],
          gid: meta[k + 2],
          mode: meta[k + 3],
          chown: (flags & 1) !== 0,
          chmod: (flags & 2) !== 0,
          time: Number.isNaN(time) ? undefined : time,
        };
        aborted();
        if (!create(dirHandle(g), g, f, data, off, stats, at)) {
          existed.push(at);
          hadExisting.add(g.open);
        }
        off += f.len;
        at++;
      }
      if (!g.meta) return;
      if (hadExisting.has(g.open)) {
        skipped.push(gi);
        return;
      }
      group = gi;
      aborted();
      setDirMeta(dirHandle(g), g.meta, stats, files + gi);
      group = undefined;
    });
    parentPort.postMessage({ id: m.id, ok: true, existed, skipped, stats: stats.buffer }, [stats.buffer]);
  } catch (err) {
    closeKept();
    parentPort.postMessage({ id: m.id, ok: false, at, group, error: fields(err), refused: err && err.refused });
  }
});
`;
