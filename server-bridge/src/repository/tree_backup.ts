/**
 * Walks a directory tree and stores it: each file's content goes into the repository by SHA-256;
 * a file whose size, mtime and inode match the previous snapshot is not read again, so the cost
 * of a backup grows with what changed, not with the size of the tree. With `scan` nothing is
 * read: changed files come back without a hash, for a free-space check or a pre-copy.
 */
import type { BigIntStats } from 'node:fs';
import { lstatSync, readdirSync } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { throwIfAborted } from '../core/errors';
import { mapLimit, Semaphore, TaskPool } from '../core/pool';
import { byPath, type Entry } from '../manifest/manifest';
import type { Repository } from './repository';
import { WalkPacer } from './walk_pacer';

export interface TreeBackupOptions {
  root: string;
  /** Back up only these relative paths (files or dirs); default: the whole root. */
  include?: string[];
  /** Relative paths left out (other components' directories, user exclusions). */
  exclude: string[];
  previous?: Map<string, Entry>;
  /** Where contents go; unused (and may be left out) with `scan`. */
  repo?: Repository;
  signal?: AbortSignal;
  /** Files that vanish mid-walk are tolerated (online mode); otherwise they fail the backup. */
  tolerateVanished?: boolean;
  /** Walk and compare only: changed files are listed without a hash and nothing is stored. */
  scan?: boolean;
  onProgress?: (p: { files: number; bytes: number; currentPath: string }) => void;
  concurrency?: number;
  /** How metadata is read; adaptive by default (tests pin a mode). */
  pacer?: WalkPacer;
}

export interface TreeBackupResult {
  entries: Entry[];
  files: number;
  bytes: number;
  newBytes: number;
  /** Files whose content was read (not reused from the previous snapshot). */
  filesRead: number;
  /** Bytes of files that differ from the previous snapshot (read, or to be read after a scan). */
  changedBytes: number;
  warnings: string[];
}

