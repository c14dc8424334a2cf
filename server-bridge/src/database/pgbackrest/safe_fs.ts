/**
 * File operations root makes in directories another account (postgres, or whoever can write the
 * repository) can change under it: no path is followed through a symbolic link, no file is written
 * under a name that can be guessed in advance, and ownership and mode are set on the open handle
 * (fchown/fchmod), never by a second lookup of the path that a swapped-in link could redirect.
 */
import { constants, realpathSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readlink, rename, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { PreconditionError } from '../../core/errors';

/** uid and gid to give a file or directory; undefined keeps ours (root's). */
export interface Owner {
  uid: number;
  gid: number;
}

const NOFOLLOW_DIR = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_DIRECTORY;

function refused(p: string, why: string): PreconditionError {
  return new PreconditionError('PRECONDITION_FAILED', `${p} ${why}: refused, nothing was changed there`, {
    hint: 'someone may have planted it to redirect a change made as root; find out who, remove it, and run again',
  });
}

/** lstat, or undefined when nothing is there. */
async function lstatOrNone(p: string) {
  return lstat(p).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  });
}

/**
 * Makes `dir` a directory owned by `owner` with `mode`. `from` (default: `dir`'s parent) is the
 * part of the path others cannot change: it is created when missing like `mkdir -p` (0700); give
 * '/' when every component may be someone else's. Below it the path is walked one component at a
 * time on directory handles: each is opened with O_NOFOLLOW|O_DIRECTORY relative to the handle of
 * the one above (Linux: through /proc/self/fd/<fd>/<name>, the *at() calls Node lacks), a missing
 * one is made inside that handle, so a link swapped in anywhere below `from` — before or during the
 * walk — is refused by the kernel, never followed, and nothing is made behind it. Owner and mode
 * are set on the last handle. `fresh`: `dir` itself must not exist; it is made here (one that
 * appears meanwhile is refused, never taken over).
 */
export async function ensureOwnedDir(
  dir: string,
  owner: Owner | undefined,
  mode: number,
  from?: string,
  o: { fresh?: boolean } = {},
): Promise<void> {
  const target = path.resolve(dir);
  const top = from ? path.resolve(from) : path.dirname(target);
  const rel = path.relative(top, target);
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) throw new Error(`${target} is not below ${top}`);
  await mkdir(top, { recursive: true, mode: 0o700 });
  // `from` is trusted (an admin's configured path may hold links): opened following them.
  let fh = await open(top, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    const proc = await procWorks(fh, top);
    const names = rel.split(path.sep);
    let cur = top;
    for (const [i, name] of names.entries()) {
      const at = proc ? `/proc/self/fd/${fh.fd}/${name}` : path.join(cur, name);
      cur = path.join(cur, name);
      const last = i === names.length - 1;
      if (last && o.fresh) await makeOne(at, cur);
      let next;
      try {
        next = await openNoFollowDir(at, cur);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || (last && o.fresh)) throw err;
        // Not recursive: each missing component is made inside the handle above, never behind a link.
        await makeOne(at, cur);
        next = await openNoFollowDir(at, cur);
      }
      await fh.close();
      fh = next;
    }
    if (owner) await fh.chown(owner.uid, owner.gid);
    await fh.chmod(mode);
  } finally {
    await fh.close();
  }
}

/** /proc/self/fd names `fh` as `p` (Linux): children can be reached through the handle. */
async function procWorks(fh: FileHandle, p: string): Promise<boolean> {
  return readlink(`/proc/self/fd/${fh.fd}`).then(
    (real) => real === p || real === realpathSync(p),
    () => false,
  );
}

async function makeOne(at: string, shown: string): Promise<void> {
  try {
    await mkdir(at, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw refused(shown, 'appeared while it was being created');
    throw err;
  }
}

/** Opens directory `at` (shown as `shown`) without following a link there; a link or non-directory is refused. */
async function openNoFollowDir(at: string, shown: string): Promise<FileHandle> {
  try {
    return await open(at, NOFOLLOW_DIR);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Linux answers ENOTDIR, not ELOOP, for a link opened with O_NOFOLLOW|O_DIRECTORY.
    const link = code === 'ELOOP' || (code === 'ENOTDIR' && (await lstatOrNone(at))?.isSymbolicLink());
    if (link) throw refused(shown, 'is a symbolic link');
    if (code === 'ENOTDIR') throw refused(shown, 'is not a directory');
    throw err;
  }
}

/** Sets owner (and mode, when given) of the directory `dir` through a no-follow handle; a link there is refused. */
export async function chownDirNoFollow(dir: string, owner: Owner, mode?: number): Promise<void> {
  await withDir(dir, async (fh) => {
    await fh.chown(owner.uid, owner.gid);
    if (mode !== undefined) await fh.chmod(mode);
  });
}

async function withDir(dir: string, f: (fh: FileHandle) => Promise<void>): Promise<void> {
  const fh = await openNoFollowDir(dir, dir);
  try {
    await f(fh);
  } finally {
    await fh.close();
  }
}

/** The bytes of the regular file `file`, read without following a link (a link or non-file is refused). */
export async function readRegularFile(file: string): Promise<{ data: Buffer; uid: number; gid: number; mode: number }> {
  let fh;
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw refused(file, 'is a symbolic link');
    throw err;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw refused(file, 'is not a regular file');
    return { data: await fh.readFile(), uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 };
  } finally {
    await fh.close();
  }
}

/**
 * Replaces `file` with `data` atomically: written to a fresh, randomly named file created with
 * O_EXCL and 0600 (a planted file or link under that name makes the open fail, never followed),
 * given `owner` and `mode` on its handle, then renamed over `file`. An existing `file` that is not
 * a regular file (a link, a directory) is refused.
 */
export async function replaceFile(
  file: string,
  data: string | Buffer,
  o: { owner?: Owner; mode: number },
): Promise<void> {
  const st = await lstatOrNone(file);
  if (st && !st.isFile()) throw refused(file, st.isSymbolicLink() ? 'is a symbolic link' : 'is not a regular file');
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(12).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    try {
      if (o.owner) await fh.chown(o.owner.uid, o.owner.gid);
      await fh.chmod(o.mode);
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
