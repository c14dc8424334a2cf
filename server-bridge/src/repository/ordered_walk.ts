/**
 * Walks a directory tree in exactly the order a manifest lists it (byPath: UTF-16 order of the
 * full relative path), so that a backup can write its index as it goes and merge-join it against
 * the parent's index: nothing proportional to the number of files is held, only the directories
 * on the current path and a bounded look-ahead.
 *
 * The order: within a directory, a child's own entry sorts at its name `n` and its subtree at
 * `n + '/'`. Emitting the two kinds of slots in one sorted sequence gives byPath order of the full
 * paths ('a', 'a.txt', 'a/b': '.' sorts below '/'), and every subtree is contiguous because no
 * name contains '/'.
 *
 * Throughput: metadata calls are issued ahead of the walk (listings of the next directories in
 * walk order, and lstats of the next children of each), either in parallel through libuv's pool
 * or synchronously in bursts, as the WalkPacer finds faster.
 *
 * One directory's size: a directory is read as a stream; one of up to `listInMemoryUpTo` entries
 * is sorted in memory, a larger one (Mattermost's `users/` holds one per user) on disk, in runs
 * merged as the walk reads them (name_spill.ts), so memory does not grow with a directory's size
 * either. Its walk order comes from its names in plain name order with a stack of the names whose
 * subtree is still to come: a name's subtree (`n + '/'`) comes before any later name that does not
 * start with `n` followed by a character below '/', so the stack holds only prefixes of the
 * current name (at most its length).
 */
