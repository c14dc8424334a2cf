/**
 * Opening a file to back it up. O_NOATIME: reading does not write the file's access time. With
 * `relatime` (Linux's default) the first read after each change did, one inode write per new
 * file: 12 s of a first backup of a million files (docs/performance.md), and the backup changed
 * what it read. Only the file's owner (or CAP_FOWNER) may ask for it; anyone else gets EPERM and
 * the file is opened without it. O_NONBLOCK: a FIFO put where a file was listed cannot block the open.
 * O_NOFOLLOW: a symbolic link put where a file was listed is not followed (ELOOP), so a writer of
 * the tree cannot have a file it may not read (/etc/shadow) backed up under its own path, to read it
 * after a restore. Sources are always files a walk listed (lstat), never links.
 *
 * O_NOFOLLOW guards the last component only: a directory on the path swapped for a link after the
 * walk listed it would still lead elsewhere. So a source the walk listed is opened with its
 * `Listed` identity and checked on its handle (openListed): it must be a regular file, at exactly
 * the path opened (the walk's paths have no link on them, and /proc/self/fd/<fd> names where the
 * handle really is), and when it is not the very file listed (dev, ino) but one put at that path
 * since (an editor's save), its own metadata is what the backup records, never the listed file's.
 */
import {
  close as closeCb,
  closeSync,
  constants,
  fstat as fstatCb,
  fstatSync,
  open as openCb,
  openSync,
  readlinkSync,
  type BigIntStats,
  type Stats,
} from 'node:fs';
import { open, readlink, realpath, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { metaOf, type Meta } from './file_meta';
import { FileOpError } from './file_op_error';

const PLAIN = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW;
/** PLAIN and O_NOATIME: the flags a source is opened with first. */
const SOURCE_FLAGS = PLAIN | constants.O_NOATIME;

/** Which file a walk listed at a path: the handle opened later must be it, or one put there since. */
export interface Listed {
  /** Not compared when unknown (an index records inodes, not devices; `exact` then vouches for the place). */
  dev?: number;
  ino: number;
  /**
   * The path opened has no link on it (a walk under the real root) and /proc/self/fd can say where
   * a handle is: the handle must be at exactly that path, else the open fails with EMOVED.
   */
  exact: boolean;
}

/** A source opened and checked: its fstat, and `replaced` when it is not the file listed but one put at its path since. */
export interface OpenedSource<H> {
  handle: H;
  st: BigIntStats;
  /** The metadata of the file actually opened, to be recorded instead of the listing's. */
  replaced?: Meta;
}

const notOwner = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'EPERM';

/** Opens `file` for reading as a backup source; fails as openSync does (ENOENT: it vanished). */
export function openSourceSync(file: string): number {
  try {
    return openSync(file, SOURCE_FLAGS);
  } catch (err) {
    if (!notOwner(err)) throw err;
    return openSync(file, PLAIN);
  }
}

/** openSourceSync through libuv's threads. */
export async function openSource(file: string): Promise<FileHandle> {
  try {
    return await open(file, SOURCE_FLAGS);
  } catch (err) {
    if (!notOwner(err)) throw err;
    return open(file, PLAIN);
  }
}

/** The error for a path that is no longer a regular file (a FIFO would block a read, a device never end). */
function notRegular(file: string): FileOpError {
  return new FileOpError({
    message: `EFTYPE: not a regular file (replaced since it was listed?), open ${JSON.stringify(file)}`,
    code: 'EFTYPE',
    syscall: 'open',
    path: file,
    side: 'source',
  });
}

/**
 * What the handle's fstat `st` and its place `at` (/proc/self/fd's answer, when `listed.exact`)
 * say about a source opened at `file`: undefined when it is the file listed, its own metadata
 * when a file was put at that path since; throws EFTYPE, or EMOVED when it is somewhere else (a
 * directory on the path was moved or replaced by a link). A handle whose file was removed since
 * it was opened is named `<file> (deleted)` when `file` is where it was: read as it was then (an
 * editor's save renames over the file it opened, and the file is no less the one listed).
 */
function judge(file: string, st: BigIntStats, listed: Listed | undefined, at: string | undefined): Meta | undefined {
  if (!st.isFile()) throw notRegular(file);
  if (!listed) return undefined;
  if (listed.exact && at !== file && at !== `${file} (deleted)`) {
    throw new FileOpError({
      message: `EMOVED: ${JSON.stringify(file)} opened a file that is not there but at ${JSON.stringify(at)}: a directory on its path was moved or replaced by a link since it was listed`,
      code: 'EMOVED',
      syscall: 'open',
      path: file,
      side: 'source',
    });
  }
  if ((listed.dev === undefined || Number(st.dev) === listed.dev) && Number(st.ino) === listed.ino) return undefined;
  return metaOf(st);
}

/** Opens and checks a source (see judge) with synchronous calls; the caller closes `handle`. */
export function openListedSync(file: string, listed?: Listed): OpenedSource<number> {
  const fd = openSourceSync(file);
  try {
    const st = fstatSync(fd, { bigint: true });
    const at = listed?.exact ? readlinkSync(`/proc/self/fd/${fd}`) : undefined;
    return { handle: fd, st, replaced: judge(file, st, listed, at) };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** openListedSync through libuv's threads. */
export async function openListed(file: string, listed?: Listed): Promise<OpenedSource<FileHandle>> {
  const fh = await openSource(file);
  try {
    const st = await fh.stat({ bigint: true });
    const at = listed?.exact ? await readlink(`/proc/self/fd/${fh.fd}`) : undefined;
    return { handle: fh, st, replaced: judge(file, st, listed, at) };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** Where a backup reads a tree from: real paths, checked as Listed.exact says. */
export interface SourcePaths {
  /** The root's real path. */
  root: string;
  /** Whether handles opened under it can be checked for where they are (Listed.exact). */
  exact: boolean;
  /** Relative roots whose parent's real path is not `root` joined with it: where each is read from. */
  rootPaths: ReadonlyMap<string, string>;
  /** Set when `exact` cannot be had: a directory swapped for a link would go unnoticed. */
  warning?: string;
}

/**
 * The paths to read a backup of `roots` (relative, normalized; [''] is all) under `root` from:
 * links in the configured paths (the root's, and those above each relative root) are resolved
 * once, here, as they are when the backup starts; none may appear under them later (EMOVED). A
 * relative root's own last component is not resolved: a link there is recorded as a link.
 */
export async function sourcePaths(root: string, roots: readonly string[]): Promise<SourcePaths> {
  const real = await realpath(root).catch(() => undefined);
  if (real === undefined) return { root, exact: false, rootPaths: new Map() }; // missing: the walk says so
  const rootPaths = new Map<string, string>();
  for (const r of roots) {
    const parent = path.dirname(r);
    if (!r || parent === '.') continue;
    const configured = path.join(real, parent);
    const resolved = await realpath(configured).catch(() => configured);
    if (resolved !== configured) rootPaths.set(r, path.join(resolved, path.basename(r)));
  }
  let fd: number;
  try {
    fd = openSync(real, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return { root: real, exact: false, rootPaths }; // unreadable: the walk says so
  }
  try {
    if (readlinkSync(`/proc/self/fd/${fd}`) === real) return { root: real, exact: true, rootPaths };
  } catch {
    // no /proc
  } finally {
    closeSync(fd);
  }
  return {
    root: real,
    exact: false,
    rootPaths,
    warning: `/proc/self/fd does not say where open files are (is /proc mounted?): a directory under ${real} swapped for a link during the backup would not be noticed`,
  };
}

/** The path `rel` (under one of the roots `src` was made for) is read from. */
export function sourcePath(src: SourcePaths, rel: string): string {
  for (const [r, p] of src.rootPaths) {
    if (rel === r) return p;
    if (rel.startsWith(`${r}/`)) return p + rel.slice(r.length);
  }
  return rel ? path.join(src.root, rel) : src.root;
}

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** A directory's identity, to know it again. */
export interface DirId {
  dev: number;
  ino: number;
}

/** How openHeldDir checks the directory it opens. */
export interface DirCheck {
  /** `at` may lead through links (a walk's root): the handle must be at exactly `abs`. */
  place: boolean;
  /** The directory's identity when it was held before: it must be the same directory. */
  was?: DirId;
}

function dirMoved(abs: string, why: string): FileOpError {
  return new FileOpError({
    message: `EMOVED: the directory ${JSON.stringify(abs)} ${why} since it was listed`,
    code: 'EMOVED',
    syscall: 'open',
    path: abs,
    side: 'source',
  });
}

/** check.place against where the handle is (`at`), check.was against its fstat. */
function judgeDir(abs: string, check: DirCheck, at: string | undefined, st: Stats | undefined): void {
  if (check.place && at !== abs) throw dirMoved(abs, `is not there but at ${JSON.stringify(at)}: it was moved`);
  if (check.was && (check.was.dev !== st?.dev || check.was.ino !== st.ino)) throw dirMoved(abs, 'was replaced');
}

/** ENOTDIR from O_DIRECTORY | O_NOFOLLOW: a link or a file is at the path now. */
function openFailed(abs: string, err: unknown): unknown {
  return (err as NodeJS.ErrnoException).code === 'ENOTDIR' ? dirMoved(abs, 'was replaced by a link or a file') : err;
}

/**
 * Opens the directory listed at `abs` through `at`: its parent's handle (`/proc/self/fd/<fd>/<name>`,
 * so no link put on the way since is followed) or, for a walk's root, `abs` itself with `check.place`.
 * Returns the handle (the caller closes it). Fails with EMOVED when a link or a file is there
 * now, or the check fails; ENOENT when it is gone. No fstat unless `check.was` asks: one call
 * less per directory of a walk.
 */
export function openHeldDirSync(at: string, abs: string, check: DirCheck): number {
  let fd: number;
  try {
    fd = openSync(at, DIR_FLAGS);
  } catch (err) {
    throw openFailed(abs, err);
  }
  try {
    const place = check.place ? readlinkSync(`/proc/self/fd/${fd}`) : undefined;
    judgeDir(abs, check, place, check.was ? fstatSync(fd) : undefined);
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

const openP = promisify(openCb);
const fstatP = promisify(fstatCb);
const closeP = promisify(closeCb);

/** openHeldDirSync through libuv's threads. */
export async function openHeldDir(at: string, abs: string, check: DirCheck): Promise<number> {
  let fd: number;
  try {
    fd = await openP(at, DIR_FLAGS);
  } catch (err) {
    throw openFailed(abs, err);
  }
  try {
    const place = check.place ? await readlink(`/proc/self/fd/${fd}`) : undefined;
    judgeDir(abs, check, place, check.was ? await fstatP(fd) : undefined);
    return fd;
  } catch (err) {
    await closeP(fd);
    throw err;
  }
}
