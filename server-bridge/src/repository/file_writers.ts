/**
 * New small files of a restore, written by worker threads (file_writer_worker.ts has their code)
 * while the main thread reads and checks the next objects and makes the next directories. A
 * restore of many small files is system calls (open, write, fchown, fchmod, futimes, close and
 * the handle check: 7 a file); made from one thread they left the other cores idle.
 *
 * Only files of directories this restore created go here, so nothing of the target's can be at
 * their names (what is there after all is handed back, and the caller's general path replaces it).
 * Each thread applies the main thread's checks (contained_tree.ts): a directory opened without
 * following a link, its handle checked to be the path inside the root before every file.
 *
 * Files are sent in messages of up to `batchFiles` files or `batchBytes` bytes, with at most
 * `inFlight` messages unanswered: memory is bounded by `inFlight × batchBytes` whatever the tree.
 * A file waiting in a batch is its bytes copied into the batch's buffer, its numbers in a typed
 * array and its name: no object per file that lives until the answer. Objects that outlive two of
 * V8's young collections are promoted, and that promotion rate is what sets how far the old
 * generation grows between full collections (up to 4× its live size), so the restore's peak.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { BridgeError } from '../core/errors';
import { FileOpError } from './file_op_error';
import { linkRefused, type MetaChange } from './contained_tree';
import { FILE_WRITER_SOURCE } from './file_writer_worker';

export interface FileWritersOptions {
  /** Writer threads at most (default: the cores available less the main thread's, 1 to 3). */
  threads?: number;
  /** Files a message carries at most (default 256). */
  batchFiles?: number;
  /** Bytes a message carries at most, past its first file (default 1 MiB). */
  batchBytes?: number;
  /** Messages sent and not yet answered, at most (default: 2 a thread). */
  inFlight?: number;
}

/** A directory's path to open and the path its handle must name (ContainedTree.dirTarget). */
export interface DirTarget {
  open: string;
  want: string;
}

/** A file written by a thread failed: `tag` says which, `cause` why (a FileOpError, or a refusal). */
export class FileWriteError<T> extends Error {
  constructor(
    readonly tag: T,
    cause: Error,
  ) {
    super(cause.message, { cause });
    this.name = new.target.name;
  }
}

/** Numbers per file in a batch's `meta`: length, uid, gid, mode, flags (1 chown, 2 chmod), time (NaN: left). */
const META = 6;

/** A directory for a writer thread to make (mode 0700) in its parent `open`, a directory the restore made. */
export interface NewDir extends DirTarget {
  name: string;
}

/** A directory's run of files in a batch (`names`; their numbers follow in `meta` in the batch's file order), or its metadata. */
interface Group extends DirTarget {
  mk?: NewDir;
  meta?: MetaChange;
  names: string[];
}

interface Batch<T> {
  id: number;
  groups: Group[];
  /** The files' bytes back to back, copied in as they are added; `bytes` of it used. */
  data: Buffer<ArrayBuffer>;
  bytes: number;
  /** META numbers a file. */
  meta: Float64Array<ArrayBuffer>;
  tags: T[];
  /** The tag of each group that sets its directory's metadata, by the group's index. */
  metaTags: Map<number, T>;
}

type Reply =
  | {
      id: number;
      ok: true;
      existed: number[];
      skipped?: number[];
      /** BigInt64 pairs (inode, mtime ns; 0n: unknown): each file, then each group's directory. */
      stats?: ArrayBuffer;
    }
  | {
      id: number;
      ok: false;
      at: number;
      /** The group whose directory's metadata failed (else file `at` failed). */
      group?: number;
      error: { message: string; code?: string; errno?: number; syscall?: string; path?: string };
      refused?: { path: string; why: string };
    };

interface Slot<T> {
  worker: Worker;
  sent: Map<number, Batch<T> | undefined>;
  /** The thread failed or ended: nothing sent to it would be answered. */
  gone?: boolean;
}

