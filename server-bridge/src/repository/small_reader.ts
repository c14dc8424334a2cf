/**
 * A second thread for a backup's small files: it opens, reads and hashes them in batches while
 * the main thread walks and packs. A first backup of a file store is one core's work without it,
 * three quarters of it system calls, and open, read, close and the hash are a third of that
 * (docs/performance.md, "First backup at 1M").
 *
 * Memory is bounded by the slabs (shared buffers reused batch after batch), whatever the tree.
 * The thread answers through shared memory, not a message: the caller polls between files and
 * takes a finished batch up at once, so a file waits a few batches at most, not until the main
 * thread's event loop turns; waiting objects are what V8 promotes, and promotion sets the peak.
 *
 * A file the thread could not read whole (vanished, grew, not a regular file, an error) comes
 * back to the caller's `onMissed`, which reads it as if there were no thread, so every outcome
 * stays the caller's. A thread that fails or ends hands all its files back the same way.
 */
import { Worker } from 'node:worker_threads';
import { BridgeError, throwIfAborted } from '../core/errors';
import { SMALL_READER_SOURCE } from './small_reader_worker';
import type { Listed } from './source_open';

export interface SmallReaderOptions<T> {
  /** The largest file the thread reads (larger ones are missed). */
  limit: number;
  /** Batches out at once (default 4). */
  slabs?: number;
  /** Files a batch carries at most (default 64). */
  batchFiles?: number;
  /** Expected bytes a batch carries at most (default 512 KiB); its slab holds this plus one file. */
  batchBytes?: number;
  signal?: AbortSignal;
  /**
   * A file read whole and hashed; `bytes` is valid during the call only (the slab is reused).
   * False: the caller could not take it now, and it is handed to onMissed like a file not read.
   */
  onRead: (tag: T, sha256: string, bytes: Buffer) => boolean;
  /** A file the thread did not read: the caller reads it itself (`listed` as it was added). */
  onMissed: (tag: T, file: string, listed: Listed | undefined) => Promise<void> | void;
}

const SENT = 1;
const DONE = 2;
/** Atomics.waitAsync (Node 16+; TypeScript lists it from lib es2024 on, past our target). */
const atomics = Atomics as unknown as {
  waitAsync(a: Int32Array, index: number, value: number, ms: number): { async: boolean; value: unknown };
};
/** How often a wait for the thread looks at the signal. */
const WAIT_MS = 200;

interface Slab {
  data: Buffer;
  info: Int32Array;
  hashes: Buffer;
}

interface Batch<T> {
  slab: number;
  paths: string[];
  /** Each file's identity when the walk listed it (null: not checked); see source_open.ts. */
  listed: Array<Listed | null>;
  tags: T[];
  bytes: number;
}

/** One reading thread and its slabs; `close()` must be called (it ends the thread). Not safe for concurrent callers. */
export class SmallReader<T> {
  private readonly worker: Worker;
  private readonly ctrl = new Int32Array(new SharedArrayBuffer(4 * 8));
  private readonly slabs: Slab[] = [];
  private readonly free: number[] = [];
  private readonly sent: Array<Batch<T>> = [];
  private readonly batchFiles: number;
  private readonly batchBytes: number;
  private current: Batch<T> | undefined;
  /** Why the thread is gone (it failed or ended): its files were handed back. */
  lost: string | undefined;

