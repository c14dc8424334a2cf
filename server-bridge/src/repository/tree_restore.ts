/**
 * Makes a directory tree equal to a snapshot's entries: content, modes, owners, mtimes, symlinks
 * and empty directories. In `mirror` mode anything not in the snapshot is removed (except the
 * excluded subtrees, which belong to other components); in `files` mode only listed paths change.
 * The entries are untrusted input (manifest/restore_safety.ts): nothing is written outside the
 * root or through a symbolic link, whether the list asks for the link or the target already had it.
 */
import { lstat, readdir } from 'node:fs/promises';
import { readlinkSync, symlinkSync, unlinkSync, type BigIntStats, type Dirent, type Stats } from 'node:fs';
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
import { ContainedTree, type MetaChange } from './contained_tree';
import { IntegrityError } from '../storage/encrypted_storage';
import { diskFullError, isDiskFull } from '../storage/disk_full';
import { FileWriteError, type FileWritersOptions } from './file_writers';
import { FreshDirWrites, splitRel, type Placed } from './fresh_dir_writes';
import type { RestoredStats } from './restored_stats';

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
  /** The threads that write new small files (file_writers.ts); tests pin one file a message. */
  writers?: FileWritersOptions;
  /** Receives what the writer threads found the paths they made to be, by place in the list. */
  stats?: RestoredStats;
}

export interface TreeRestoreResult {
  written: number;
  unchanged: number;
  removed: number;
  bytes: number;
  /** What the restore did otherwise than usual, for the job's log (no writer thread could start). */
  warnings: string[];
}

