/**
 * Makes a directory tree equal to a snapshot's entries: content, modes, owners, mtimes, symlinks
 * and empty directories. In `mirror` mode anything not in the snapshot is removed (except the
 * excluded subtrees, which belong to other components); in `files` mode only listed paths change.
 * The entries are untrusted input (manifest/restore_safety.ts): nothing is written outside the
 * root or through a symbolic link, whether the list asks for the link or the target already had it.
 */
import { chmod, lchown, lstat, lutimes, mkdir, readdir, readlink, rm, symlink, unlink, utimes } from 'node:fs/promises';
import {
  chmodSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  rmSync,
  unlinkSync,
  utimesSync,
  type BigIntStats,
  type Dirent,
  type Stats,
} from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import path from 'node:path';
import { BridgeError, PreconditionError, throwIfAborted, VerificationError } from '../core/errors';
import { checkEntryList } from '../manifest/restore_safety';
import { TaskPool } from '../core/pool';
import type { Entry } from '../manifest/manifest';
import { EntryCursor, type EntryList } from '../manifest/entry_list';
import { AncestorStack, inPathOrder } from '../manifest/entry_ancestors';
import { INLINE_FILE, type Repository } from './repository';
import { WalkPacer } from './walk_pacer';
import { IntegrityError } from '../storage/encrypted_storage';

