/**
 * source_open.ts's opening and checking of a backup source, in plain CommonJS for the worker
 * threads' code (hash_worker.ts, small_reader_worker.ts embed it; they cannot import TypeScript).
 * Defines `openRead(file)` (the flags, O_NOATIME only where allowed) and `openListed(file,
 * listed)`, which returns `{ fd, st, replaced }` or throws with the codes openListed's do (EFTYPE,
 * EMOVED); `replaced` is the file's own metadata (as file_meta.ts's Meta) when it is not
 * the file listed, and the caller closes `fd`.
 */
export const SOURCE_OPEN_JS = String.raw`
const READ = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW;

function openRead(file) {
  try {
    return fs.openSync(file, READ | fs.constants.O_NOATIME);
  } catch (err) {
    // Only the file's owner may ask for O_NOATIME.
    if (!err || err.code !== 'EPERM') throw err;
  }
  return fs.openSync(file, READ);
}

function sourceError(code, message, file) {
  const err = new Error(message);
  err.code = code;
  err.syscall = 'open';
  err.path = file;
  return err;
}

function openListed(file, listed) {
  const fd = openRead(file);
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) {
      throw sourceError('EFTYPE', 'EFTYPE: not a regular file (replaced since it was listed?), open ' + JSON.stringify(file), file);
    }
    let replaced;
    if (listed) {
      const at = listed.exact ? fs.readlinkSync('/proc/self/fd/' + fd) : file;
      if (at !== file && at !== file + ' (deleted)') {
        throw sourceError('EMOVED', 'EMOVED: ' + JSON.stringify(file) + ' opened a file that is not there but at ' +
          JSON.stringify(at) + ': a directory on its path was moved or replaced by a link since it was listed', file);
      }
      if ((listed.dev !== undefined && st.dev !== listed.dev) || st.ino !== listed.ino) {
        const b = fs.fstatSync(fd, { bigint: true });
        replaced = { kind: 'file', mode: Number(b.mode & 0o7777n), uid: Number(b.uid), gid: Number(b.gid),
          mtime: b.mtimeNs.toString(), size: Number(b.size), ino: Number(b.ino), dev: Number(b.dev) };
      }
    }
    return { fd, st, replaced };
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}
`;