/** What to check when the target refuses a write. */
const TARGET_HINT = 'check that path: permissions, immutable or append-only attributes (lsattr), a read-only mount';

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
  // A directory or link made on a full disk: the same DISK_SPACE error as a file written there.
  if (isDiskFull(err)) {
    return diskFullError(err, root, `the restore target ${root}`, undefined, `the disk restored to (${root})`);
  }
  // STORAGE_FAILED (exit 1): the job failed part-way; a precondition (exit 3) would claim nothing changed.
  return new BridgeError('STORAGE_FAILED', `cannot write the restore target ${root}: ${e.message}`, {
    cause: err,
    hint: TARGET_HINT,
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
  const res: TreeRestoreResult = { written: 0, unchanged: 0, removed: 0, bytes: 0, warnings: [] };
  // The checks see the same list that is written below, duplicates and order included.
  await checkEntryList(opts.component ?? opts.root, opts.entries, opts.mode, opts.exclude);
  const excluded = new Set(opts.exclude);
  // Every write below goes through a directory handle checked to be inside the root (contained_tree.ts).
  const tree = ContainedTree.open(opts.root);
  try {
    if (opts.mode === 'mirror') res.removed = await removeUnwanted(tree, opts.entries, excluded, opts.signal);
    // Synchronous calls only from a repository of plain local files (an object read is then one
    // call too); the pacer times both ways on this disk and keeps the faster (walk_pacer.ts).
    const pacer = opts.repo.copiesSmallSync ? (opts.pacer ?? new WalkPacer()) : new WalkPacer({ fixed: 'async' });
    await opts.repo.loadPacks({ signal: opts.signal }); // the synchronous reads look packed objects up
    opts.repo.beginSyncReads();
    // Directories a writer thread completed, owner, mode and time included, by place in the list.
    const metaDone = new Uint8Array((opts.entries.length >>> 3) + 1);
    await writeDirsAndFiles(opts, res, tree, pacer, metaDone);
    await writeLinksAndDirMeta(opts, res, tree, pacer, metaDone);
    return res;
  } finally {
    tree.close();
    opts.repo.endSyncReads();
  }
}

/**
 * Directories, parents first (path order lists a parent before anything under it), each made a
 * real directory (a link found there is replaced, never followed): every file below then lands in
 * a directory this restore checked. Files are copied in parallel as the list is read. Each file is
 * written, renamed and given its metadata inside its directory's checked handle (contained_tree.ts):
 * a directory above it swapped for a link, before or during the restore, is refused, not followed.
 */
async function writeDirsAndFiles(
  opts: TreeRestoreOptions,
  res: TreeRestoreResult,
  tree: ContainedTree,
  pacer: WalkPacer,
  metaDone: Uint8Array,
): Promise<void> {
  const pool = new TaskPool(opts.concurrency ?? 16);
  const breather = new Breather();
  const wrote = (e: Entry): void => {
    res.written++;
    res.bytes += e.size ?? 0;
    opts.onProgress?.({ files: res.written, bytes: res.bytes });
  };
  const restoreFile = async (e: Entry): Promise<void> => {
    const { dir, name } = splitRel(e.path);
    // Its directory was made (checked) as the file was listed; its handle is checked as it opens.
    await tree.withDir(dir, async (fd) => {
      const target = tree.child(fd, dir, name);
      const existing = tree.lstat(target);
      if (existing && sameFile(existing, e)) {
        res.unchanged++;
        tree.applyMeta(target, 'file', metaChanges(e, existing));
        return;
      }
      // The copy is renamed into place, which replaces a file or a link (never written through);
      // a directory in the way must go first. A file stays until a checked copy replaces it.
      if (existing?.isDirectory()) tree.removeChild(dir, name);
      try {
        await opts.repo.copyObjectTo(e.sha256 as string, target, { signal: opts.signal, shownAs: tree.abs(e.path) });
      } catch (err) {
        throw namedFile(err, opts.component ?? opts.root, e.path, e.sha256 as string);
      }
      wrote(e);
      tree.applyMeta(target, 'file', metaChanges(e, undefined));
    });
  };
  /**
   * The same for a small file, with synchronous calls throughout; `tryNew`: a file of a directory
   * this restore made is first tried as new (false: a writer thread found something there).
   */
  const restoreSmallFileSync = (e: Entry, tryNew = true): void => {
    const { dir, name } = splitRel(e.path);
    tree.makeDirs(dir);
    // In a directory this restore made, the file is new: written in place, checked before.
    let checked: Buffer | undefined;
    if (tryNew && tree.isFresh(dir)) {
      checked = readSmallChecked(opts, e);
      if (createSmallFileSync(tree, e, dir, name, checked)) {
        wrote(e);
        return;
      }
    }
    tree.inDir(dir, (fd) => {
      const target = tree.child(fd, dir, name);
      const existing = tree.lstat(target);
      if (existing && sameFile(existing, e)) {
        res.unchanged++;
        tree.applyMeta(target, 'file', metaChanges(e, existing));
        return;
      }
      // Checked before anything in the way goes: a damaged object leaves the target as it was.
      const data = checked ?? readSmallChecked(opts, e);
      if (existing?.isDirectory()) tree.removeChild(dir, name);
      targetWrite(tree, dir, e, () => tree.replaceFile(fd, dir, name, data, metaChanges(e, undefined)));
      wrote(e);
    });
  };
  // New small files of directories this restore made (and those directories) go to writer
  // threads, checked bytes in hand; the main thread reads, checks and makes the rest.
  const fresh = new FreshDirWrites(tree, {
    writers: opts.writers,
    makeDir: (rel) => ensureDir(tree, rel),
    dirMetaDone: (d, ino, mtimeNs) => {
      metaDone[d.at >>> 3] = (metaDone[d.at >>> 3] as number) | (1 << (d.at & 7));
      opts.stats?.set(d.at, ino, mtimeNs);
    },
    read: (e) => readSmallChecked(opts, e),
    meta: (e) => metaChanges(e, undefined),
    onWritten: (f, ino, mtimeNs) => {
      wrote(f.e);
      opts.stats?.set(f.at, ino, mtimeNs);
    },
    fallback: (e) => restoreSmallFileSync(e, false),
  });
  let ordinal = -1;
  try {
    for await (const e of opts.entries) {
      throwIfAborted(opts.signal);
      ordinal++;
      const small = e.type === 'file' && pacer.sync && (e.size ?? 0) <= INLINE_FILE;
      // A small file of a directory this restore made goes to a writer thread; the rest is done here.
      if (!small || !(await fresh.file({ e, at: ordinal }))) {
        await fresh.settle(e.path);
        if (e.type === 'dir') {
          if (!pacer.sync || !fresh.defer({ e, at: ordinal })) ensureDir(tree, e.path);
        } else if (small) {
          restoreSmallFileSync(e);
        } else if (e.type === 'file') {
          // Listed parents were made by ensureDir (mirror); in `files` mode they are made here,
          // checked, now: in path order, as the directories the tree keeps in mind are.
          tree.makeDirs(splitRel(e.path).dir);
          await pool.add(() => restoreFile(e));
        }
      }
      pacer.done(1);
      await breather.maybe();
    }
    await fresh.settle();
    await pool.drain();
    await fresh.drain();
    if (fresh.threadsUnavailable !== undefined) {
      res.warnings.push(`no writer thread could start (${fresh.threadsUnavailable}): the main thread wrote every file`);
    }
  } catch (err) {
    // Nothing may still be writing when the caller undoes the restore.
    await pool.drain().catch(() => undefined);
    await fresh.close();
    if (!(err instanceof FileWriteError)) throw err;
    const e = (err.tag as Placed).e;
    throw targetFailure(tree, splitRel(e.path).dir, e, err.cause);
  } finally {
    await fresh.close();
  }
}

/**
 * A small file made in place in a directory this restore created (`dir`) from its checked bytes,
 * with its metadata on the creating handle (ContainedTree.createFile). False when something is
 * there after all: the caller's general path deals with it, with the same bytes.
 */
function createSmallFileSync(tree: ContainedTree, e: Entry, dir: string, name: string, data: Buffer): boolean {
  const meta = metaChanges(e, undefined);
  return targetWrite(tree, dir, e, () => tree.inDir(dir, (fd) => tree.createFile(fd, dir, name, data, meta)));
}

/** A small file's object, read and checked (a mismatch is named as the file it was to become). */
function readSmallChecked(opts: TreeRestoreOptions, e: Entry): Buffer {
  try {
    return opts.repo.readSmallObjectSync(e.sha256 as string);
  } catch (err) {
    throw namedFile(err, opts.component ?? opts.root, e.path, e.sha256 as string);
  }
}

/**
 * A write into the target, its failure named as the file the admin knows (the write goes through
 * /proc/self/fd/N/…): a full disk as the disk restored to, with figures; any other refusal of the
 * filesystem as that file, with what to check.
 */
function targetWrite<T>(tree: ContainedTree, dir: string, e: Entry, write: () => T): T {
  try {
    return write();
  } catch (err) {
    throw targetFailure(tree, dir, e, err);
  }
}

/** A failed write of file `e` (in directory `dir`) as targetWrite names it, whichever thread wrote. */
function targetFailure(tree: ContainedTree, dir: string, e: Entry, err: unknown): unknown {
  const file = tree.abs(e.path);
  if (isDiskFull(err)) {
    return diskFullError(err, tree.abs(dir), file, undefined, `the disk restored to (${tree.abs(dir)})`);
  }
  const code = (err as NodeJS.ErrnoException).code;
  if (err instanceof BridgeError || typeof code !== 'string') return err;
  return new BridgeError('STORAGE_FAILED', `cannot write ${file}: ${code}`, {
    cause: err,
    hint: TARGET_HINT,
  });
}

/**
 * Makes the listed directory `rel` a real directory inside its checked parent: a link (or file)
 * where the snapshot has a directory is removed itself, never followed.
 */
function ensureDir(tree: ContainedTree, rel: string): void {
  if (!rel) return; // the root: made when the tree was opened
  const { dir, name } = splitRel(rel);
  tree.makeDirs(dir);
  tree.inDir(dir, (fd) => {
    // In a directory this restore made, nothing can be in the way: no look first.
    if (tree.isFresh(dir) && tree.makeFreshDir(fd, dir, name)) return;
    const p = tree.child(fd, dir, name);
    const st = tree.lstat(p);
    if (st?.isDirectory()) return;
    if (st) {
      tree.forget(rel);
      try {
        unlinkSync(p); // not rmSync: see ContainedTree.removeChild
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    // Something there after all (made meanwhile) is looked at on its first use (makeDirs).
    tree.makeFreshDir(fd, dir, name);
  });
}

/**
 * Symlinks last: no directory or file of this restore is written once a link exists. Directory
 * metadata in the same pass, each directory once everything under it is done (creating a link
 * changes its directory's mtime; a directory made unreadable must not block what is inside it).
 * A directory whose bit is set in `metaDone` (by its place in the list) was completed by a writer
 * thread, its metadata included (fresh_dir_writes.ts).
 */
async function writeLinksAndDirMeta(
  opts: TreeRestoreOptions,
  res: TreeRestoreResult,
  tree: ContainedTree,
  pacer: WalkPacer,
  metaDone: Uint8Array,
): Promise<void> {
  const open = new AncestorStack<Entry>();
  let root: Entry | undefined;
  const breather = new Breather();
  const dirMeta = async (d: Entry): Promise<void> => {
    applyDirMeta(tree, d);
    pacer.done(1);
    await breather.maybe();
  };
  let ordinal = -1;
  for await (const e of opts.entries) {
    throwIfAborted(opts.signal);
    ordinal++;
    for (let d = open.popPassed(e.path); d; d = open.popPassed(e.path)) await dirMeta(d);
    if (e.type === 'dir') {
      if ((metaDone[ordinal >>> 3] as number) & (1 << (ordinal & 7))) continue;
      if (e.path) open.push(e);
      else root = e;
      continue;
    }
    if (e.type !== 'symlink') continue;
    const { dir, name } = splitRel(e.path);
    tree.makeDirs(dir);
    tree.inDir(dir, (fd) => {
      const target = tree.child(fd, dir, name);
      const cur = tree.lstat(target);
      if (cur?.isSymbolicLink() && readlinkSync(target) === e.target) {
        res.unchanged++;
      } else {
        if (cur) tree.removeChild(dir, name);
        symlinkSync(e.target as string, target);
        res.written++;
      }
      tree.applyMeta(target, 'symlink', metaChanges(e, tree.lstat(target)));
    });
  }
  for (let d = open.pop(); d; d = open.pop()) await dirMeta(d);
  if (root) applyDirMeta(tree, root);
}

/** A directory's owner, mode and time, set on its own checked handle. */
function applyDirMeta(tree: ContainedTree, d: Entry): void {
  tree.applyDirMeta(d.path, (st) => metaChanges(d, st));
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
  tree: ContainedTree,
  entries: EntryList,
  excluded: Set<string>,
  signal?: AbortSignal,
): Promise<number> {
  const want = new EntryCursor(entries);
  try {
    return await removeUnder(tree, '', want, excluded, signal);
  } finally {
    await want.close();
  }
}

async function removeUnder(
  tree: ContainedTree,
  rel: string,
  want: EntryCursor,
  excluded: Set<string>,
  signal?: AbortSignal,
): Promise<number> {
  let removed = 0;
  const root = tree.root;
  const children = await readdir(tree.abs(rel), { withFileTypes: true }).catch(() => [] as Dirent[]);
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
      if (descend.has(name)) removed += await removeUnder(tree, rel ? `${rel}/${name}` : name, want, excluded, signal);
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
      // Through the checked handle of `rel`: a directory swapped for a link since the listing is refused.
      tree.removeChild(rel, visit);
      removed++;
    }
  }
  return removed;
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

/** What applyMeta changes for `e` when `cur` is on disk (undefined: a new file, everything). */
function metaChanges(e: Entry, cur: BigIntStats | undefined): MetaChange {
  // Seconds as a double carry ~0.25 µs of error at today's epoch and libuv truncates to ns:
  // aiming at the middle of the microsecond makes the restored time land in the right one.
  const sameTime = cur !== undefined && cur.mtimeNs / 1000n === BigInt(e.mtime) / 1000n;
  return {
    uid: e.uid,
    gid: e.gid,
    mode: e.mode,
    chown: canChown && (!cur || Number(cur.uid) !== e.uid || Number(cur.gid) !== e.gid),
    // The order of the calls matters: chown clears set-user-ID bits, so the mode comes after it.
    chmod: e.type !== 'symlink' && (!cur || (Number(cur.mode) & 0o7777) !== e.mode),
    time: sameTime ? undefined : (Number(BigInt(e.mtime) / 1000n) + 0.5) / 1e6,
  };
}
