/**
 * Which small files of a restore (and which directories) the writer threads make (file_writers.ts).
 * A directory listed inside a directory this restore made is not made at once: if small files of
 * its own come next (Mattermost's post directories: only files), a writer thread makes it with
 * them, and mkdir leaves the main thread too. Anything else comes first (a subdirectory, a large
 * file, the end) and the main thread makes it as before.
 *
 * The main thread never touches a path a writer thread may not have made yet: before it works
 * inside the directory last handed to a thread, it waits for the threads to finish (rare: in the
 * attachment layout that directory only has files).
 *
 * A directory a thread made and wrote every entry of (the restore went past the last path under
 * it) gets its owner, mode and time from that thread too, on the handle it holds, after its last
 * file; the restore's last pass (tree_restore.ts writeLinksAndDirMeta) skips the directories
 * `dirMetaDone` reports.
 */
import type { Entry } from '../manifest/manifest';
import type { ContainedTree, MetaChange } from './contained_tree';
import { FileWriters, type DirTarget, type FileWritersOptions, type NewDir } from './file_writers';

/** `a/b/c` as its directory `a/b` and name `c` ('' for a top-level name's directory). */
export function splitRel(rel: string): { dir: string; name: string } {
  const i = rel.lastIndexOf('/');
  return i < 0 ? { dir: '', name: rel } : { dir: rel.slice(0, i), name: rel.slice(i + 1) };
}

/** An entry and its place in the list (the place is what RestoredStats keys by). */
export interface Placed {
  e: Entry;
  at: number;
}

/**
 * What the restore does itself, on the main thread, that this needs. `ino` and `mtimeNs`: what the
 * thread found the path to be once done (FileWriters' onWritten), 0n and 0n when not known.
 */
export interface FreshDirHooks {
  writers?: FileWritersOptions;
  /** Makes listed directory `rel` (tree_restore.ts ensureDir). */
  makeDir(rel: string): void;
  /** A directory's metadata, set by a thread (FileWriters.addDirMeta). */
  dirMetaDone(d: Placed, ino: bigint, mtimeNs: bigint): void;
  /** The object of file `e`, read and checked. */
  read(e: Entry): Buffer;
  meta(e: Entry): MetaChange;
  onWritten(f: Placed, ino: bigint, mtimeNs: bigint): void;
  /** Writes file `e`, which a writer thread found something in the way of, by the general path. */
  fallback(e: Entry): void;
}

export class FreshDirWrites {
  private writers: FileWriters<Placed> | undefined;
  /** A listed directory not made yet: the next small file in it takes it to a writer thread. */
  private deferred: Placed | undefined;
  /** The directory last handed, made or not yet, to a writer thread. */
  private handed: string | undefined;
  /** The entry of `handed` when a writer thread makes it (else the main thread made it, and nothing waits). */
  private handedMade: Placed | undefined;
  private target: { rel: string; at: DirTarget } | undefined;
  /** Why no writer thread could start (the process at its thread limit): the main thread writes everything. */
  threadsUnavailable: string | undefined;

  constructor(
    private readonly tree: ContainedTree,
    private readonly hooks: FreshDirHooks,
  ) {}

  /**
   * Leaves listed directory `d.e` to be made later, when its parent is one this restore made;
   * false: the caller makes it now. Call settle(path) first.
   */
  defer(d: Placed): boolean {
    if (!d.e.path || this.threadsUnavailable !== undefined) return false;
    const { dir } = splitRel(d.e.path);
    this.tree.makeDirs(dir);
    if (!this.tree.isFresh(dir)) return false;
    this.deferred = d;
    return true;
  }

  /** Hands small file `f.e` to a writer thread when its directory is new: false, the caller writes it. */
  async file(f: Placed): Promise<boolean> {
    if (!this.startWriters()) return false; // the caller's settle() makes a deferred directory
    const e = f.e;
    const { dir, name } = splitRel(e.path);
    let mk: NewDir | undefined;
    if (dir === this.deferred?.e.path) {
      const parent = splitRel(dir);
      mk = { ...this.dirTarget(parent.dir), name: parent.name };
      this.handed = dir;
      this.handedMade = this.deferred;
      this.deferred = undefined;
    } else if (dir !== this.handed) {
      await this.settle(e.path);
      this.tree.makeDirs(dir);
      if (!this.tree.isFresh(dir)) return false;
      this.handed = dir;
      this.handedMade = undefined;
    }
    const writers = this.writers as FileWriters<Placed>;
    await writers.add(this.dirTarget(dir), name, this.hooks.read(e), this.hooks.meta(e), f, mk);
    for (const x of writers.takeExisting()) this.hooks.fallback(x.e);
    return true;
  }

  /** The writer threads, with one started; false (and threadsUnavailable set) when none can start. */
  private startWriters(): boolean {
    if (this.threadsUnavailable !== undefined) return false;
    this.writers ??= new FileWriters<Placed>({
      ...this.hooks.writers,
      proc: this.tree.proc,
      onWritten: (x, ino, mtimeNs) => this.hooks.onWritten(x, ino, mtimeNs),
      onDirMeta: (x, ino, mtimeNs) => this.hooks.dirMetaDone(x, ino, mtimeNs),
    });
    this.threadsUnavailable = this.writers.start();
    return this.threadsUnavailable === undefined;
  }

  /**
   * Before the main thread works at `next` (undefined: the end of the pass): a deferred directory
   * is made now, and when `next` is inside a directory a thread made (or is making), the threads
   * are waited for. Inside one the main thread made, names differ (the list has each once): no wait.
   * Past a directory a thread made (paths under it are contiguous in path order: none comes
   * later), that thread sets its metadata.
   */
  async settle(next?: string): Promise<void> {
    if (this.deferred !== undefined) {
      const d = this.deferred;
      this.deferred = undefined;
      this.hooks.makeDir(d.e.path);
    }
    const handed = this.handed;
    const made = this.handedMade;
    if (handed === undefined) return;
    this.handed = undefined;
    this.handedMade = undefined;
    if (!made) return;
    if (next !== undefined && (next === handed || next.startsWith(`${handed}/`))) {
      await this.drain();
      this.tree.adoptFresh(handed);
      return;
    }
    this.writers?.addDirMeta(this.dirTarget(handed), this.hooks.meta(made.e), made);
  }

  /** Waits for every file handed over; throws the first failure (FileWriteError). */
  async drain(): Promise<void> {
    if (!this.writers) return;
    await this.writers.drain();
    for (const x of this.writers.takeExisting()) this.hooks.fallback(x.e);
  }

  /** Stops the threads; nothing writes once this resolves (see FileWriters.close). */
  async close(): Promise<void> {
    await this.writers?.close();
  }

  private dirTarget(rel: string): DirTarget {
    if (this.target?.rel !== rel) this.target = { rel, at: this.tree.dirTarget(rel) };
    return this.target.at;
  }
}