export interface TreeRestoreOptions {
  /** Read once per pass; a stream sorted by path (byPath), as a loaded manifest's and a backup's are. */
  entries: EntryList;
  root: string;
  exclude: string[];
  mode: 'mirror' | 'files';
  repo: Repository;
  signal?: AbortSignal;
  onProgress?: (p: { files: number; bytes: number }) => void;
  concurrency?: number;
  /** Names the component in a refusal (default: the root). */
  component?: string;
  /** How small files and metadata are written; adaptive by default (tests pin a mode). */
  pacer?: WalkPacer;
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

/**
 * Passes over the entry list, none holding more than the entries in flight and the directories
 * above the current one: the check; in `mirror` mode the removal of what the snapshot lacks; the
 * directories and files (files in parallel); then links and directory metadata. Every pass reads
 * the same list: a loaded manifest's is a private local copy of the checked bytes (entry_spool.ts).
 */
async function restoreTreeUnchecked(given: TreeRestoreOptions): Promise<TreeRestoreResult> {
  const opts = { ...given, entries: inPathOrder(given.entries) };
  const res: TreeRestoreResult = { written: 0, unchanged: 0, removed: 0, bytes: 0 };
  // The checks see the same list that is written below, duplicates and order included.
  await checkEntryList(opts.component ?? opts.root, opts.entries, opts.mode, opts.exclude);
  const excluded = new Set(opts.exclude);
  const abs = (rel: string) => (rel ? path.join(opts.root, ...rel.split('/')) : opts.root);

  await mkdir(opts.root, { recursive: true });
  if (opts.mode === 'mirror') res.removed = await removeUnwanted(opts.root, opts.entries, excluded, opts.signal);
  // Synchronous calls only from a repository of plain local files (an object read is then one
  // call too); the pacer times both ways on this disk and keeps the faster (walk_pacer.ts).
  const pacer = opts.repo.copiesSmallSync ? (opts.pacer ?? new WalkPacer()) : new WalkPacer({ fixed: 'async' });
  await writeDirsAndFiles(opts, res, abs, pacer);
  await writeLinksAndDirMeta(opts, res, abs, pacer);
  return res;
}

/**
 * Directories, parents first (path order lists a parent before anything under it), each made a
 * real directory (a link found there is replaced, never followed): every file below then lands in
 * a directory this restore checked. Files are copied in parallel as the list is read.
 */
async function writeDirsAndFiles(
  opts: TreeRestoreOptions,
  res: TreeRestoreResult,
  abs: (rel: string) => string,
  pacer: WalkPacer,
): Promise<void> {
  const pool = new TaskPool(opts.concurrency ?? 16);
  const breather = new Breather();
  const restoreFile = async (e: Entry): Promise<void> => {
    const target = abs(e.path);
    if (opts.mode === 'files') await mkdir(path.dirname(target), { recursive: true });
    const existing = await lstat(target, { bigint: true }).catch(() => undefined);
    if (existing && sameFile(existing, e)) {
      res.unchanged++;
      await applyMeta(target, e, existing);
      return;
    }
    // The copy is renamed into place, which replaces a file or a link (never written through);
    // a directory in the way must go first. A file stays until a checked copy replaces it.
    if (existing?.isDirectory()) await remove(target, true);
    try {
      await opts.repo.copyObjectTo(e.sha256 as string, target, { signal: opts.signal });
    } catch (err) {
      throw namedFile(err, opts.component ?? opts.root, e.path, e.sha256 as string);
    }
    res.written++;
    res.bytes += e.size ?? 0;
    opts.onProgress?.({ files: res.written, bytes: res.bytes });
    await applyMeta(target, e, 'new');
  };
  /** The same for a small file, with synchronous calls throughout. */
  const restoreSmallFileSync = (e: Entry): void => {
    const target = abs(e.path);
    if (opts.mode === 'files') mkdirSync(path.dirname(target), { recursive: true });
    const existing = lstatSync(target, { bigint: true, throwIfNoEntry: false });
    if (existing && sameFile(existing, e)) {
      res.unchanged++;
      applyMetaSync(target, e, existing);
      return;
    }
    if (existing?.isDirectory()) rmSync(target, { recursive: true, force: true });
    try {
      opts.repo.copySmallObjectSync(e.sha256 as string, target);
    } catch (err) {
      throw namedFile(err, opts.component ?? opts.root, e.path, e.sha256 as string);
    }
    res.written++;
    res.bytes += e.size ?? 0;
    opts.onProgress?.({ files: res.written, bytes: res.bytes });
    applyMetaSync(target, e, 'new');
  };
  try {
    for await (const e of opts.entries) {
      throwIfAborted(opts.signal);
      if (e.type === 'dir') {
        if (pacer.sync) ensureDirSync(abs(e.path));
        else await ensureDir(abs(e.path));
      } else if (e.type === 'file') {
        if (pacer.sync && (e.size ?? 0) <= INLINE_FILE) restoreSmallFileSync(e);
        else await pool.add(() => restoreFile(e));
      }
      pacer.done(1);
      await breather.maybe();
    }
  } catch (err) {
    // Nothing may still be writing when the caller undoes the restore.
    await pool.drain().catch(() => undefined);
    throw err;
  }
  await pool.drain();
}

/**
 * Symlinks last: no directory or file of this restore is written once a link exists. Directory
 * metadata in the same pass, each directory once everything under it is done (creating a link
 * changes its directory's mtime; a directory made unreadable must not block what is inside it).
 */
async function writeLinksAndDirMeta(
  opts: TreeRestoreOptions,
  res: TreeRestoreResult,
  abs: (rel: string) => string,
  pacer: WalkPacer,
): Promise<void> {
  const open = new AncestorStack<Entry>();
  let root: Entry | undefined;
  const breather = new Breather();
  const dirMeta = async (target: string, d: Entry): Promise<void> => {
    if (pacer.sync) applyMetaSync(target, d);
    else await applyMeta(target, d);
    pacer.done(1);
    await breather.maybe();
  };
  for await (const e of opts.entries) {
    throwIfAborted(opts.signal);
    for (let d = open.popPassed(e.path); d; d = open.popPassed(e.path)) await dirMeta(abs(d.path), d);
    if (e.type === 'dir') {
      if (e.path) open.push(e);
      else root = e;
      continue;
    }
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
  for (let d = open.pop(); d; d = open.pop()) await dirMeta(abs(d.path), d);
  if (root) await applyMeta(opts.root, root);
}

/**
 * An object that fails its checksum as it is written (damaged, or swapped since the preflight,
 * which checks presence and size only), or that fails authentication (encrypted), is named as the
 * file it was to become, which is what the admin knows; both are findings about the snapshot (exit 4).
 */
function namedFile(err: unknown, component: string, rel: string, sha256: string): unknown {
  if (!(err instanceof VerificationError) && !(err instanceof IntegrityError)) return err;
  const issues = err instanceof VerificationError ? err.issues : [{ component, object: sha256, problem: err.message }];
  return new VerificationError(
    `component ${component}, ${JSON.stringify(rel)}: ${err.message}`,
    issues.map((i) => ({ ...i, component, path: rel })),
    { cause: err, hint: err.hint },
  );
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

/**
 * Removes what the snapshot does not list, walking the target in path order and reading the
 * list alongside (a merge join): within a directory, a child's own entry sorts at its name and
 * its subtree at name + '/'. Memory: the names of the directories being walked, not the list.
 */
async function removeUnwanted(
  root: string,
  entries: EntryList,
  excluded: Set<string>,
  signal?: AbortSignal,
): Promise<number> {
  const want = new EntryCursor(entries);
  try {
    return await removeUnder(root, '', want, excluded, signal);
  } finally {
    await want.close();
  }
}

async function removeUnder(
  root: string,
  rel: string,
  want: EntryCursor,
  excluded: Set<string>,
  signal?: AbortSignal,
): Promise<number> {
  let removed = 0;
  const children = await readdir(rel ? path.join(root, rel) : root, { withFileTypes: true }).catch(
    () => [] as Dirent[],
  );
  const types = new Map<string, Entry['type'] | 'other'>();
  const visits: string[] = [];
  for (const d of children) {
    const childRel = rel ? `${rel}/${d.name}` : d.name;
    if (excluded.has(childRel)) continue;
    // The type the directory listing gives, else (a filesystem that does not say) lstat's.
    const type = direntType(d) ?? typeOf(await lstat(path.join(root, childRel)));
    types.set(d.name, type);
    visits.push(d.name);
    if (type === 'dir') visits.push(`${d.name}/`);
  }
  visits.sort();
  const descend = new Set<string>();
  for (const visit of visits) {
    throwIfAborted(signal);
    if (visit.endsWith('/')) {
      const name = visit.slice(0, -1);
      if (descend.has(name)) removed += await removeUnder(root, rel ? `${rel}/${name}` : name, want, excluded, signal);
      continue;
    }
    const childRel = rel ? `${rel}/${visit}` : visit;
    const type = types.get(visit);
    const w = await want.seek(childRel);
    if (w && w.type === type) {
      if (type === 'dir') descend.add(visit);
    } else if (type === 'dir' && [...excluded].some((x) => x.startsWith(`${childRel}/`))) {
      // A directory that holds an excluded subtree is emptied around it, never removed whole.
      descend.add(visit);
    } else {
      await remove(path.join(root, childRel), type === 'dir');
      removed++;
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
function typeOf(st: Stats | Dirent): Entry['type'] | 'other' {
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  return st.isFile() ? 'file' : 'other';
}

/** The type a directory listing gives, or undefined when the filesystem did not say (DT_UNKNOWN). */
function direntType(d: Dirent): Entry['type'] | 'other' | undefined {
  const known = d.isFile() || d.isDirectory() || d.isSymbolicLink() || d.isFIFO() || d.isSocket();
  return known || d.isBlockDevice() || d.isCharacterDevice() ? typeOf(d) : undefined;
}

async function ensureDir(dir: string): Promise<void> {
  const st = await lstat(dir).catch(() => undefined);
  if (st?.isDirectory()) return;
  // A link (or file) where the snapshot has a directory is removed itself, never followed.
  if (st) await remove(dir, false);
  await mkdir(dir, { recursive: true });
}

/** ensureDir with synchronous calls. */
function ensureDirSync(dir: string): void {
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (st?.isDirectory()) return;
  if (st) {
    try {
      unlinkSync(dir); // not rmSync: see remove()
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  mkdirSync(dir, { recursive: true });
}

/** Lets the event loop run (progress, the API) every 20 ms of synchronous calls. */
class Breather {
  private last = Date.now();
  async maybe(): Promise<void> {
    if (Date.now() - this.last < 20) return;
    await yieldToLoop();
    this.last = Date.now();
  }
}

function sameFile(st: BigIntStats, e: Entry): boolean {
  if (!st.isFile() || Number(st.size) !== e.size) return false;
  // utimes() cannot set nanoseconds exactly; a microsecond is the precision we restore.
  return st.mtimeNs / 1000n === BigInt(e.mtime) / 1000n;
}

/**
 * Sets owner, mode and mtime, each only where it differs from `st` (lstat'ed when not given): an
 * unchanged file then costs no call, and one that cannot be changed (immutable) does not fail a
 * restore or its undo that needs no change. 'new': a file this restore just wrote, all set.
 */
async function applyMeta(target: string, e: Entry, st?: BigIntStats | 'new'): Promise<void> {
  const c = metaChanges(e, st === 'new' ? undefined : (st ?? (await lstat(target, { bigint: true }))));
  if (c.chown) await lchown(target, e.uid, e.gid);
  if (c.chmod) await chmod(target, e.mode);
  if (c.time !== undefined) await (e.type === 'symlink' ? lutimes : utimes)(target, c.time, c.time);
}

/** applyMeta with synchronous calls (never for a symlink: Node has no lutimesSync before 22). */
function applyMetaSync(target: string, e: Entry, st?: BigIntStats | 'new'): void {
  const c = metaChanges(e, st === 'new' ? undefined : (st ?? lstatSync(target, { bigint: true })));
  if (c.chown) lchownSync(target, e.uid, e.gid);
  if (c.chmod) chmodSync(target, e.mode);
  if (c.time !== undefined) utimesSync(target, c.time, c.time);
}

/** What applyMeta changes for `e` when `cur` is on disk (undefined: a new file, everything). */
function metaChanges(e: Entry, cur: BigIntStats | undefined): { chown: boolean; chmod: boolean; time?: number } {
  // Seconds as a double carry ~0.25 µs of error at today's epoch and libuv truncates to ns:
  // aiming at the middle of the microsecond makes the restored time land in the right one.
  const sameTime = cur !== undefined && cur.mtimeNs / 1000n === BigInt(e.mtime) / 1000n;
  return {
    chown: canChown && (!cur || Number(cur.uid) !== e.uid || Number(cur.gid) !== e.gid),
    // The order of the calls matters: chown clears set-user-ID bits, so the mode comes after it.
    chmod: e.type !== 'symlink' && (!cur || (Number(cur.mode) & 0o7777) !== e.mode),
    time: sameTime ? undefined : (Number(BigInt(e.mtime) / 1000n) + 0.5) / 1e6,
  };
}
