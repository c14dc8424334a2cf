/**
 * Makes a directory tree equal to a snapshot's entries: content, modes, owners, mtimes, symlinks
 * and empty directories. In `mirror` mode anything not in the snapshot is removed (except the
 * excluded subtrees, which belong to other components); in `files` mode only listed paths change.
 * The entries are untrusted input (manifest/restore_safety.ts): nothing is written outside the
 * root or through a symbolic link, whether the list asks for the link or the target already had it.
 */
import { chmod, lchown, lstat, lutimes, mkdir, readdir, readlink, rm, symlink, unlink, utimes } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { BridgeError, PreconditionError, throwIfAborted } from '../core/errors';
import { checkEntryList } from '../manifest/restore_safety';
import { TaskPool } from '../core/pool';
import { byPath, type Entry } from '../manifest/manifest';
import type { Repository } from './repository';

export interface TreeRestoreOptions {
  entries: Entry[];
  root: string;
  exclude: string[];
  mode: 'mirror' | 'files';
  repo: Repository;
  signal?: AbortSignal;
  onProgress?: (p: { files: number; bytes: number }) => void;
  concurrency?: number;
  /** Names the component in a refusal (default: the root). */
  component?: string;
}

export interface TreeRestoreResult {
  written: number;
  unchanged: number;
  removed: number;
  bytes: number;
}

const canChown = typeof process.getuid === 'function' && process.getuid() === 0;

/** Restores `opts.entries` under `opts.root`; an unsafe list is refused (VerificationError) before anything is touched. */
export async function restoreTree(opts: TreeRestoreOptions): Promise<TreeRestoreResult> {
  try {
    return await restoreTreeUnchecked(opts);
  } catch (err) {
    throw targetError(err, opts.root);
  }
}

/**
 * A file-system refusal in the target (an immutable file, a read-only mount, permissions) is the
 * admin's to fix: it is named with its path and a hint, not reported as an internal error.
 */
function targetError(err: unknown, root: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (err instanceof BridgeError || !(err instanceof Error) || typeof e.code !== 'string' || !e.syscall) return err;
  // STORAGE_FAILED (exit 1): the job failed part-way; a precondition (exit 3) would claim nothing changed.
  return new BridgeError('STORAGE_FAILED', `cannot write the restore target ${root}: ${e.message}`, {
    cause: err,
    hint: 'check that path: permissions, immutable or append-only attributes (lsattr), a read-only mount',
  });
}

async function restoreTreeUnchecked(opts: TreeRestoreOptions): Promise<TreeRestoreResult> {
  const res: TreeRestoreResult = { written: 0, unchanged: 0, removed: 0, bytes: 0 };
  // The checks see the same list that is written below, duplicates and order included.
  checkEntryList(opts.component ?? opts.root, opts.entries, opts.mode, opts.exclude);
  const want = new Map(opts.entries.map((e) => [e.path, e]));
  const excluded = new Set(opts.exclude);
  const abs = (rel: string) => (rel ? path.join(opts.root, ...rel.split('/')) : opts.root);

  await mkdir(opts.root, { recursive: true });
  if (opts.mode === 'mirror') res.removed = await removeUnwanted(opts.root, '', want, excluded, opts.signal);

  // Parents before children, each made a real directory (a link found there is replaced, never
  // followed): every file below then lands in a directory this restore checked.
  const dirs = opts.entries.filter((e) => e.type === 'dir').sort(byPath);
  for (const d of dirs) await ensureDir(abs(d.path));

  const pool = new TaskPool(opts.concurrency ?? 16);
  for (const e of opts.entries) {
    throwIfAborted(opts.signal);
    if (e.type !== 'file') continue;
    await pool.add(async () => {
      const target = abs(e.path);
      if (opts.mode === 'files') await mkdir(path.dirname(target), { recursive: true });
      const existing = await lstat(target, { bigint: true }).catch(() => undefined);
      if (existing && sameFile(existing, e)) {
        res.unchanged++;
      } else {
        // The copy is renamed into place, which replaces a file or a link (never written through);
        // a directory in the way must go first. A file stays until a checked copy replaces it.
        if (existing?.isDirectory()) await remove(target, true);
        await opts.repo.copyObjectTo(e.sha256 as string, target, { signal: opts.signal });
        res.written++;
        res.bytes += e.size ?? 0;
        opts.onProgress?.({ files: res.written, bytes: res.bytes });
      }
      await applyMeta(target, e);
    });
  }
  await pool.drain();
  // Symlinks last: no directory or file of this restore is written once a link exists.
  for (const e of opts.entries) {
    throwIfAborted(opts.signal);
    if (e.type !== 'symlink') continue;
    const target = abs(e.path);
    const cur = await lstat(target).catch(() => undefined);
    if (cur?.isSymbolicLink() && (await readlink(target)) === e.target) {
      res.unchanged++;
    } else {
      if (cur) await remove(target, cur.isDirectory());
      await symlink(e.target as string, target);
      res.written++;
    }
    await applyMeta(target, e);
  }
  // Directory times last, deepest first: creating files inside a directory changes its mtime.
  for (const d of [...dirs].reverse()) await applyMeta(abs(d.path), d);
  return res;
}