import {
  closeSync,
  fstatSync,
  lstatSync,
  opendirSync,
  readdirSync,
  readlinkSync,
  type Dir,
  type Dirent,
} from 'node:fs';
import { lstat, opendir, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { BridgeError, throwIfAborted } from '../core/errors';
import { Semaphore } from '../core/pool';
import { spoolDir } from '../manifest/spool_dir';
import { metaOf, type Meta } from './file_meta';
import { NameSpill, NameWindow } from './name_spill';
import { openHeldDir, openHeldDirSync, type DirCheck, type DirId } from './source_open';
import type { WalkPacer } from './walk_pacer';

/** One path of the tree, handed out in byPath order. */
export interface WalkItem {
  rel: string;
  abs: string;
  meta: Meta;
  /**
   * Directories only: resolves false when the directory vanished before it could be listed
   * (tolerated vanishing), so its entry is dropped like a vanished file's. Never rejects: a real
   * listing error fails the walk when it reaches the directory's subtree.
   */
  listed?: Promise<boolean>;
  /**
   * Set on the item that stands, at its place in byPath order, for the subtree of a directory
   * `skipSubtree` chose (its entry came earlier, as usual): nothing under it was listed or lstat'd.
   */
  skipped?: true;
  /** Symbolic links only: the link's target, read where the link was listed. */
  target?: string;
}

export interface OrderedWalkOptions {
  root: string;
  /** Relative roots to walk, normalized and not nested in one another; [''] is the whole tree. */
  roots: readonly string[];
  /**
   * Where a relative root is walked from when that is not `root` joined with it (its parent's
   * links resolved: see source_open.ts's sourcePaths); the paths handed out keep the relative names.
   */
  rootPaths?: ReadonlyMap<string, string>;
  /**
   * `root` and the rootPaths have no link on them and /proc/self/fd says where a handle is
   * (SourcePaths.exact): each directory is held open while it is listed and its children are
   * looked at, all through its handle, so a directory swapped for a link after it was listed leads
   * nowhere else (its names, metadata and link targets are never the other place's): EMOVED.
   */
  exact?: boolean;
  /** Relative paths left out with everything under them. */
  excluded: ReadonlySet<string>;
  /** A path that vanishes mid-walk is left out instead of failing the walk (online mode). */
  tolerateVanished: boolean;
  /** A missing root is skipped (with a warning unless vanishing is tolerated) instead of failing. */
  rootsMayBeMissing: boolean;
  pacer: WalkPacer;
  signal?: AbortSignal;
  onWarning: (message: string) => void;
  /** Directories listed ahead of the walk when calls go in parallel. */
  lookahead?: number;
  /** Children lstat'd ahead of the walk within each directory when calls go in parallel. */
  statAhead?: number;
  /** Metadata calls in flight at once. */
  metaConcurrency?: number;
  /** Directories whose subtree is not walked (the caller takes it from elsewhere): see WalkItem.skipped. */
  skipSubtree?: (rel: string) => boolean;
  /**
   * Entries of one directory sorted in memory (default 50 000); a larger directory is sorted on
   * disk in runs of as many. Lowered by tests to cross run boundaries with few files.
   */
  listInMemoryUpTo?: number;
  /** Directories held open at once (default MAX_HELD); lowered by tests. */
  holdUpTo?: number;
}

const LIST_IN_MEMORY_UP_TO = 50_000;
/**
 * Directories held open at once: past it, a directory listed is closed until its subtree comes
 * (reopened then, and checked to be the same one). Look-ahead holds up to `lookahead` and the
 * stack its depth; siblings listed before the first one's subtree comes ('a', 'a-1', 'a/') more.
 */
const MAX_HELD = 256;
/** Directory entries fetched per call while a directory is read. */
const DIR_BUFFER = 256;

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** One directory's children: names in entry order, and the same children in subtree order. */
interface Listing {
  names: string[];
  /** Indexes into `names`, sorted by `name + '/'`: the order of the subtrees. */
  sub: Uint32Array;
  /** Positions in `sub` of children whose directory entry says "directory" (look-ahead hints only). */
  hints: Uint32Array;
}

/** The listing of a directory sorted on disk: its names are in DirNode.big. */
const ON_DISK: Listing = { names: [], sub: new Uint32Array(0), hints: new Uint32Array(0) };

/** A name whose subtree slot is still to come, and its entry's number. */
interface Pending {
  name: string;
  k: number;
}

class DirNode {
  /** undefined while unlisted or after an error; null when it vanished; ON_DISK when sorted on disk. */
  listing: Listing | null | undefined;
  /** A directory sorted on disk: its names by number (entry order); `i` is the next entry's number. */
  big: NameWindow | undefined;
  /** With `big`: names whose entry came and whose subtree has not, each a prefix of the next. */
  pend: Pending[] | undefined;
  error: unknown;
  /** Whether the listing is done (listing, null or error set); `ready` resolves then. */
  settled = false;
  ready: Promise<void> = Promise.resolve();
  /** Next entry slot (an index into names) and next subtree slot (a position in sub). */
  i = 0;
  j = 0;
  /** First hint not yet behind `j`. */
  h = 0;
  /** Child directories opened (listed or being listed) whose subtree has not been walked yet. */
  readonly children = new Map<number, DirNode>();
  /** Children whose subtree is skipped (skipSubtree), by index, with their directory's metadata. */
  readonly skipped = new Map<number, Meta>();
  /** lstats made or started ahead, by child index. */
  readonly stats = new Map<number, Settled<Meta> | Promise<Settled<Meta>>>();
  statNext = 0;
  /** The directory's handle, while held (OrderedWalkOptions.exact). */
  held: number | undefined;
  /** Which directory was listed, once its handle was closed until its subtree comes (MAX_HELD). */
  was: DirId | undefined;
  /** Done with, or dropped: nothing more is opened or looked at through it. */
  closed = false;

  constructor(
    readonly rel: string,
    readonly abs: string,
    /** The virtual top whose children are the roots (their names are full relative paths). */
    readonly top = false,
  ) {}

  childRel(name: string): string {
    return this.top || !this.rel ? name : `${this.rel}/${name}`;
  }

  /** `roots`: OrderedWalkOptions.rootPaths, for the top's children. */
  childAbs(root: string, name: string, roots?: ReadonlyMap<string, string>): string {
    if (this.top) return roots?.get(name) ?? (name ? path.join(root, name) : root);
    return `${this.abs}/${name}`;
  }

  /** The path to list the directory through. */
  get via(): string {
    return this.held === undefined ? this.abs : `/proc/self/fd/${this.held}`;
  }
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const settle = <T>(p: Promise<T>): Promise<Settled<T>> =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

const isMissing = (err: unknown): boolean => (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
const isMoved = (err: unknown): boolean => (err as NodeJS.ErrnoException | undefined)?.code === 'EMOVED';

/** Walks `opts.roots` under `opts.root`, yielding every path in byPath order. */
export function orderedWalk(opts: OrderedWalkOptions): AsyncGenerator<WalkItem> {
  return new Walker(opts).walk();
}

class Walker {
  private readonly stack: DirNode[] = [];
  private readonly meta: Semaphore;
  private readonly lookahead: number;
  private readonly statAhead: number;
  private readonly listMax: number;
  /** Directories sorted on disk and not yet walked or dropped: their files go when the walk ends. */
  private readonly spills = new Set<NameSpill>();
  /** Directories opened and not yet walked or dropped (bounded by `lookahead` for look-ahead). */
  private open = 0;
  /** Directories whose handle is open (OrderedWalkOptions.exact). */
  private readonly held = new Set<DirNode>();
  private lastYield = Date.now();
  /** Set when the walk ends (done, failed or abandoned): listings still in flight open nothing more. */
  private stopped = false;

  constructor(private readonly opts: OrderedWalkOptions) {
    this.meta = new Semaphore(opts.metaConcurrency ?? 32);
    this.lookahead = opts.lookahead ?? 64;
    this.statAhead = opts.statAhead ?? 64;
    this.listMax = opts.listInMemoryUpTo ?? LIST_IN_MEMORY_UP_TO;
    if (!Number.isInteger(this.listMax) || this.listMax < 1) {
      throw new BridgeError('INTERNAL', `bad listInMemoryUpTo: ${this.listMax}`);
    }
  }

  async *walk(): AsyncGenerator<WalkItem> {
    const top = new DirNode('', this.opts.root, true);
    top.listing = this.makeListing(
      top,
      [...this.opts.roots],
      this.opts.roots.map(() => false),
    );
    this.stack.push(top);
    try {
      while (this.stack.length) {
        const node = this.stack[this.stack.length - 1] as DirNode;
        const big = node.big;
        const { names, sub } = node.listing as Listing;
        const n = names.length;
        if (big) {
          big.release(node.i);
          big.fill(node.i + 1);
          if (node.i >= big.end && !(node.pend as Pending[]).length) {
            this.retire(node);
            this.release(node);
            this.stack.pop();
            this.fill();
            continue;
          }
          throwIfAborted(this.opts.signal); // a flat directory of millions has no subtree to check it at
        } else if (node.i >= n && node.j >= n) {
          this.release(node);
          this.stack.pop();
          this.fill();
          continue;
        }
        if (Date.now() - this.lastYield > 20) {
          this.lastYield = Date.now();
          await yieldToLoop(); // synchronous bursts leave room for reads, progress and HTTP requests
        }
        // The next slot: child k's own entry, or its subtree.
        let entry: boolean;
        let k: number;
        let name: string;
        if (big) {
          const pend = node.pend as Pending[];
          const top = pend[pend.length - 1];
          const next = node.i < big.end ? big.name(node.i) : undefined;
          entry = next !== undefined && (!top || next < `${top.name}/`);
          if (entry) {
            k = node.i++;
            name = next as string;
            pend.push({ name, k });
          } else {
            ({ k, name } = pend.pop() as Pending);
          }
        } else {
          const nextSub = node.j < n ? (sub[node.j] as number) : -1;
          entry = node.i < n && (nextSub < 0 || (names[node.i] as string) < `${names[nextSub] as string}/`);
          if (entry) k = node.i++;
          else {
            node.j++;
            k = nextSub;
          }
          name = names[k] as string;
        }
        if (entry) {
          // The child's own entry.
          const meta = await this.metaAt(node, k);
          this.opts.pacer.done(1);
          const ahead = node.children.get(k);
          const rel = node.childRel(name);
          const abs = node.childAbs(this.opts.root, name, this.opts.rootPaths);
          if (meta?.kind !== 'dir') {
            if (ahead) this.drop(node, k);
            if (meta?.kind === 'symlink') {
              const target = await this.linkAt(node, name);
              if (target !== null) yield { rel, abs, meta, target };
            } else if (meta) yield { rel, abs, meta };
            continue;
          }
          if (this.opts.skipSubtree?.(rel)) {
            if (ahead) this.drop(node, k);
            node.skipped.set(k, meta);
            yield { rel, abs, meta };
            continue;
          }
          // Listed now (or already, ahead): its entry waits on the listing, which must not wait on the walk.
          const child = ahead ?? this.openDir(node, k, name, meta.size);
          if (!child.settled) yield { rel, abs, meta, listed: child.ready.then(() => child.listing !== null) };
          else if (child.listing !== null) yield { rel, abs, meta };
        } else {
          // The child's subtree (if it is a directory).
          const skipped = node.skipped.get(k);
          if (skipped) {
            node.skipped.delete(k);
            yield {
              rel: node.childRel(name),
              abs: node.childAbs(this.opts.root, name, this.opts.rootPaths),
              meta: skipped,
              skipped: true,
            };
            continue;
          }
          const child = node.children.get(k);
          if (!child) continue;
          node.children.delete(k);
          this.open--;
          throwIfAborted(this.opts.signal);
          await child.ready;
          this.opts.pacer.done(1);
          if (child.listing === undefined) throw child.error;
          if (child.listing === null) continue; // vanished (tolerated): its entry was dropped
          if (!(await this.resume(node, child, name))) continue;
          this.stack.push(child);
          this.fill();
        }
      }
    } finally {
      this.stopped = true;
      for (const spill of this.spills) spill.dispose();
      this.spills.clear();
      for (const node of [...this.held]) this.release(node);
    }
  }

  /** Removes the files of a directory sorted on disk, once it is walked or dropped. */
  private retire(node: DirNode): void {
    if (!node.big) return;
    node.big.dispose();
    this.spills.delete(node.big.spill);
  }

  /** The lstat of child `k`: started ahead, or made now; null when it vanished (tolerated). */
  private async metaAt(node: DirNode, k: number): Promise<Meta | null> {
    const name = node.big ? node.big.name(k) : ((node.listing as Listing).names[k] as string);
    const abs = node.childAbs(this.opts.root, name, this.opts.rootPaths);
    // Parallel calls keep a window of `statAhead` in flight; synchronous ones are made in batches
    // of as many, back to back (measured: one at a time between other work cost half as much again).
    if (!node.stats.has(k) || !this.opts.pacer.sync) this.startStats(node, k + this.statAhead);
    const ahead = node.stats.get(k);
    node.stats.delete(k);
    const res =
      ahead instanceof Promise
        ? await ahead
        : (ahead ?? (await settle(lstat(this.at(node, name), { bigint: true }).then(metaOf))));
    if (res.ok) return res.value;
    if (!isMissing(res.error)) throw res.error;
    if (node.top) {
      if (!this.opts.tolerateVanished && !this.opts.rootsMayBeMissing) throw res.error;
      if (!this.opts.tolerateVanished) this.opts.onWarning(`${abs} does not exist`);
      return null;
    }
    if (this.opts.tolerateVanished) return null;
    throw res.error;
  }

  /** Makes (sync) or starts (in parallel, bounded) the lstats of the children before index `upTo` not yet made. */
  private startStats(node: DirNode, upTo: number): void {
    const names = (node.listing as Listing).names;
    const big = node.big;
    big?.fill(upTo);
    const end = Math.min(upTo, big ? big.end : names.length);
    const sync = this.opts.pacer.sync;
    if (this.opts.exact && node.held === undefined && !node.top) return; // closed until its subtree comes (MAX_HELD)
    for (; node.statNext < end; node.statNext++) {
      const name = big ? big.name(node.statNext) : (names[node.statNext] as string);
      const at = this.at(node, name);
      if (!sync) {
        node.stats.set(node.statNext, settle(this.meta.run(() => lstat(at, { bigint: true })).then(metaOf)));
        continue;
      }
      try {
        node.stats.set(node.statNext, { ok: true, value: metaOf(lstatSync(at, { bigint: true })) });
      } catch (error) {
        node.stats.set(node.statNext, { ok: false, error });
      }
    }
  }

  /**
   * Opens child `k` (`name`) of `parent` as a directory: lists it now (sync) or starts its
   * listing, through its handle when the walk is exact. `size` is the directory's own size
   * (lstat), when known: see `small`.
   */
  private openDir(parent: DirNode, k: number, name: string, size?: number): DirNode {
    const node = new DirNode(parent.childRel(name), parent.childAbs(this.opts.root, name, this.opts.rootPaths));
    const at = this.at(parent, name);
    parent.children.set(k, node);
    this.open++;
    if (this.opts.pacer.sync) {
      try {
        if (this.opts.exact) this.take(node, openHeldDirSync(at, node.abs, { place: parent.top }));
      } catch (err) {
        node.settled = true;
        this.failed(node, err);
        return node;
      }
      if (size !== undefined && this.small(size)) {
        let dirents: Dirent[];
        node.settled = true;
        try {
          dirents = readdirSync(node.via, { withFileTypes: true });
        } catch (err) {
          this.failed(node, err);
          return node;
        }
        node.listing = this.makeListing(
          node,
          dirents.map((d) => d.name),
          dirents.map((d) => d.isDirectory()),
        );
        this.spare(node);
        return node;
      }
      let dir: Dir | undefined;
      try {
        dir = opendirSync(node.via, { bufferSize: DIR_BUFFER });
        const names: string[] = [];
        const dirs: boolean[] = [];
        for (let d = dir.readSync(); d; d = dir.readSync()) {
          names.push(d.name);
          dirs.push(d.isDirectory());
          if (names.length > this.listMax) {
            // Too large for memory: sorted on disk, awaited like a parallel listing.
            const rest = dir;
            dir = undefined;
            node.ready = this.listed(node, this.spillRest(node, rest, names, dirs, true));
            return node;
          }
        }
        node.settled = true;
        node.listing = this.makeListing(node, names, dirs);
        this.spare(node);
      } catch (err) {
        node.settled = true;
        this.failed(node, err);
      } finally {
        dir?.closeSync();
      }
      return node;
    }
    node.ready = this.listed(
      node,
      this.sizeOf(parent, k, at, size).then(async (known) => {
        if (this.opts.exact) await this.holdAsync(node, at, { place: parent.top });
        if (this.small(known)) {
          const dirents = await this.meta.run(() => readdir(node.via, { withFileTypes: true }));
          node.listing = this.makeListing(
            node,
            dirents.map((d) => d.name),
            dirents.map((d) => d.isDirectory()),
          );
          return;
        }
        const { names, dirs, rest } = await this.meta.run(() => this.readSome(node.via));
        if (rest) await this.spillRest(node, rest, names, dirs, false);
        else node.listing = this.makeListing(node, names, dirs);
      }),
    );
    return node;
  }

  /** Holds `node` open through `at` (openHeldDir), unless the walk ended or dropped it meanwhile. */
  private async holdAsync(node: DirNode, at: string, check: DirCheck): Promise<void> {
    const dir = await this.meta.run(() => openHeldDir(at, node.abs, check));
    if (this.stopped || node.closed) {
      closeSync(dir);
      throw new BridgeError('INTERNAL', 'the walk ended while a directory was opened');
    }
    this.take(node, dir);
  }

  /** The path to look at child `name` of `node` through: its handle when the walk is exact. */
  private at(node: DirNode, name: string): string {
    if (node.held !== undefined) return `/proc/self/fd/${node.held}/${name}`;
    if (this.opts.exact && !node.top) throw new BridgeError('INTERNAL', `${node.abs} is looked into while not held`);
    return node.childAbs(this.opts.root, name, this.opts.rootPaths);
  }

  private take(node: DirNode, dir: number): void {
    node.held = dir;
    this.held.add(node);
  }

  /** Closes `node`'s handle for good: the walk is done with it, dropped it, or ended. */
  private release(node: DirNode): void {
    node.closed = true;
    if (node.held === undefined) return;
    closeSync(node.held);
    this.held.delete(node);
    node.held = undefined;
  }

  /**
   * Past MAX_HELD, closes a directory just listed until its subtree comes (see resume). Not one
   * whose children are being looked at already (look-ahead): their paths go through its handle.
   */
  private spare(node: DirNode): void {
    if (node.held === undefined || this.held.size <= (this.opts.holdUpTo ?? MAX_HELD)) return;
    if (node.children.size || node.statNext) return;
    const st = fstatSync(node.held);
    node.was = { dev: st.dev, ino: st.ino };
    closeSync(node.held);
    this.held.delete(node);
    node.held = undefined;
  }

  /**
   * Reopens a directory `spare` closed, as its subtree comes: through `parent`'s handle, and only
   * the directory listed. False when it is gone or replaced and that is tolerated (online): its
   * entry came already, with nothing under it; a warning says so for a replaced one.
   */
  private async resume(parent: DirNode, node: DirNode, name: string): Promise<boolean> {
    if (!this.opts.exact || node.held !== undefined || !node.was) return true;
    const at = this.at(parent, name);
    const check = { place: parent.top, was: node.was };
    try {
      if (this.opts.pacer.sync) this.take(node, openHeldDirSync(at, node.abs, check));
      else await this.holdAsync(node, at, check);
      return true;
    } catch (err) {
      if (!this.opts.tolerateVanished || !(isMissing(err) || isMoved(err))) throw err;
      if (isMoved(err)) this.opts.onWarning(`${(err as Error).message}; left out`);
      this.release(node);
      return false;
    }
  }

  /** The target of child `name` of `node`, a symbolic link; null when it vanished or changed (tolerated). */
  private async linkAt(node: DirNode, name: string): Promise<string | null> {
    const at = this.at(node, name);
    try {
      return this.opts.pacer.sync ? readlinkSync(at) : await this.meta.run(() => readlink(at));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // EINVAL: no longer a link (replaced since its lstat).
      if (this.opts.tolerateVanished && (code === 'ENOENT' || code === 'EINVAL')) return null;
      throw err;
    }
  }

  /**
   * Whether a directory of `size` bytes (its lstat) is listed whole, as one array: much faster
   * than reading it as a stream (measured: 12 against 35 µs per small directory, sync; a third of
   * the time in parallel), and bounded, since a directory's size grows with its entries on the
   * filesystems a file store lives on (ext4, XFS, btrfs, tmpfs: 12 to 40 bytes and more per entry).
   */
  private small(size: number): boolean {
    return size <= this.listMax * 8;
  }

  /** The size of child `k` of `parent`: given, from its lstat made ahead, else lstat'd now (Infinity when that fails). */
  private async sizeOf(parent: DirNode, k: number, at: string, size?: number): Promise<number> {
    if (size !== undefined) return size;
    const ahead = parent.stats.get(k);
    const st =
      ahead === undefined ? await settle(this.meta.run(() => lstat(at, { bigint: true })).then(metaOf)) : await ahead;
    return st.ok ? st.value.size : Infinity;
  }

  /** Settles `node` when its listing is made (or failed), then starts what the listing reveals. */
  private listed(node: DirNode, listing: Promise<void>): Promise<void> {
    return listing.then(
      () => {
        node.settled = true;
        if (this.stopped || node.closed) return;
        this.spare(node);
        if (!this.opts.pacer.sync) this.startStats(node, this.statAhead);
        this.fill(); // its subdirectories may be next in walk order
      },
      (err: unknown) => {
        node.settled = true;
        this.failed(node, err);
      },
    );
  }

  /** Reads up to `listMax` + 1 entries; `rest` (still open) when there are more. */
  private async readSome(abs: string): Promise<{ names: string[]; dirs: boolean[]; rest?: Dir }> {
    const dir = await opendir(abs, { bufferSize: DIR_BUFFER });
    const names: string[] = [];
    const dirs: boolean[] = [];
    let open = true;
    try {
      for (let d = await dir.read(); d; d = await dir.read()) {
        names.push(d.name);
        dirs.push(d.isDirectory());
        if (names.length > this.listMax) {
          open = false;
          return { names, dirs, rest: dir };
        }
      }
    } finally {
      if (open) await dir.close();
    }
    return { names, dirs };
  }

  /**
   * Sorts a directory too large for memory on disk: the entries read so far and the rest of `dir`
   * go in runs of `listMax`; then node.big reads them merged. Closes `dir`; on failure (or when the
   * walk ends meanwhile) removes what it wrote.
   */
  private async spillRest(
    node: DirNode,
    dir: Dir,
    first: string[],
    firstDirs: boolean[],
    sync: boolean,
  ): Promise<void> {
    let names = first;
    let dirs = firstDirs;
    let spill: NameSpill | undefined;
    try {
      spill = new NameSpill(await spoolDir());
      this.spills.add(spill);
      const live = (s: NameSpill): void => {
        throwIfAborted(this.opts.signal);
        if (this.stopped || s.disposed) {
          throw new BridgeError('INTERNAL', 'the walk ended while a directory was sorted');
        }
      };
      const pause = async (): Promise<void> => {
        if (Date.now() - this.lastYield > 20) {
          this.lastYield = Date.now();
          await yieldToLoop();
        }
        live(spill as NameSpill);
      };
      const flush = (): void => {
        const kept = this.kept(node, names);
        live(spill as NameSpill);
        (spill as NameSpill).addRun(
          kept ? kept.map((x) => names[x] as string) : names,
          kept ? kept.map((x) => dirs[x] === true) : dirs,
        );
        names = [];
        dirs = [];
      };
      flush();
      for (;;) {
        const d = sync ? dir.readSync() : await dir.read();
        if (!d) break;
        names.push(d.name);
        dirs.push(d.isDirectory());
        if (names.length >= this.listMax) flush();
        if (names.length % 1024 === 0) await pause();
      }
      flush();
      await spill.finish(pause);
      live(spill);
      node.big = new NameWindow(spill);
      node.pend = [];
      node.listing = ON_DISK;
    } catch (err) {
      if (spill) {
        spill.dispose();
        this.spills.delete(spill);
      }
      throw err;
    } finally {
      if (sync) dir.closeSync();
      else await dir.close();
    }
  }

  /** Indexes of the names not excluded, or undefined when all are kept. */
  private kept(node: DirNode, names: readonly string[]): number[] | undefined {
    const excluded = this.opts.excluded;
    if (!excluded.size) return undefined;
    const keep: number[] = [];
    for (let x = 0; x < names.length; x++) if (!excluded.has(node.childRel(names[x] as string))) keep.push(x);
    return keep.length === names.length ? undefined : keep;
  }

  private failed(node: DirNode, err: unknown): void {
    this.release(node);
    // Online mode: a directory removed between its lstat and its listing is simply gone; one
    // replaced (by a link, a file, another directory) too, with a warning: it may be the trace of
    // a swap meant to have the backup list another place.
    if (!this.opts.tolerateVanished || !(isMissing(err) || isMoved(err))) node.error = err;
    else {
      if (isMoved(err)) this.opts.onWarning(`${(err as Error).message}; left out`);
      node.listing = null;
    }
  }

  /** Forgets an opened child that turned out not to be a directory, with whatever was opened under it. */
  private drop(parent: DirNode, k: number): void {
    const node = parent.children.get(k);
    if (!node) return;
    parent.children.delete(k);
    this.open--;
    this.retire(node);
    this.release(node);
    for (const c of [...node.children.keys()]) this.drop(node, c);
  }

  /**
   * Look-ahead (parallel mode): opens the next directories in walk order that the listings known
   * so far reveal, deepest frame first, until `lookahead` are open.
   */
  private fill(): void {
    if (this.opts.pacer.sync || this.stopped) return;
    for (let s = this.stack.length - 1; s >= 0 && this.open < this.lookahead; s--) {
      this.visit(this.stack[s] as DirNode);
    }
  }

  private visit(node: DirNode): void {
    const l = node.listing;
    if (!l) return;
    if (this.opts.exact && node.held === undefined && !node.top) return; // closed until its subtree comes
    if (node.big) {
      this.visitBig(node, node.big);
      return;
    }
    while (node.h < l.hints.length && (l.hints[node.h] as number) < node.j) node.h++;
    for (let h = node.h; h < l.hints.length && this.open < this.lookahead; h++) {
      const k = l.sub[l.hints[h] as number] as number;
      let c = node.children.get(k);
      if (!c) {
        if (k < node.i) continue; // its entry was handled: not a directory after all, or vanished
        const name = l.names[k] as string;
        if (this.opts.skipSubtree?.(node.childRel(name))) continue;
        c = this.openDir(node, k, name);
      }
      if (c.listing) this.visit(c);
    }
  }

  /** visit() for a directory sorted on disk: the pending subtrees, then the names read ahead. */
  private visitBig(node: DirNode, big: NameWindow): void {
    const pend = node.pend as Pending[];
    for (let p = pend.length - 1; p >= 0 && this.open < this.lookahead; p--) {
      const c = node.children.get((pend[p] as Pending).k);
      if (c?.listing) this.visit(c);
    }
    for (let k = Math.max(node.i, big.first); k < big.end && this.open < this.lookahead; k++) {
      if (!big.flag(k)) continue;
      let c = node.children.get(k);
      if (!c) {
        const name = big.name(k);
        if (this.opts.skipSubtree?.(node.childRel(name))) continue;
        c = this.openDir(node, k, name);
      }
      if (c.listing) this.visit(c);
    }
  }

  private makeListing(node: DirNode, rawNames: string[], rawDirs: boolean[]): Listing {
    const excluded = this.opts.excluded;
    const keep: number[] = [];
    for (let x = 0; x < rawNames.length; x++) {
      if (!excluded.size || !excluded.has(node.childRel(rawNames[x] as string))) keep.push(x);
    }
    keep.sort((a, b) => cmp(rawNames[a] as string, rawNames[b] as string));
    const names = keep.map((x) => rawNames[x] as string);
    const dirs = keep.map((x) => rawDirs[x] === true);
    const keys = names.map((nm) => `${nm}/`);
    const order = Array.from(names.keys()).sort((a, b) => cmp(keys[a] as string, keys[b] as string));
    const sub = Uint32Array.from(order);
    const hints: number[] = [];
    for (let p = 0; p < sub.length; p++) if (dirs[sub[p] as number]) hints.push(p);
    return { names, sub, hints: Uint32Array.from(hints) };
  }
}