  constructor(private readonly opts: SmallReaderOptions<T>) {
    const count = Math.min(7, Math.max(1, opts.slabs ?? 4));
    this.batchFiles = Math.max(1, opts.batchFiles ?? 64);
    this.batchBytes = Math.max(1, opts.batchBytes ?? 512 * 1024);
    const shared = [];
    for (let i = 0; i < count; i++) {
      const s = {
        data: new SharedArrayBuffer(this.batchBytes + opts.limit + 1),
        info: new SharedArrayBuffer(3 * 4 * this.batchFiles),
        hashes: new SharedArrayBuffer(32 * this.batchFiles),
      };
      shared.push(s);
      this.slabs.push({ data: Buffer.from(s.data), info: new Int32Array(s.info), hashes: Buffer.from(s.hashes) });
      this.free.push(i);
    }
    this.worker = new Worker(SMALL_READER_SOURCE, {
      eval: true,
      workerData: { ctrl: this.ctrl.buffer, slabs: shared, limit: opts.limit },
      // The bytes are in the slabs; the thread's heap holds a batch's names.
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 },
    });
    // A thread gone wakes every wait on its slabs (done() then sees `lost`).
    const gone = (why: string) => {
      this.lost ??= why;
      for (let i = 0; i < count; i++) Atomics.notify(this.ctrl, 1 + i);
    };
    this.worker.on('error', (err: Error) => gone(`failed: ${err.message}`));
    this.worker.on('exit', (code) => gone(`ended (exit code ${code})`));
  }

  /** Whether files are queued that were not sent yet. */
  get filling(): boolean {
    return this.current !== undefined;
  }

  /** Whether batches were sent that were not taken up yet (next() waits for the oldest). */
  get outstanding(): boolean {
    return this.sent.length > 0;
  }

  /**
   * Queues `file` (`size` bytes when listed); a promise only when the call must wait for a free
   * slab. With `listed`, a file that is not the one listed, or not at exactly its path, is missed
   * (source_open.ts's openListed: the caller's own read then decides what that means).
   */
  add(file: string, size: number, tag: T, listed?: Listed): Promise<void> | undefined {
    this.current ??= { slab: -1, paths: [], listed: [], tags: [], bytes: 0 };
    const b = this.current;
    b.paths.push(file);
    b.listed.push(listed ?? null);
    b.tags.push(tag);
    b.bytes += size;
    if (b.paths.length < this.batchFiles && b.bytes < this.batchBytes) return undefined;
    return this.send();
  }

  /** Takes up every batch the thread has finished, oldest first; a promise only while a missed file is read. */
  poll(): Promise<void> | undefined {
    while (this.sent.length) {
      const b = this.sent[0] as Batch<T>;
      if (Atomics.load(this.ctrl, 1 + b.slab) !== DONE) return undefined;
      const missed = this.takeUp(b, false);
      if (missed) return missed.then(() => this.poll());
    }
    return undefined;
  }

  /** Waits for the oldest batch out (sending the one being filled when none is) and takes it up. */
  async next(): Promise<void> {
    if (!this.sent.length) {
      if (!this.current) throw new BridgeError('INTERNAL', 'the small-file reader holds no such file');
      await this.send();
      if (!this.sent.length) return; // the thread is gone: the batch was handed back
    }
    const b = this.sent[0] as Batch<T>;
    await this.done(b.slab);
    await this.takeUp(b, this.lost !== undefined && Atomics.load(this.ctrl, 1 + b.slab) !== DONE);
  }

  /** Sends what is being filled now, full or not; undefined when there is nothing. */
  flush(): Promise<void> | undefined {
    return this.current ? this.send() : undefined;
  }

  /** Sends what is being filled and takes up every batch. */
  async drain(): Promise<void> {
    if (this.current) await this.send();
    while (this.sent.length) await this.next();
  }

  /** Stops the thread at its next file and ends it; nothing may be added afterwards. */
  async close(): Promise<void> {
    this.current = undefined;
    Atomics.store(this.ctrl, 0, 1);
    let timer: NodeJS.Timeout | undefined;
    // A thread stuck in a call is not waited for past 5 s (terminate() returns only when it is out).
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 5000);
      timer.unref();
    });
    await Promise.race([this.worker.terminate().catch(() => undefined), grace]);
    clearTimeout(timer);
    // One stuck in a call (a hung network file) must not keep the process alive once it may exit.
    this.worker.unref();
  }

  private async send(): Promise<void> {
    const b = this.current;
    if (!b) return;
    this.current = undefined;
    while (!this.free.length && this.lost === undefined) await this.next();
    if (this.lost !== undefined) {
      await this.takeUp(b, true);
      return;
    }
    b.slab = this.free.pop() as number;
    Atomics.store(this.ctrl, 1 + b.slab, SENT);
    this.sent.push(b);
    this.worker.postMessage({ slab: b.slab, paths: b.paths, listed: b.listed });
  }

  /** Waits until the thread finished `slab`, or is gone. */
  private async done(slab: number): Promise<void> {
    while (Atomics.load(this.ctrl, 1 + slab) !== DONE && this.lost === undefined) {
      throwIfAborted(this.opts.signal);
      // Bounded, and woken by the thread's end too: a wait never outlives the thread.
      const w = atomics.waitAsync(this.ctrl, 1 + slab, SENT, WAIT_MS);
      if (w.async) await w.value;
    }
  }

  /** Hands a finished batch's files to the caller (all of them to onMissed when `lost`) and frees its slab. */
  private takeUp(b: Batch<T>, lost: boolean): Promise<void> | undefined {
    if (b.slab >= 0 && this.sent.shift() !== b) {
      throw new BridgeError('INTERNAL', 'the small-file reader took batches up out of order');
    }
    let missed: number[] | undefined;
    const slab = b.slab >= 0 ? this.slabs[b.slab] : undefined;
    for (let i = 0; i < b.tags.length; i++) {
      if (lost || !slab || slab.info[3 * i] !== 0) {
        (missed ??= []).push(i);
        continue;
      }
      const at = slab.info[3 * i + 1] as number;
      const len = slab.info[3 * i + 2] as number;
      const sha256 = slab.hashes.toString('hex', 32 * i, 32 * i + 32);
      if (!this.opts.onRead(b.tags[i] as T, sha256, slab.data.subarray(at, at + len))) (missed ??= []).push(i);
    }
    if (b.slab >= 0 && !lost) this.free.push(b.slab);
    if (!missed) return undefined;
    const list = missed;
    return (async () => {
      for (const i of list) await this.opts.onMissed(b.tags[i] as T, b.paths[i] as string, b.listed[i] ?? undefined);
    })();
  }
}