/**
 * Refuses a root reached through a symbolic link below `base` (a restore onto a new install dir
 * writes only inside it, whatever links were placed there before); a missing part is fine: it
 * is created as a real directory.
 */
export async function assertNoLinkBelow(base: string, root: string): Promise<void> {
  const rel = path.relative(base, root);
  if (rel.startsWith('..') || path.isAbsolute(rel)) throw new BridgeError('INTERNAL', `${root} is not inside ${base}`);
  let p = base;
  for (const seg of rel ? rel.split(path.sep) : []) {
    p = path.join(p, seg);
    const st = await lstat(p).catch(() => undefined);
    if (!st) return;
    if (st.isSymbolicLink()) {
      throw new PreconditionError(
        'PRECONDITION_FAILED',
        `${p} is a symbolic link; a restore into ${base} does not follow links`,
        { hint: `remove ${p} (or restore into another directory) and run the restore again` },
      );
    }
  }
}

async function removeUnwanted(
  root: string,
  rel: string,
  want: Map<string, Entry>,
  excluded: Set<string>,
  signal?: AbortSignal,
): Promise<number> {
  let removed = 0;
  const names = await readdir(rel ? path.join(root, rel) : root).catch(() => [] as string[]);
  for (const name of names) {
    throwIfAborted(signal);
    const childRel = rel ? `${rel}/${name}` : name;
    if (excluded.has(childRel)) continue;
    const childAbs = path.join(root, childRel);
    const st = await lstat(childAbs);
    const w = want.get(childRel);
    const type = typeOf(st);
    if (!w || w.type !== type) {
      // A directory that holds an excluded subtree is emptied around it, never removed whole.
      if (type === 'dir' && [...excluded].some((x) => x.startsWith(`${childRel}/`))) {
        removed += await removeUnwanted(root, childRel, want, excluded, signal);
        continue;
      }
      await remove(childAbs, type === 'dir');
      removed++;
    } else if (type === 'dir') {
      removed += await removeUnwanted(root, childRel, want, excluded, signal);
    }
  }
  return removed;
}

/**
 * Removes a path without following a link. Non-directories are unlinked directly: fs.rm turns an
 * unlink refused with EPERM (an immutable file) into a misleading ENOTDIR from scandir.
 */
async function remove(p: string, isDir: boolean): Promise<void> {
  if (isDir) {
    await rm(p, { recursive: true, force: true });
    return;
  }
  await unlink(p).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  });
}

/** The entry type a path found on disk would have ('other': a socket, a device, a FIFO). */
function typeOf(st: Stats): Entry['type'] | 'other' {
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  return st.isFile() ? 'file' : 'other';
}

async function ensureDir(dir: string): Promise<void> {
  const st = await lstat(dir).catch(() => undefined);
  if (st?.isDirectory()) return;
  // A link (or file) where the snapshot has a directory is removed itself, never followed.
  if (st) await remove(dir, false);
  await mkdir(dir, { recursive: true });
}

function sameFile(st: import('node:fs').BigIntStats, e: Entry): boolean {
  if (!st.isFile() || Number(st.size) !== e.size) return false;
  // utimes() cannot set nanoseconds exactly; a microsecond is the precision we restore.
  return st.mtimeNs / 1000n === BigInt(e.mtime) / 1000n;
}

/**
 * Sets owner, mode and mtime, each only where it differs: an unchanged file then costs one lstat,
 * and one that cannot be changed (immutable) does not fail a restore or its undo that needs no change.
 */
async function applyMeta(target: string, e: Entry): Promise<void> {
  const st = await lstat(target, { bigint: true });
  if (canChown && (Number(st.uid) !== e.uid || Number(st.gid) !== e.gid)) await lchown(target, e.uid, e.gid);
  // Seconds as a double carry ~0.25 µs of error at today's epoch and libuv truncates to ns:
  // aiming at the middle of the microsecond makes the restored time land in the right one.
  const seconds = (Number(BigInt(e.mtime) / 1000n) + 0.5) / 1e6;
  const sameTime = st.mtimeNs / 1000n === BigInt(e.mtime) / 1000n;
  if (e.type === 'symlink') {
    if (!sameTime) await lutimes(target, seconds, seconds);
    return;
  }
  if ((Number(st.mode) & 0o7777) !== e.mode) await chmod(target, e.mode);
  if (!sameTime) await utimes(target, seconds, seconds);
}
