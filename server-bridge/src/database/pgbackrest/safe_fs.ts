/**
 * File operations root makes in directories another account (postgres, or whoever can write the
 * repository) can change under it: no path is followed through a symbolic link, no file is written
 * under a name that can be guessed in advance, and ownership and mode are set on the open handle
 * (fchown/fchmod), never by a second lookup of the path that a swapped-in link could redirect.
 */
import { constants } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
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
 * part of the path others cannot change: it is created when missing like `mkdir -p` (0700). Below
 * it, every missing component is made one by one and an existing one that is a symbolic link or
 * not a directory is refused. Owner and mode are set through a handle opened with
 * O_NOFOLLOW|O_DIRECTORY, so a link swapped in after the check is refused by the kernel.
 */
export async function ensureOwnedDir(
  dir: string,
  owner: Owner | undefined,
  mode: number,
  from?: string,
): Promise<void> {
  const target = path.resolve(dir);
  const top = from ? path.resolve(from) : path.dirname(target);
  const rel = path.relative(top, target);
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) throw new Error(`${target} is not below ${top}`);
  await mkdir(top, { recursive: true, mode: 0o700 });
  let cur = top;
  for (const name of rel.split(path.sep)) {
    cur = path.join(cur, name);
    const st = await lstatOrNone(cur);
    if (!st) {
      // Not recursive: each missing component is made here, never behind a link.
      await makeOne(cur);
      continue;
    }
    if (st.isSymbolicLink()) throw refused(cur, 'is a symbolic link');
    if (!st.isDirectory()) throw refused(cur, 'is not a directory');
  }
  await withDir(target, async (fh) => {
    if (owner) await fh.chown(owner.uid, owner.gid);
    await fh.chmod(mode);
  });
}

async function makeOne(dir: string): Promise<void> {
  try {
    await mkdir(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw refused(dir, 'appeared while it was being created');
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

async function withDir(dir: string, f: (fh: import('node:fs/promises').FileHandle) => Promise<void>): Promise<void> {
  let fh;
  try {
    fh = await open(dir, NOFOLLOW_DIR);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Linux answers ENOTDIR, not ELOOP, for a link opened with O_NOFOLLOW|O_DIRECTORY.
    const link = code === 'ELOOP' || (code === 'ENOTDIR' && (await lstatOrNone(dir))?.isSymbolicLink());
    if (link) throw refused(dir, 'is a symbolic link');
    if (code === 'ENOTDIR') throw refused(dir, 'is not a directory');
    throw err;
  }
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