export async function backupTree(opts: TreeBackupOptions): Promise<TreeBackupResult> {
  const result: TreeBackupResult = {
    entries: [],
    files: 0,
    bytes: 0,
    newBytes: 0,
    filesRead: 0,
    changedBytes: 0,
    warnings: [],
  };
  const excluded = new Set(opts.exclude.map(normalize));
  const pool = new TaskPool(opts.concurrency ?? 16);
  const meta = new Semaphore(32);
  const repo = opts.repo;
  if (!repo && !opts.scan) throw new Error('backupTree needs a repository unless it only scans');
  const vanished = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT' && opts.tolerateVanished;

  // Synchronous calls run in short bursts between event-loop turns (see WalkPacer for when).
  const pacer = opts.pacer ?? new WalkPacer();
  let lastYield = Date.now();

  const handle = async (rel: string, abs: string, st: BigIntStats, dirs: Array<[string, string]>): Promise<void> => {
    const prev = opts.previous?.get(rel);
    if (st.isDirectory()) {
      result.entries.push(sameAs(prev, 'dir', st) ?? newEntry(rel, 'dir', st));
      dirs.push([rel, abs]);
    } else if (st.isSymbolicLink()) {
      const link = newEntry(rel, 'symlink', st);
      try {
        link.target = await readlink(abs);
      } catch (err) {
        if (vanished(err)) return;
        throw err;
      }
      result.entries.push(link);
    } else if (st.isFile()) {
      result.files++;
      const same = sameAs(prev, 'file', st);
      if (same?.sha256) {
        // Unchanged since the parent: its entry is reused as is (no new strings per file).
        result.entries.push(same);
        result.bytes += same.size ?? 0;
        return;
      }
      const entry = newEntry(rel, 'file', st);
      entry.size = Number(st.size);
      entry.ino = Number(st.ino);
      result.entries.push(entry);
      result.bytes += entry.size;
      if (
        prev?.type === 'file' &&
        prev.sha256 &&
        prev.size === entry.size &&
        prev.mtime === entry.mtime &&
        prev.ino === entry.ino
      ) {
        entry.sha256 = prev.sha256; // only its mode or owner changed: the content is the parent's
        return;
      }
      result.changedBytes += entry.size;
      if (!repo) return;
      await pool.add(async () => {
        try {
          const stored = await repo.ingestFile(abs, { signal: opts.signal, size: entry.size });
          entry.sha256 = stored.sha256;
          result.bytes += stored.size - (entry.size ?? 0);
          entry.size = stored.size; // what was actually read, if the file changed under us
          result.filesRead++;
          if (stored.isNew) result.newBytes += stored.size;
          opts.onProgress?.({ files: result.filesRead, bytes: result.bytes, currentPath: rel });
        } catch (err) {
          if (!vanished(err)) throw err;
          result.entries.splice(result.entries.indexOf(entry), 1);
          result.files--;
          result.bytes -= entry.size ?? 0;
        }
      });
    } else {
      result.warnings.push(`${abs} is a socket, FIFO or device and was skipped`);
    }
  };

  /** Lists one directory and handles its children; returns the subdirectories to walk next. */
  const walkDir = async (rel: string, abs: string): Promise<Array<[string, string]>> => {
    const dirs: Array<[string, string]> = [];
    const useSync = pacer.sync;
    let names: string[];
    try {
      names = useSync ? readdirSync(abs) : await meta.run(() => readdir(abs));
    } catch (err) {
      if (!vanished(err)) throw err;
      // Online mode: a directory removed between lstat and readdir is simply gone.
      const i = result.entries.findIndex((e) => e.path === rel);
      if (i >= 0) result.entries.splice(i, 1);
      return dirs;
    }
    const kids = names.map((n) => [rel ? `${rel}/${n}` : n, `${abs}/${n}`] as const).filter(([r]) => !excluded.has(r));
    if (useSync) {
      const stats: Array<BigIntStats | undefined> = kids.map(([, a]) => {
        try {
          return lstatSync(a, { bigint: true });
        } catch (err) {
          if (vanished(err)) return undefined;
          throw err;
        }
      });
      for (let i = 0; i < kids.length; i++) {
        const st = stats[i];
        const [r, a] = kids[i] as readonly [string, string];
        if (st) await handle(r, a, st, dirs);
      }
    } else {
      await mapLimit(kids, 32, async ([r, a]) => {
        let st: BigIntStats;
        try {
          st = await meta.run(() => lstat(a, { bigint: true }));
        } catch (err) {
          if (vanished(err)) return;
          throw err;
        }
        await handle(r, a, st, dirs);
      });
    }
    pacer.done(kids.length + 1);
    if (Date.now() - lastYield > 20) {
      lastYield = Date.now();
      await yieldToLoop(); // let reads, progress and HTTP requests run between bursts
    }
    return dirs;
  };

  const pending: Array<[string, string]> = [];
  const roots = opts.include ? [...opts.include].map(normalize).sort() : [''];
  for (const rel of roots) {
    if (excluded.has(rel)) continue;
    const abs = rel ? path.join(opts.root, rel) : opts.root;
    let st: BigIntStats;
    try {
      st = await lstat(abs, { bigint: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && (opts.tolerateVanished || opts.include)) {
        if (!opts.tolerateVanished) result.warnings.push(`${abs} does not exist`);
        continue;
      }
      throw err;
    }
    await handle(rel, abs, st, pending);
  }
  await walkAll(pending, 16, opts.signal, walkDir);
  await pool.drain();
  result.entries.sort(byPath);
  return result;
}

/**
 * Stores the changed files a scan listed (file entries without a hash) and gives each the hash
 * of what was read, unless the file no longer has the scanned size, mtime and inode afterwards:
 * then it keeps no hash and the next pass reads it again. Vanished files are left to that pass.
 */
export async function precopyEntries(
  scanned: TreeBackupResult,
  root: string,
  repo: Repository,
  signal?: AbortSignal,
  onBytes?: (bytes: number) => void,
): Promise<{ newBytes: number; filesRead: number; bytesRead: number }> {
  const pool = new TaskPool(16);
  const out = { newBytes: 0, filesRead: 0, bytesRead: 0 };
  for (const e of scanned.entries) {
    if (e.type !== 'file' || e.sha256) continue;
    throwIfAborted(signal);
    await pool.add(async () => {
      const abs = e.path ? path.join(root, e.path) : root;
      let stored;
      try {
        stored = await repo.ingestFile(abs, { signal, size: e.size });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      out.filesRead++;
      if (stored.isNew) out.newBytes += stored.size;
      out.bytesRead += stored.size;
      onBytes?.(out.bytesRead);
      const after = await lstat(abs, { bigint: true }).catch(() => undefined);
      if (after && stored.size === e.size && sameAs(e, 'file', after) === e) e.sha256 = stored.sha256;
    });
  }
  await pool.drain();
  return out;
}

/**
 * Walks directories with `width` walkers sharing one stack, so a tree of many small directories
 * (Mattermost's one directory per attachment) still has parallel calls in flight.
 */
async function walkAll(
  stack: Array<[string, string]>,
  width: number,
  signal: AbortSignal | undefined,
  walkDir: (rel: string, abs: string) => Promise<Array<[string, string]>>,
): Promise<void> {
  let busy = 0;
  let failure: Error | undefined;
  const wake: Array<() => void> = [];
  const wakeAll = () => {
    for (const fn of wake.splice(0)) fn();
  };
  const walker = async (): Promise<void> => {
    for (;;) {
      if (failure) return;
      const next = stack.pop();
      if (!next) {
        if (busy === 0) {
          wakeAll();
          return;
        }
        await new Promise<void>((r) => wake.push(r));
        continue;
      }
      busy++;
      try {
        throwIfAborted(signal);
        const dirs = await walkDir(next[0], next[1]);
        for (let i = dirs.length - 1; i >= 0; i--) stack.push(dirs[i] as [string, string]);
      } catch (err) {
        failure ??= err instanceof Error ? err : new Error(String(err));
      } finally {
        busy--;
        wakeAll();
      }
    }
  };
  await Promise.all(Array.from({ length: width }, walker));
  if (failure) throw failure;
}

/**
 * Every entry gets all fields in one order, so V8 gives the 100k+ entries of a file store one
 * hidden class; spreading a shared base gave each its own and cost ~250 bytes per entry.
 */
function newEntry(rel: string, type: Entry['type'], st: BigIntStats): Entry {
  return {
    path: rel,
    type,
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    mtime: st.mtimeNs.toString(),
    size: undefined,
    sha256: undefined,
    target: undefined,
    ino: undefined,
  };
}

/** The parent's entry when nothing recorded about the path changed (content is judged by size, mtime and inode). */
function sameAs(prev: Entry | undefined, type: Entry['type'], st: BigIntStats): Entry | undefined {
  if (
    !prev ||
    prev.type !== type ||
    prev.mode !== Number(st.mode & 0o7777n) ||
    prev.uid !== Number(st.uid) ||
    prev.gid !== Number(st.gid)
  ) {
    return undefined;
  }
  if (prev.mtime !== st.mtimeNs.toString()) return undefined;
  if (type === 'file' && (prev.size !== Number(st.size) || prev.ino !== Number(st.ino))) return undefined;
  return prev;
}

function normalize(rel: string): string {
  return rel
    .split(path.sep)
    .filter((p) => p && p !== '.')
    .join('/');
}