const EMPTY: Buffer<ArrayBuffer> = Buffer.alloc(0);
const NO_META = new Float64Array(0);

/** The default number of writer threads: the cores besides the main thread's, 1 to 3. */
export function defaultWriterThreads(): number {
  return Math.min(3, Math.max(1, os.availableParallelism() - 1));
}

export class FileWriters<T> {
  /** Threads at most: lowered to those alive when another cannot start (the process at its thread limit). */
  private threads: number;
  private readonly batchFiles: number;
  private readonly batchBytes: number;
  private readonly inFlight: number;
  private readonly stop = new Int32Array(new SharedArrayBuffer(4));
  private readonly slots: Array<Slot<T>> = [];
  private batch: Batch<T> | undefined;
  /** The directory of the last file sent, when a thread made it, and that thread. */
  private madeBy: { open: string; slot: Slot<T> } | undefined;
  private nextId = 1;
  private unanswered = 0;
  private waiters: Array<() => void> = [];
  private failure: Error | undefined;
  private readonly existing: T[] = [];

  /**
   * `proc`: handles are checked through /proc/self/fd (ContainedTree's); `onWritten` runs for each
   * file made, `onDirMeta` for each directory whose metadata a thread set (addDirMeta). Both are
   * given what the path is on disk as the thread left it (fstat): its inode and mtime in
   * nanoseconds, when its type, owner, mode and size are what was asked for, else 0n and 0n.
   */
  constructor(
    private readonly opts: FileWritersOptions & {
      proc: boolean;
      onWritten: (tag: T, ino: bigint, mtimeNs: bigint) => void;
      onDirMeta?: (tag: T, ino: bigint, mtimeNs: bigint) => void;
    },
  ) {
    this.threads = Math.max(1, opts.threads ?? defaultWriterThreads());
    this.batchFiles = Math.max(1, opts.batchFiles ?? 256);
    this.batchBytes = opts.batchBytes ?? 1024 * 1024;
    this.inFlight = Math.max(1, opts.inFlight ?? 2 * this.threads);
  }

