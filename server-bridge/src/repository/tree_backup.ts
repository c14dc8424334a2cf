/**
 * Walks a directory tree and stores it: each file's content goes into the repository by SHA-256;
 * a file whose size, mtime and inode match the previous snapshot is not read again, so the cost
 * of a backup grows with what changed, not with the size of the tree. With `scan` nothing is
 * read: changed files come back without a hash, for a free-space check or a pre-copy.
 *
 * Memory stays flat whatever the number of files: the walk goes in byPath order (ordered_walk.ts),
 * the parent's index is read alongside as a stream (a merge join), and the new index is written
 * to a spool file as the walk goes, through a bounded window that keeps files being hashed in
 * their place (ordered_output.ts).
 */
import { lstatSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import path from 'node:path';
import { BridgeError, throwIfAborted } from '../core/errors';
import type { ReadBudget } from '../core/rate_limit';
import { TaskPool } from '../core/pool';
import { EntryCursor, type EntryList, type EntryStream } from '../manifest/entry_list';
import { EntrySpool } from '../manifest/entry_spool';
import type { Entry } from '../manifest/manifest';
import { spoolDir } from '../manifest/spool_dir';
import { CarriedEntries, countInto, type CarriedSubtree, type SubtreeStats } from './carried_entries';
import { OrderedOutput, type HeldEntry } from './ordered_output';
import { metaOf, type Meta } from './file_meta';
import { orderedWalk } from './ordered_walk';
import { sharedHashPool } from './hash_pool';
import { INLINE_FILE, type Repository, type StoredObject } from './repository';
import { SmallReader } from './small_reader';
import { sourcePath, sourcePaths, type Listed, type SourcePaths } from './source_open';
import { WalkPacer } from './walk_pacer';
import { plural } from '../core/units';

export interface TreeBackupOptions {
  root: string;
  /** Back up only these relative paths (files or dirs); default: the whole root. */
  include?: string[];
  /** Relative paths left out (other components' directories, user exclusions). */
  exclude: string[];
  /**
   * The parent's index, in byPath order (a loaded manifest's is): read once, alongside the walk.
   * Entries out of order are not found (their files are read again), never mismatched.
   */
  previous?: EntryList;
  /** Where contents go; unused (and may be left out) with `scan`. */
  repo?: Repository;
  signal?: AbortSignal;
  /** Files that vanish mid-walk are tolerated (online mode); otherwise they fail the backup. */
  tolerateVanished?: boolean;
  /** Walk and compare only: changed files are listed without a hash and nothing is stored. */
  scan?: boolean;
  onProgress?: (p: { files: number; bytes: number; currentPath: string }) => void;
  /** Files read and stored at once. */
  concurrency?: number;
  /** How metadata is read; adaptive by default (tests pin a mode). */
  pacer?: WalkPacer;
  /** An online backup's read budget: each changed file's bytes are paid for before it is read. */
  reads?: ReadBudget;
  /**
   * Subtrees taken whole from `previous` instead of being walked (settled day directories of the
   * file store: settled_days.ts), by directory path, each with the number of entries it held when
   * it was recorded. The directory's own entry is made from the disk as usual; only what is under
   * it is carried, and a carry that finds another number of entries fails the backup (never a
   * snapshot with a hole). A carried file without a checksum (a scan's) is looked at afresh.
   */
  carry?: ReadonlyMap<string, number>;
  /** Groups paths into subtrees (a day directory) whose entry counts the result reports, for a later carry. */
  subtreeOf?: (rel: string) => string | undefined;
  /**
   * What each subtree of `previous` holds, counted as it was written (a precopy's or a scan's
   * index). A carried subtree that matches (the entries `carry` says, every file with a checksum)
   * is passed over by the walk, unparsed, and joined in when the result's entries are read
   * (carried_entries.ts): the pass made while Mattermost is stopped does not copy it. One with
   * files without a checksum is walked, not carried.
   */
  previousSubtrees?: ReadonlyMap<string, SubtreeStats>;
  /**
   * Small files read in the walk's synchronous bursts before the second reading thread
   * (small_reader.ts) takes the rest; default SMALL_READER_AFTER, Infinity: never.
   */
  smallReaderAfter?: number;
}

/**
 * A tree of fewer small files than this is read by the main thread alone: starting the thread
 * (about 10 MB and some milliseconds) would cost more than it saves.
 */
export const SMALL_READER_AFTER = 256;

/** Files left out as moved (EMOVED) that get a warning each; the rest are counted in one. */
const MOVED_WARNINGS = 20;

/** Entries waiting in the output window past which the thread's unfilled batch is sent (keepUp). */
const HELD_WAITING = 1024;

export interface TreeBackupResult {
  /** The new index, in byPath order, spooled on local disk. */
  entries: EntryStream;
  files: number;
  bytes: number;
  newBytes: number;
  /** Files whose content was read (not reused from the previous snapshot). */
  filesRead: number;
  /** Bytes of files that differ from the previous snapshot (read, or to be read after a scan). */
  changedBytes: number;
  warnings: string[];
  /** Entries under each subtree `subtreeOf` names (the directory's own entry not counted). */
  subtrees: Map<string, number>;
  /** What each of those subtrees holds, for a later pass that takes it from this index (previousSubtrees). */
  subtreeStats: Map<string, SubtreeStats>;
  /** Entries taken from the parent without being walked (`carry`). */
  carried: number;
  /** Of those, the ones joined in as `entries` is read (`previousSubtrees`). */
  carriedLater: number;
  /** Of filesRead, the files the second reading thread read (small_reader.ts). */
  readByThread: number;
  /** The most entries that waited at once in the output window (held for reads, or behind them). */
  windowPeak: number;
  /** Where the tree was read from (a later pass over `entries` reads from there: precopyEntries). */
  source: SourcePaths;
}

export async function backupTree(opts: TreeBackupOptions): Promise<TreeBackupResult> {
  const repo = opts.repo;
  if (!repo && !opts.scan) throw new Error('backupTree needs a repository unless it only scans');
  const counts = {
    files: 0,
    bytes: 0,
    newBytes: 0,
    filesRead: 0,
    changedBytes: 0,
    carried: 0,
    carriedLater: 0,
    readByThread: 0,
  };
  const later: CarriedSubtree[] = [];
  const stats = new Map<string, SubtreeStats>();
  const subtreeOf = opts.subtreeOf;
  const warnings: string[] = [];
  // EMOVED too: the listed file is not at its path any more (a directory on the way was moved);
  // said in a warning, since it may be the trace of a swap meant to make the backup read elsewhere.
  let moved = 0;
  const vanished = (err: unknown) => {
    if (!gone(err) || !opts.tolerateVanished) return false;
    if ((err as NodeJS.ErrnoException).code === 'EMOVED' && moved++ < MOVED_WARNINGS) {
      warnings.push(`${(err as Error).message}; left out`);
    }
    return true;
  };
  // Walked from real paths: files are checked to be opened exactly where they were listed.
  // A thread that cannot start (the process at its thread limit) is said in a warning, not a failure.
  const hashPool = sharedHashPool();
  const hashFailuresBefore = hashPool.startFailures;
  const roots = rootsOf(opts.include);
  const source = await sourcePaths(opts.root, roots);
  if (source.warning) warnings.push(source.warning);
  const listedAs = (meta: Meta): Listed => ({ dev: meta.dev, ino: meta.ino, exact: source.exact });
  const pool = new TaskPool(opts.concurrency ?? 16);
  const spool = await EntrySpool.create(await spoolDir(), 'walk');
  const out = new OrderedOutput(
    spool,
    undefined,
    subtreeOf
      ? (e) => {
          const key = subtreeOf(e.path);
          if (key !== undefined) countInto(stats, key, e);
        }
      : undefined,
  );
  const parent = new EntryCursor(opts.previous);
  const pacer = opts.pacer ?? new WalkPacer();
  // Small files go in the walk's synchronous bursts where the objects are local files (see
  // Repository.ingestSmallSync); elsewhere, and on a cold cache, in parallel through the pool.
  const syncSmall = !!repo?.ingestsSmallSync && !opts.scan;
  const walk = orderedWalk({
    root: source.root,
    roots,
    rootPaths: source.rootPaths,
    exact: source.exact,
    excluded: new Set(opts.exclude.map(normalize)),
    tolerateVanished: !!opts.tolerateVanished,
    rootsMayBeMissing: !!opts.include,
    pacer,
    signal: opts.signal,
    onWarning: (w) => warnings.push(w),
    skipSubtree: opts.carry ? (rel) => carries(opts.carry as ReadonlyMap<string, number>, rel) : undefined,
  });

  /**
   * Whether the walk passes over `rel` to carry it: listed in `carry`, unless `previousSubtrees`
   * says the parent holds files without a checksum there (a scan's index, before a first backup):
   * the walk reads those in its synchronous bursts, where a carry would look at each one alone
   * (one awaited lstat, then the read): 57-64 s against 51-52 s for the copy pass at 200k files.
   */
  const carries = (carry: ReadonlyMap<string, number>, rel: string): boolean =>
    carry.has(rel) && !((opts.previousSubtrees?.get(rel)?.unhashed ?? 0) > 0);

  /** Reads and stores one changed file; undefined when it vanished meanwhile (tolerated). */
  const ingest = async (
    rel: string,
    abs: string,
    entry: Entry & { size: number },
    listed: Listed | undefined,
  ): Promise<Entry | undefined> => {
    try {
      await opts.reads?.take(entry.size, opts.signal);
      return completed(
        rel,
        entry,
        await (repo as Repository).ingestFile(abs, { signal: opts.signal, size: entry.size, listed }),
      );
    } catch (err) {
      if (!vanished(err)) throw err;
      counts.files--;
      counts.bytes -= entry.size;
      return undefined;
    }
  };

  /** Records what storing a changed file's content gave; its entry is then complete. */
  const completed = (rel: string, entry: Entry & { size: number }, obj: StoredObject): Entry => {
    const now = obj.replaced;
    if (now) {
      // Another file was put at the path since it was listed: what was read is recorded as itself.
      entry.mode = now.mode;
      entry.uid = now.uid;
      entry.gid = now.gid;
      entry.mtime = now.mtime;
      entry.ino = now.ino;
    }
    entry.sha256 = obj.sha256;
    counts.bytes += obj.size - entry.size;
    entry.size = obj.size; // what was actually read, if the file changed under us
    counts.filesRead++;
    if (obj.isNew) counts.newBytes += obj.size;
    opts.onProgress?.({ files: counts.filesRead, bytes: counts.bytes, currentPath: rel });
    return entry;
  };

  /**
   * ingest with synchronous calls, for a small file met in a synchronous burst: the entry (or
   * undefined when the file vanished, tolerated), or 'async' when it must go through ingest
   * (it grew past the small-file limit, or the read budget would make it wait).
   */
  const ingestSync = (
    rel: string,
    abs: string,
    entry: Entry & { size: number },
    listed: Listed | undefined,
  ): Entry | undefined | 'async' => {
    throwIfAborted(opts.signal);
    if (opts.reads && !opts.reads.tryTake(entry.size)) return 'async';
    let obj;
    try {
      obj = (repo as Repository).ingestSmallSync(abs, listed);
    } catch (err) {
      if (!vanished(err)) throw err;
      counts.files--;
      counts.bytes -= entry.size;
      return undefined;
    }
    if (!obj) return 'async';
    pacer.done(1);
    return completed(rel, entry, obj);
  };

  /**
   * The second reading thread, started once the walk has met SMALL_READER_AFTER small files in
   * its synchronous bursts (not under a read budget, which is paid file by file before a read).
   * A file it read is stored and its held entry settled as the walk polls; one it missed takes
   * the main thread's path, as if there were no thread.
   */
  let reader: SmallReader<HeldEntry> | undefined;
  /** Why the thread could not start (the process at its thread limit): the main thread reads its files. */
  let readerFailed: string | undefined;
  let smallSeen = 0;
  const readerAfter = opts.smallReaderAfter ?? SMALL_READER_AFTER;
  const smallReader = (): SmallReader<HeldEntry> | undefined => {
    if (reader || readerFailed !== undefined || opts.reads || !(repo as Repository).storesWholeSync) return reader;
    if (++smallSeen <= readerAfter) return undefined;
    try {
      reader = startReader();
    } catch (err) {
      readerFailed = (err as Error).message;
    }
    return reader;
  };
  const startReader = (): SmallReader<HeldEntry> =>
    new SmallReader<HeldEntry>({
      limit: INLINE_FILE,
      signal: opts.signal,
      onRead: (held, sha256, bytes) => {
        const entry = held.entry as Entry & { size: number };
        // Not now (a pack store failed): onMissed's path stores it, or throws that failure.
        const obj = (repo as Repository).storeWholeSync(sha256, bytes);
        if (!obj) return false;
        pacer.done(1);
        counts.readByThread++;
        out.settle(held, completed(entry.path, entry, obj));
        return true;
      },
      onMissed: async (held, abs, listed) => {
        const entry = held.entry as Entry & { size: number };
        const done = ingestSync(entry.path, abs, entry, listed);
        if (done !== 'async') {
          out.settle(held, done);
          return;
        }
        await pool.add(() => {
          const work = ingest(entry.path, abs, entry, listed);
          out.settleWith(held, work);
          return work.then(() => undefined);
        });
      },
    });
  const nextRead = (): Promise<void> => (reader as SmallReader<HeldEntry>).next();

  /**
   * Keeps the thread's files moving, before each path: takes up its finished batches, and sends
   * the batch being filled, full or not, once HELD_WAITING entries wait in the window (unchanged
   * files and directories queue behind its files), instead of letting the window fill. Past twice
   * that, the walk waits for the thread's oldest batch: between a batch sent and the thread
   * waking to it, a walk of unchanged files adds thousands of entries (measured: 3,952 waiting
   * at the peak in a test of 20,000 files, one in a thousand changed).
   */
  const keepUp = (): Promise<void> | undefined => {
    const r = reader;
    if (!r) return undefined;
    if (out.waiting > HELD_WAITING) {
      if (r.filling) return (r.flush() as Promise<void>).then(() => r.poll());
      if (out.waiting > 2 * HELD_WAITING && r.outstanding) return r.next();
    }
    return r.poll();
  };

  /** A file found by the walk (or carried without a checksum), against the parent's entry for its path. */
  const file = async (rel: string, abs: string, meta: Meta, prev: Entry | undefined): Promise<void> => {
    counts.files++;
    const same = sameAs(prev, 'file', meta);
    if (same?.sha256) {
      // Unchanged since the parent: its entry is written as is.
      counts.bytes += same.size ?? 0;
      await out.add(same, rel);
      return;
    }
    const entry = { ...newEntry(rel, 'file', meta), size: meta.size, ino: meta.ino };
    counts.bytes += entry.size;
    if (
      prev?.type === 'file' &&
      prev.sha256 &&
      prev.size === entry.size &&
      prev.mtime === entry.mtime &&
      prev.ino === entry.ino &&
      prev.uid === entry.uid &&
      prev.gid === entry.gid
    ) {
      // Only its mode changed: the content is the parent's. Never when the owner changed: a
      // deleted file's inode number comes back, and anyone may give their own file any mtime and
      // size, so another account's file could take over the content of one it could not read.
      entry.sha256 = prev.sha256;
      await out.add(entry, rel);
      return;
    }
    counts.changedBytes += entry.size;
    if (!repo) {
      await out.add(entry, rel);
      return;
    }
    const listed = listedAs(meta);
    if (syncSmall && pacer.sync && entry.size <= INLINE_FILE) {
      const r = smallReader();
      if (r) {
        throwIfAborted(opts.signal);
        const sending = r.add(abs, entry.size, out.hold(entry, rel, nextRead), listed);
        if (sending) await sending;
        await out.pace();
        return;
      }
      const done = ingestSync(rel, abs, entry, listed);
      if (done !== 'async') {
        if (done) await out.add(done, rel);
        return;
      }
    }
    // The walk went asynchronous (a cold cache): what the thread was given goes out, not waits.
    const flushed = pacer.sync ? undefined : reader?.flush();
    if (flushed) await flushed;
    let stored!: Promise<Entry | undefined>;
    await pool.add(() => {
      stored = ingest(rel, abs, entry, listed);
      return stored.then(() => undefined);
    });
    await out.add(stored, rel);
  };

  /** The parent's entries under `rel`, written as they are: the subtree was not walked. */
  const carry = async (rel: string, abs: string): Promise<void> => {
    const expected = opts.carry?.get(rel);
    let n = 0;
    let odd = false;
    for await (const e of parent.under(`${rel}/`)) {
      n++;
      const kept = keepUp();
      if (kept) await kept;
      if (e.type === 'file' && !e.sha256 && !opts.scan) {
        // A scan's entry (changed, not read yet): this pass reads it like any changed file.
        const p = path.join(abs, e.path.slice(rel.length + 1));
        const st = await lstat(p, { bigint: true }).catch((err: unknown) => {
          if (vanished(err)) return undefined;
          throw err;
        });
        if (!st) continue;
        const meta = metaOf(st);
        if (meta.kind === 'file') await file(e.path, p, meta, undefined);
        else odd = true; // no longer a file: only a walk could record it rightly
        continue;
      }
      counts.carried++;
      if (e.type === 'file') {
        counts.files++;
        counts.bytes += e.size ?? 0;
      }
      await out.add(e, e.path);
    }
    if (n !== expected || odd) {
      throw new BridgeError(
        'INTERNAL',
        odd
          ? `${rel} changed under a subtree taken from the parent snapshot: the walk stops rather than record it wrongly`
          : `the parent snapshot holds ${plural(n, 'entry', 'entries')} under ${rel}, its walk state says ${String(expected)}: the walk stops rather than leave a hole`,
        { hint: 'run the backup again with --full-walk', details: { carryMismatch: rel } },
      );
    }
  };

  /** Passes over a subtree that `previousSubtrees` vouches for; false when it does not. */
  const carryLater = async (rel: string): Promise<boolean> => {
    const st = opts.previousSubtrees?.get(rel);
    if (!st || st.unhashed > 0 || st.entries !== opts.carry?.get(rel)) return false;
    if (!(await parent.skipUnder(`${rel}/`, st.entries))) {
      // Passed over in part: the cursor cannot go back, so this pass fails and is made again walking everything.
      throw new BridgeError(
        'INTERNAL',
        `the index taken from before the stop does not hold the ${plural(st.entries, 'entry', 'entries')} counted under ${rel}: the walk stops rather than leave a hole`,
        { hint: 'run the backup again with --full-walk', details: { carryMismatch: rel } },
      );
    }
    later.push({ rel, entries: st.entries });
    counts.carried += st.entries;
    counts.carriedLater += st.entries;
    counts.files += st.files;
    counts.bytes += st.bytes;
    const key = subtreeOf?.(`${rel}/`);
    if (key !== undefined) {
      const into = stats.get(key) ?? { entries: 0, files: 0, bytes: 0, unhashed: 0 };
      stats.set(key, {
        ...into,
        entries: into.entries + st.entries,
        files: into.files + st.files,
        bytes: into.bytes + st.bytes,
      });
    }
    return true;
  };

  try {
    for await (const { rel, abs, meta, listed, skipped, target } of walk) {
      const kept = keepUp();
      if (kept) await kept;
      if (skipped) {
        if (!(await carryLater(rel))) await carry(rel, abs);
        continue;
      }
      const prev = await parent.seek(rel);
      if (meta.kind === 'dir') {
        const entry = sameAs(prev, 'dir', meta) ?? newEntry(rel, 'dir', meta);
        await out.add(listed ? listed.then((ok) => (ok ? entry : undefined)) : entry, rel);
      } else if (meta.kind === 'symlink') {
        // Read by the walk, where the link was listed (through its directory's handle).
        await out.add({ ...newEntry(rel, 'symlink', meta), target }, rel);
      } else if (meta.kind === 'file') {
        await file(rel, abs, meta, prev);
      } else {
        warnings.push(`${abs} is a socket, FIFO or device and was skipped`);
      }
    }
    await reader?.drain();
    await out.finish();
    await pool.drain();
    if (reader?.lost) warnings.push(`the second reading thread ${reader.lost}; the main thread read its files`);
    if (readerFailed !== undefined) {
      warnings.push(`the second reading thread could not start (${readerFailed}); the main thread read its files`);
    }
    if (hashPool.startFailures > hashFailuresBefore) {
      warnings.push(
        `${plural(hashPool.startFailures - hashFailuresBefore, 'hash thread', 'hash threads')} could not start (${hashPool.lastStartFailure ?? ''}): files were read with the threads there were, or on the main thread`,
      );
    }
    if (moved > MOVED_WARNINGS) {
      warnings.push(`${plural(moved - MOVED_WARNINGS, 'more file was', 'more files were')} left out as above (EMOVED)`);
    }
    const walked = await spool.endSection();
    await spool.close();
    const entries = later.length ? new CarriedEntries(walked, opts.previous as EntryList, later) : walked;
    const subtrees = new Map([...stats].map(([k, st]) => [k, st.entries]));
    return { entries, ...counts, warnings, subtrees, subtreeStats: stats, windowPeak: out.peak, source };
  } catch (err) {
    // Reads in flight end (or fail on the signal) before the index they were for is removed.
    await pool.drain().catch(() => undefined);
    await spool.discard();
    throw err;
  } finally {
    await reader?.close();
    await parent.close();
  }
}

/**
 * Stores the changed files a scan listed (file entries without a hash) and returns the scan's
 * index again with each of them given the hash of what was read, unless the file no longer has
 * the scanned size, mtime and inode afterwards: then it keeps no hash and the next pass reads it
 * again. Vanished files are left to that pass. The scan's own index is not changed.
 */
export async function precopyEntries(
  scanned: TreeBackupResult,
  repo: Repository,
  signal?: AbortSignal,
  onBytes?: (bytes: number) => void,
  pacer: WalkPacer = repo.ingestsSmallSync ? new WalkPacer() : new WalkPacer({ fixed: 'async' }),
  subtreeOf?: (rel: string) => string | undefined,
): Promise<{
  newBytes: number;
  filesRead: number;
  bytesRead: number;
  entries: EntryStream;
  /** What each subtree (`subtreeOf`) of `entries` holds, for a pass that carries it (previousSubtrees). */
  subtrees: Map<string, SubtreeStats>;
}> {
  const pool = new TaskPool(16);
  const res = { newBytes: 0, filesRead: 0, bytesRead: 0 };
  const spool = await EntrySpool.create(await spoolDir(), 'precopy');
  const subtrees = new Map<string, SubtreeStats>();
  const count = (e: Entry) => {
    const key = subtreeOf?.(e.path);
    if (key !== undefined) countInto(subtrees, key, e);
  };
  const out = new OrderedOutput(spool, undefined, subtreeOf ? count : undefined);
  // Read where the scan listed it, each file checked to be the one scanned (or recorded unhashed).
  const source = scanned.source;
  const listedAs = (e: Entry): Listed | undefined =>
    e.ino === undefined ? undefined : { ino: e.ino, exact: source.exact };
  /** copy with synchronous calls, for a small file while the pacer finds that faster; undefined: use copy. */
  const copySync = (e: Entry): Entry | undefined => {
    const abs = sourcePath(source, e.path);
    let stored;
    try {
      stored = repo.ingestSmallSync(abs, listedAs(e));
    } catch (err) {
      if (gone(err)) return e;
      throw err;
    }
    if (!stored) return undefined; // grew past the small-file limit: staged by copy
    res.filesRead++;
    if (stored.isNew) res.newBytes += stored.size;
    res.bytesRead += stored.size;
    onBytes?.(res.bytesRead);
    let after;
    try {
      after = lstatSync(abs, { bigint: true });
    } catch {
      after = undefined;
    }
    pacer.done(2);
    if (after && !stored.replaced && stored.size === e.size && sameAs(e, 'file', metaOf(after)) === e) {
      return { ...e, sha256: stored.sha256 };
    }
    return e;
  };
  let lastYield = Date.now();
  const copy = async (e: Entry): Promise<Entry> => {
    const abs = sourcePath(source, e.path);
    let stored;
    try {
      stored = await repo.ingestFile(abs, { signal, size: e.size, listed: listedAs(e) });
    } catch (err) {
      if (gone(err)) return e;
      throw err;
    }
    res.filesRead++;
    if (stored.isNew) res.newBytes += stored.size;
    res.bytesRead += stored.size;
    onBytes?.(res.bytesRead);
    const after = await lstat(abs, { bigint: true }).catch(() => undefined);
    if (after && !stored.replaced && stored.size === e.size && sameAs(e, 'file', metaOf(after)) === e) {
      return { ...e, sha256: stored.sha256 };
    }
    return e;
  };
  try {
    for await (const e of scanned.entries) {
      if (e.type !== 'file' || e.sha256) {
        await out.add(e, e.path);
        continue;
      }
      throwIfAborted(signal);
      if (repo.ingestsSmallSync && pacer.sync && (e.size ?? INLINE_FILE + 1) <= INLINE_FILE) {
        const copied = copySync(e);
        if (copied) {
          await out.add(copied, e.path);
          // Synchronous bursts leave room for progress, requests and the signal.
          if (Date.now() - lastYield > 20) {
            await yieldToLoop();
            lastYield = Date.now();
          }
          continue;
        }
      }
      let done!: Promise<Entry>;
      await pool.add(() => {
        done = copy(e).finally(() => pacer.done(2));
        return done.then(() => undefined);
      });
      await out.add(done, e.path);
    }
    await out.finish();
    await pool.drain();
    const entries = await spool.endSection();
    await spool.close();
    return { ...res, entries, subtrees };
  } catch (err) {
    await pool.drain().catch(() => undefined);
    await spool.discard();
    throw err;
  }
}

/** Whether a read failed because the listed file is no longer at its path (vanished or moved away). */
function gone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'EMOVED';
}

