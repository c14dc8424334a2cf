/**
 * Walks a directory tree and stores it: each file's content goes into the repository by SHA-256;
 * a file whose size, mtime and inode match the previous snapshot is not read again, so the cost
 * of a backup grows with what changed, not with the size of the tree.
 */
import type { BigIntStats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { throwIfAborted } from '../core/errors';
import { mapLimit, Semaphore, TaskPool } from '../core/pool';
import type { Entry } from '../manifest/manifest';
import type { Repository } from './repository';

export interface TreeBackupOptions {
  root: string;
  /** Back up only these relative paths (files or dirs); default: the whole root. */
  include?: string[];
  /** Relative paths left out (other components' directories, user exclusions). */
  exclude: string[];
  previous?: Map<string, Entry>;
  repo: Repository;
  signal?: AbortSignal;
  /** Files that vanish mid-walk are tolerated (online mode); otherwise they fail the backup. */
  tolerateVanished?: boolean;
  onProgress?: (p: { files: number; bytes: number; currentPath: string }) => void;
  concurrency?: number;
}

export interface TreeBackupResult {
  entries: Entry[];
  files: number;
  bytes: number;
  newBytes: number;
  /** Files whose content was read (not reused from the previous snapshot). */
  filesRead: number;
  warnings: string[];
}

export async function backupTree(opts: TreeBackupOptions): Promise<TreeBackupResult> {
  const result: TreeBackupResult = { entries: [], files: 0, bytes: 0, newBytes: 0, filesRead: 0, warnings: [] };
  const excluded = new Set(opts.exclude.map(normalize));
  const pool = new TaskPool(opts.concurrency ?? 16);
  // Metadata calls run in parallel (a stat at a time is latency-bound on 100k thumbnails);
  // the shared semaphore keeps deep trees from opening thousands at once.
  const meta = new Semaphore(32);

  const visit = async (rel: string): Promise<void> => {
    throwIfAborted(opts.signal);
    if (excluded.has(rel)) return;
    const abs = rel ? path.join(opts.root, rel) : opts.root;
    let st;
    try {
      st = await meta.run(() => lstat(abs, { bigint: true }));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && (opts.tolerateVanished || opts.include)) {
        if (!opts.tolerateVanished) result.warnings.push(`${abs} does not exist`);
        return;
      }
      throw err;
    }
    const prev = opts.previous?.get(rel);
    if (st.isDirectory()) {
      const dirEntry = sameAs(prev, 'dir', st) ?? newEntry(rel, 'dir', st);
      result.entries.push(dirEntry);
      let names: string[];
      try {
        names = await meta.run(() => readdir(abs));
      } catch (err) {
        // Online mode: a directory removed between lstat and readdir is simply gone.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && opts.tolerateVanished) {
          result.entries.splice(result.entries.indexOf(dirEntry), 1);
          return;
        }
        throw err;
      }
      // Bounded fan-out per directory: a flat directory of 50k files never has 50k visits pending.
      await mapLimit(names, 32, (name) => visit(rel ? `${rel}/${name}` : name));
    } else if (st.isSymbolicLink()) {
      const link = newEntry(rel, 'symlink', st);
      link.target = await meta.run(() => readlink(abs));
      result.entries.push(link);
    } else if (st.isFile()) {
      const same = sameAs(prev, 'file', st);
      if (same?.sha256) {
        // Unchanged since the parent: its entry is reused as is (no new strings per file).
        result.entries.push(same);
        result.files++;
        result.bytes += same.size ?? 0;
        return;
      }
      const entry = newEntry(rel, 'file', st);
      entry.size = Number(st.size);
      entry.ino = Number(st.ino);
      result.entries.push(entry);
      result.files++;
      if (prev?.type === 'file' && prev.sha256 && prev.size === entry.size && prev.mtime === entry.mtime && prev.ino === entry.ino) {
        entry.sha256 = prev.sha256; // only its mode or owner changed: the content is the parent's
        result.bytes += entry.size ?? 0;
        return;
      }
      await pool.add(async () => {
        try {
          const stored = await opts.repo.ingestFile(abs, { signal: opts.signal, size: entry.size });
          entry.sha256 = stored.sha256;
          entry.size = stored.size; // what was actually read, if the file changed under us
          result.bytes += stored.size;
          result.filesRead++;
          if (stored.isNew) result.newBytes += stored.size;
          opts.onProgress?.({ files: result.filesRead, bytes: result.bytes, currentPath: rel });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT' && opts.tolerateVanished) {
            result.entries.splice(result.entries.indexOf(entry), 1);
            result.files--;
            return;
          }
          throw err;
        }
      });
    } else {
      result.warnings.push(`${abs} is a socket, FIFO or device and was skipped`);
    }
  };

  if (opts.include) {
    for (const rel of [...opts.include].map(normalize).sort()) await visit(rel);
  } else {
    await visit('');
  }
  await pool.drain();
  result.entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return result;
}

/**
 * Every entry gets all fields in one order, so V8 gives the 100k+ entries of a file store one
 * hidden class; spreading a shared base gave each its own and cost ~250 bytes per entry.
 */
function newEntry(rel: string, type: Entry['type'], st: BigIntStats): Entry {
  return {
    path: rel, type, mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), mtime: st.mtimeNs.toString(),
    size: undefined, sha256: undefined, target: undefined, ino: undefined,
  };
}

/** The parent's entry when nothing recorded about the path changed (content is judged by size, mtime and inode). */
function sameAs(prev: Entry | undefined, type: Entry['type'], st: BigIntStats): Entry | undefined {
  if (!prev || prev.type !== type || prev.mode !== Number(st.mode & 0o7777n) || prev.uid !== Number(st.uid) || prev.gid !== Number(st.gid)) return undefined;
  if (prev.mtime !== st.mtimeNs.toString()) return undefined;
  if (type === 'file' && (prev.size !== Number(st.size) || prev.ino !== Number(st.ino))) return undefined;
  return prev;
}

function normalize(rel: string): string {
  return rel.split(path.sep).filter((p) => p && p !== '.').join('/');
}