  /**
   * Queues file `name` of directory `dir` with `data` (checked bytes) and metadata `meta`; `mk`:
   * the thread makes `dir` first (it was not made yet). Waits while `inFlight` messages are
   * unanswered. Throws the first failure of a file sent before.
   */
  async add(dir: DirTarget, name: string, data: Buffer, meta: MetaChange, tag: T, mk?: NewDir): Promise<void> {
    const b = this.current();
    let g = b.groups.at(-1);
    if (g?.open !== dir.open || mk || g.meta) {
      g = { open: dir.open, want: dir.want, mk, names: [] };
      b.groups.push(g);
    }
    g.names.push(name);
    if (b.bytes + data.length > b.data.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(b.bytes + data.length, 2 * b.data.length));
      b.data.copy(grown, 0, 0, b.bytes);
      b.data = grown;
    }
    b.bytes += data.copy(b.data, b.bytes);
    const at = b.tags.length * META;
    if (at + META > b.meta.length) {
      const grown = new Float64Array(2 * b.meta.length);
      grown.set(b.meta);
      b.meta = grown;
    }
    b.meta[at] = data.length;
    b.meta[at + 1] = meta.uid;
    b.meta[at + 2] = meta.gid;
    b.meta[at + 3] = meta.mode;
    b.meta[at + 4] = (meta.chown ? 1 : 0) | (meta.chmod ? 2 : 0);
    b.meta[at + 5] = meta.time ?? NaN;
    b.tags.push(tag);
    if (b.tags.length >= this.batchFiles || b.bytes >= this.batchBytes) await this.send();
  }

  /**
   * Has the thread that made directory `dir` (with `mk`, the last one asked for) set its
   * metadata after its files: the caller saw the last entry under it. `onDirMeta(tag)` says it
   * was set; a directory with a file not made by the thread (takeExisting) is left to the caller.
   */
  addDirMeta(dir: DirTarget, meta: MetaChange, tag: T): void {
    if (this.failure) throw this.failure;
    const b = this.current();
    b.groups.push({ open: dir.open, want: dir.want, meta, names: [] });
    b.metaTags.set(b.groups.length - 1, tag);
  }

  /**
   * Starts a thread unless one runs: undefined when one does, else why none could start (the
   * process or its container at its thread limit: EAGAIN), and the caller writes the files itself.
   */
  start(): string | undefined {
    if (this.slots.some((s) => !s.gone)) return undefined;
    try {
      this.spawn();
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  }

  /** Files that were not made because something was at their name, taken (the caller writes them). */
  takeExisting(): T[] {
    return this.existing.splice(0);
  }

  /** Sends what is queued and waits for every answer; throws the first failure. */
  async drain(): Promise<void> {
    if (!this.failure) await this.send();
    await this.quiet();
    if (this.failure) throw this.failure;
  }

  /**
   * Stops the threads at their next file, waits for what was sent to be answered (nothing writes
   * once this resolves; a thread stuck in a call for `graceMs` is ended), closes their directory
   * handles and ends them. Safe to call twice; nothing may be added afterwards.
   */
  async close(graceMs = 5000): Promise<void> {
    this.batch = undefined;
    Atomics.store(this.stop, 0, 1);
    const timer = setTimeout(() => {
      for (const s of this.slots) void s.worker.terminate();
    }, graceMs);
    try {
      await this.quiet();
      await Promise.all(this.slots.map((s) => this.closeHandles(s)));
    } finally {
      clearTimeout(timer);
      await Promise.all(this.slots.splice(0).map((s) => s.worker.terminate().catch(() => undefined)));
    }
  }

  private current(): Batch<T> {
    if (this.failure) throw this.failure;
    this.batch ??= {
      id: this.nextId++,
      groups: [],
      // Grown as files come (a batch of Mattermost's small files is a few hundred KiB, not batchBytes).
      data: Buffer.allocUnsafeSlow(Math.min(this.batchBytes, 64 * 1024) || 1),
      bytes: 0,
      meta: new Float64Array(META * Math.min(this.batchFiles, 256)),
      tags: [],
      metaTags: new Map(),
    };
    return this.batch;
  }

  private async send(): Promise<void> {
    const b = this.batch;
    if (!b) return;
    this.batch = undefined;
    while (this.unanswered >= this.inFlight && !this.failure) await this.answered();
    if (this.failure) throw this.failure;
    // The bytes and the numbers handed over (transferred, not copied); the batch keeps its tags.
    const data = b.data.buffer;
    const meta = b.meta.buffer;
    b.data = EMPTY;
    b.meta = NO_META;
    // A directory a thread makes gets all its files from that thread, in order: another could
    // look for it before it is made.
    const first = b.groups[0];
    // (A thread that ended has answered all it was sent: another may go on in that directory.)
    const owner = this.madeBy;
    const slot =
      owner && !owner.slot.gone && first && !first.mk && first.open === owner.open ? owner.slot : this.pick();
    const last = b.groups.at(-1);
    if (last?.mk) this.madeBy = { open: last.open, slot };
    else if (b.groups.length > 1 || this.madeBy?.open !== last?.open) this.madeBy = undefined;
    // Its maker ended: what follows for that directory follows this batch, in order.
    else if (this.madeBy) this.madeBy = { open: this.madeBy.open, slot };
    slot.sent.set(b.id, b);
    this.unanswered++;
    slot.worker.postMessage({ id: b.id, op: 'write', groups: b.groups, data, meta }, [data, meta]);
    b.groups = [];
  }

  /** The thread with the fewest messages unanswered; a new one while fewer than `threads` run. */
  private pick(): Slot<T> {
    const live = this.slots.filter((s) => !s.gone);
    const free = live.find((s) => s.sent.size === 0);
    if (free) return free;
    if (live.length < this.threads) {
      try {
        return this.spawn();
      } catch (err) {
        // No thread more can start: the restore goes on with those it has (start() made one).
        if (!live.length) throw err;
        this.threads = live.length;
      }
    }
    return live.reduce((a, s) => (s.sent.size < a.sent.size ? s : a));
  }

  private spawn(): Slot<T> {
    const worker = new Worker(FILE_WRITER_SOURCE, {
      eval: true,
      workerData: { stop: this.stop.buffer, proc: this.opts.proc },
      // File bytes come in the message's one buffer; the heap holds a message's names.
      resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 },
    });
    const slot: Slot<T> = { worker, sent: new Map() };
    this.slots.push(slot);
    worker.on('message', (r: Reply) => this.answer(slot, r));
    // A thread that fails always fails the restore; one that ends, only with work unanswered
    // (close() ends them all once they are quiet).
    const lost = (why: string, always: boolean, cause?: Error) => {
      slot.gone = true;
      if (always || slot.sent.size) this.fail(new BridgeError('INTERNAL', `a restore writer thread ${why}`, { cause }));
      for (const id of [...slot.sent.keys()]) this.settle(slot, id);
    };
    worker.on('error', (err: Error) => lost(`failed: ${err.message}`, true, err));
    worker.on('exit', (code) => lost(`stopped (exit code ${code})`, false));
    return slot;
  }

  private answer(slot: Slot<T>, r: Reply): void {
    const b = slot.sent.get(r.id);
    try {
      if (!r.ok && b && r.error.code !== 'ABORT_ERR') {
        const cause = r.refused ? linkRefused(r.refused.path, r.refused.why) : new FileOpError(r.error);
        const tag = r.group === undefined ? b.tags[r.at] : b.metaTags.get(r.group);
        this.fail(new FileWriteError(tag as T, cause));
      }
      const existed = new Set(r.ok ? r.existed : []);
      const done = b ? b.tags.slice(0, r.ok ? undefined : r.at) : [];
      const stats = r.ok && r.stats ? new BigInt64Array(r.stats) : undefined;
      // A pair, or 0n 0n (unknown) when the answer has none for index `i`.
      const ino = (i: number): bigint => stats?.[2 * i] ?? 0n;
      const mtime = (i: number): bigint => stats?.[2 * i + 1] ?? 0n;
      done.forEach((tag, i) => {
        if (existed.has(i)) this.existing.push(tag);
        else this.opts.onWritten(tag, ino(i), mtime(i));
      });
      if (r.ok && b) {
        const skipped = new Set(r.skipped);
        const base = b.tags.length;
        for (const [gi, tag] of b.metaTags) {
          if (!skipped.has(gi)) this.opts.onDirMeta?.(tag, ino(base + gi), mtime(base + gi));
        }
      }
    } catch (err) {
      // The caller's progress callback failed: the restore fails with it (it must not hang).
      this.fail(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.settle(slot, r.id);
    }
  }

  private settle(slot: Slot<T>, id: number): void {
    if (!slot.sent.has(id)) return;
    slot.sent.delete(id);
    this.unanswered--;
    for (const w of this.waiters.splice(0)) w();
  }

  private fail(err: Error): void {
    this.failure ??= err;
  }

  private answered(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private async quiet(): Promise<void> {
    while (this.unanswered > 0) await this.answered();
  }

  /** Has the thread close its kept directory handle (a terminated thread would leave it open). */
  private async closeHandles(slot: Slot<T>): Promise<void> {
    // A thread that ended cannot answer. One that failed closed its handles as it answered; one
    // ended while stuck in a call (close's grace) leaves them open until the process exits.
    if (slot.gone) return;
    const id = this.nextId++;
    slot.sent.set(id, undefined);
    this.unanswered++;
    slot.worker.postMessage({ id, op: 'close' });
    while (slot.sent.has(id)) await this.answered();
  }
}