/** The roots to walk: the whole tree, or the include list without duplicates or paths inside another. */
function rootsOf(include: string[] | undefined): string[] {
  if (!include) return [''];
  const all = [...new Set(include.map(normalize))];
  if (all.includes('')) return [''];
  return all.filter((r) => !all.some((o) => r.startsWith(`${o}/`)));
}

/**
 * Every entry gets all fields in one order, so V8 gives the entries waiting in the output window
 * one hidden class (spreading a shared base gave each its own).
 */
function newEntry(rel: string, type: Entry['type'], meta: Meta): Entry {
  return {
    path: rel,
    type,
    mode: meta.mode,
    uid: meta.uid,
    gid: meta.gid,
    mtime: meta.mtime,
    size: undefined,
    sha256: undefined,
    target: undefined,
    ino: undefined,
  };
}

/** The parent's entry when nothing recorded about the path changed (content is judged by size, mtime and inode). */
function sameAs(prev: Entry | undefined, type: Entry['type'], meta: Meta): Entry | undefined {
  if (!prev || prev.type !== type || prev.mode !== meta.mode || prev.uid !== meta.uid || prev.gid !== meta.gid) {
    return undefined;
  }
  if (prev.mtime !== meta.mtime) return undefined;
  if (type === 'file' && (prev.size !== meta.size || prev.ino !== meta.ino)) return undefined;
  return prev;
}

function normalize(rel: string): string {
  return rel
    .split(path.sep)
    .filter((p) => p && p !== '.')
    .join('/');
}
