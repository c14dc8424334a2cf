/**
 * Reading and hashing files off the main thread, a few at a time: a small pool of worker threads
 * (hash_worker.ts has their code and the protocol). The main thread keeps walking directories,
 * answering HTTP and writing progress while the workers read and hash; on a machine with several
 * cores, files are hashed in parallel.
 *
 * Lifecycle: workers start on demand, up to `size`; a busy worker keeps the process alive (its
 * caller is waiting), an idle one does not (unref'd) and is terminated after `idleMs`, so a CLI
 * run exits as soon as its work is done and a long-running sidecar gives the threads' memory back
 * between jobs. An aborted call stops its worker at the next chunk (it closes its files and
 * removes a half-written copy itself); one that does not answer within `abortGraceMs` (a read
 * stuck in the kernel) is terminated.
 *
 * Memory: every file goes through its worker in chunks, never whole, so the file bytes in memory
 * are each worker's two chunk buffers (`size` × 2 × `chunkSize`: 256 KiB at the defaults on 2
 * cores), whatever the files' sizes and however many calls wait. Files of up to 4 MiB used to be
 * read whole by the workers and handed to the main thread (16 MiB of them at a time): buffers of
 * every size, from the workers' malloc arenas, which keep memory after it is freed. A full backup
 * of 2 GB of attachments peaked at 242-278 MB that way, and at 170-189 MB with chunked copies.
 */
import { createHash } from 'node:crypto';
import { closeSync, readSync } from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { BridgeError, CancelledError } from '../core/errors';
import { FileOpError, type FileOpFields } from './file_op_error';
import { copyHere, hashHere } from './hash_here';
import { HASH_WORKER_SOURCE } from './hash_worker';
import type { Meta } from './file_meta';
import { openListed, openListedSync, type Listed } from './source_open';

export interface FileDigest {
  sha256: string;
  /** Bytes hashed: what was read, which is the file's size unless it changed while being read. */
  size: number;
  /** The metadata of the file read when it is not the one listed but one put at its path since (source_open.ts). */
  replaced?: Meta;
}

/** A small file read whole (readSmall): its digest and exactly the bytes hashed. */
export interface WholeFile extends FileDigest {
  bytes: Buffer;
}

/** An operation stopped by its AbortSignal: named and coded like Node's own AbortError. */
export class HashAbortError extends Error {
  readonly code = 'ABORT_ERR';
  constructor(opts?: { cause?: unknown }) {
    super('the operation was aborted', opts);
    this.name = 'AbortError';
  }
}

type Request = { op: 'hash'; file: string } | { op: 'copy'; file: string; dest: string; listed?: Listed };

type Reply =
  | { id: number; ok: true; sha256?: string; size?: number; replaced?: Meta }
  | { id: number; ok: false; error: FileOpFields };

type Success = Extract<Reply, { ok: true }>;

interface Task {
  id: number;
  request: Request;
  resolve: (r: Success) => void;
  reject: (err: Error) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
  slot?: Slot;
  /** Run on this thread (no worker could start): it stops itself on abort, at its next chunk. */
  here?: true;
  done: boolean;
}

interface Slot {
  worker: Worker;
  stop: Int32Array;
  task?: Task;
  idleTimer?: NodeJS.Timeout;
  graceTimer?: NodeJS.Timeout;
}

export interface HashPoolOptions {
  /** Worker threads at most; default: the cores available, 2 to 4. */
  size?: number;
  /** An idle worker is terminated after this long (ms). */
  idleMs?: number;
  /** How long an aborted worker may take to stop before it is terminated (ms). */
  abortGraceMs?: number;
  /**
   * Bytes read per system call; each worker holds two buffers of this size (a copy reads into one
   * while the other is written). 64 KiB measured fastest for a 1 GiB copy on an idle 2-core machine
   * (about 1.1 s, against 1.6-2.1 s at 32, 128 or 256 KiB and about twice that at 1 MiB).
   */
  chunkSize?: number;
}

/** The default number of workers: one per available core, at least 2 (reads overlap hashing), at most 4. */
export function defaultPoolSize(): number {
  return Math.min(4, Math.max(2, os.availableParallelism()));
}

export class HashPool {
  private readonly size: number;
  private readonly idleMs: number;
  private readonly graceMs: number;
  private readonly chunkSize: number;
  private readonly slots = new Set<Slot>();
  private readonly idle: Slot[] = [];
  /** Terminations under way (a worker stuck in a read exits when the read returns). */
  private readonly exiting = new Set<Promise<unknown>>();
  private queue: Task[] = [];
  private head = 0;
  private nextId = 1;
  private closed = false;
  /** Tasks run on this thread because no worker could start (hash_here.ts), at most `size` at once. */
  private readonly here = new Set<Promise<void>>();
  /** No worker is started again before this time (ms) once one failed to start. */
  private retryAt = 0;
  /** Why the last worker could not start, until one does. */
  private startFailure: string | undefined;
  /** Workers that could not start, and why the last did not: see threadsUnavailable. */
  startFailures = 0;
  lastStartFailure: string | undefined;

  constructor(opts: HashPoolOptions = {}) {
    this.size = Math.max(1, opts.size ?? defaultPoolSize());
    this.idleMs = opts.idleMs ?? 2000;
    this.graceMs = opts.abortGraceMs ?? 2000;
    this.chunkSize = opts.chunkSize ?? 64 * 1024;
  }

  /** Worker threads alive now (busy or idle). */
  get threads(): number {
    return this.slots.size;
  }

  /**
   * When a worker thread cannot be started (the process or its container is at its thread limit),
   * the pool works with the workers it has or, with none, on this thread; startFailures counts
   * such failures (a caller compares it before and after its work) and lastStartFailure says why.
   */

  /** Reads `file` to its end and hashes it. */
  async hash(file: string, opts: { signal?: AbortSignal } = {}): Promise<FileDigest> {
    const r = await this.run({ op: 'hash', file }, opts.signal);
    return { sha256: r.sha256 ?? '', size: r.size ?? 0 };
  }

  /**
   * Copies `file` into `dest` (created with mode 0600; it must not exist) and returns the digest
   * of exactly the bytes written. On failure or abort `dest` does not remain. With `listed`, the
   * source is checked as source_open.ts's openListed does (`replaced` in the answer).
   */
  async copy(file: string, dest: string, opts: { signal?: AbortSignal; listed?: Listed } = {}): Promise<FileDigest> {
    const r = await this.run({ op: 'copy', file, dest, listed: opts.listed }, opts.signal);
    return { sha256: r.sha256 ?? '', size: r.size ?? 0, replaced: r.replaced };
  }

  /**
   * Fails what is queued and running, terminates every worker and resolves once their threads have
   * exited; calls made afterwards start the pool again.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.queue.slice(this.head)) this.settle(t, new CancelledError('the hash pool was closed'));
    this.queue = [];
    this.head = 0;
    for (const s of [...this.slots]) void this.retire(s, new CancelledError('the hash pool was closed'));
    await Promise.all([...this.exiting, ...this.here]);
    this.closed = false;
  }

  private run(request: Request, signal?: AbortSignal): Promise<Success> {
    if (signal?.aborted) return Promise.reject(new HashAbortError({ cause: signal.reason }));
    if (this.closed) return Promise.reject(new CancelledError('the hash pool is closing'));
    return new Promise<Success>((resolve, reject) => {
      const task: Task = { id: this.nextId++, request, resolve, reject, signal, done: false };
      if (signal) {
        task.onAbort = () => {
          this.abort(task);
        };
        signal.addEventListener('abort', task.onAbort, { once: true });
      }
      this.queue.push(task);
      this.pump();
    });
  }

  private abort(task: Task): void {
    if (task.here) return; // it stops at its next chunk, its copy removed, and fails then
    const slot = task.slot;
    if (!slot) {
      // Still queued: it never reaches a worker (pump skips settled tasks).
      this.settle(task, new HashAbortError({ cause: task.signal?.reason }));
      return;
    }
    // Running: the worker stops at its next chunk, closes its files and answers ABORT_ERR. One that
    // does not answer in time (stuck in a read) is terminated; the call fails either way.
    Atomics.store(slot.stop, 0, 1);
    slot.graceTimer = setTimeout(() => {
      if (slot.task !== task) return;
      void this.retire(slot, new HashAbortError({ cause: task.signal?.reason }));
    }, this.graceMs);
    slot.graceTimer.unref();
  }

  private settle(task: Task, outcome: Error | Success): void {
    if (task.done) return;
    task.done = true;
    if (task.onAbort) task.signal?.removeEventListener('abort', task.onAbort);
    if (outcome instanceof Error) task.reject(outcome);
    else task.resolve(outcome);
  }

  private pump(): void {
    while (this.head < this.queue.length) {
      const task = this.queue[this.head];
      if (!task) break;
      if (task.done) {
        this.head++;
        continue;
      }
      const slot = this.idle.pop() ?? (this.slots.size < this.size ? this.trySpawn() : undefined);
      if (!slot) {
        // No worker could start and none is alive to take it: this thread does it.
        if (this.slots.size || this.startFailure === undefined || this.here.size >= this.size) break;
        this.head++;
        this.runHere(task);
        continue;
      }
      this.head++;
      this.assign(slot, task);
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private assign(slot: Slot, task: Task): void {
    clearTimeout(slot.idleTimer);
    slot.idleTimer = undefined;
    Atomics.store(slot.stop, 0, 0);
    slot.task = task;
    task.slot = slot;
    // Busy: the caller awaits this answer, so the worker must keep the process alive until it comes.
    slot.worker.ref();
    slot.worker.postMessage({ id: task.id, ...task.request });
  }

  /** spawn(), or undefined when no thread can be started now (ERR_WORKER_INIT_FAILED: EAGAIN); tried again after a second. */
  private trySpawn(): Slot | undefined {
    if (this.startFailure !== undefined && Date.now() < this.retryAt) return undefined;
    try {
      const slot = this.spawn();
      this.startFailure = undefined;
      return slot;
    } catch (err) {
      this.startFailure = (err as Error).message;
      this.startFailures++;
      this.lastStartFailure = this.startFailure;
      this.retryAt = Date.now() + 1000;
      return undefined;
    }
  }

  /** Does `task` on this thread (hash_here.ts), as a worker would. */
  private runHere(task: Task): void {
    task.here = true;
    const r = task.request;
    const stopped = (): Error | undefined => {
      if (task.signal?.aborted) return new HashAbortError({ cause: task.signal.reason });
      return this.closed ? new CancelledError('the hash pool was closed') : undefined;
    };
    const work =
      r.op === 'hash'
        ? hashHere(r.file, stopped, this.chunkSize)
        : copyHere(r.file, r.dest, r.listed, stopped, this.chunkSize);
    const done = work
      .then(
        (d) => this.settle(task, { id: task.id, ok: true, ...d }),
        (err: unknown) => this.settle(task, err instanceof Error ? err : new Error(String(err))),
      )
      .finally(() => {
        this.here.delete(done);
        this.pump();
      });
    this.here.add(done);
  }

  private spawn(): Slot {
    const stop = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(HASH_WORKER_SOURCE, {
      eval: true,
      workerData: { stop: stop.buffer, chunkSize: this.chunkSize },
      // The worker's heap only holds small objects; file bytes live in its two chunk buffers.
      resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 },
    });
    const slot: Slot = { worker, stop };
    this.slots.add(slot);
    worker.on('message', (reply: Reply) => {
      this.answer(slot, reply);
    });
    worker.on('error', (err: Error) => {
      void this.retire(slot, new BridgeError('INTERNAL', `a hash worker failed: ${err.message}`, { cause: err }));
    });
    worker.on('exit', (code) => {
      void this.retire(slot, new BridgeError('INTERNAL', `a hash worker stopped (exit code ${code})`));
    });
    return slot;
  }

  private answer(slot: Slot, reply: Reply): void {
    const task = slot.task;
    if (!task || task.id !== reply.id) return;
    clearTimeout(slot.graceTimer);
    slot.graceTimer = undefined;
    slot.task = undefined;
    task.slot = undefined;
    if (reply.ok) this.settle(task, reply);
    else if (reply.error.code === 'ABORT_ERR') this.settle(task, new HashAbortError({ cause: task.signal?.reason }));
    else this.settle(task, new FileOpError(reply.error));
    this.release(slot);
  }

  /** A worker done with its task takes the next one, or idles (not keeping the process alive). */
  private release(slot: Slot): void {
    if (!this.slots.has(slot)) return;
    this.idle.push(slot);
    this.pump();
    if (slot.task) return;
    slot.worker.unref();
    slot.idleTimer = setTimeout(() => {
      if (!slot.task) void this.retire(slot, new CancelledError('idle'));
    }, this.idleMs);
    slot.idleTimer.unref();
  }

  /** Removes a worker from the pool, failing its task with `reason`, and terminates it. */
  private async retire(slot: Slot, reason: Error): Promise<void> {
    if (!this.slots.has(slot)) return;
    this.slots.delete(slot);
    const i = this.idle.indexOf(slot);
    if (i >= 0) this.idle.splice(i, 1);
    clearTimeout(slot.idleTimer);
    clearTimeout(slot.graceTimer);
    const task = slot.task;
    slot.task = undefined;
    if (task) {
      task.slot = undefined;
      this.settle(task, reason);
    }
    slot.worker.unref();
    // The queue may still hold work a new worker can take.
    this.pump();
    const exit = slot.worker.terminate().catch(() => undefined);
    this.exiting.add(exit);
    await exit;
    this.exiting.delete(exit);
  }
}

/**
 * Reads a small file whole on this thread (libuv's threads do the I/O) and hashes it: for files so
 * small that handing them to a worker costs more than the hashing it saves. The bytes returned
 * are the bytes hashed; undefined when the file has more than `limit` bytes (also when it grew
 * past it since fstat). It is opened and checked as source_open.ts's openListed says (`listed`:
 * the walk's identity for it): a path that is not a regular file fails with FileOpError EFTYPE
 * instead of blocking (a FIFO) or reading a device, one reached through a moved directory with
 * EMOVED; fs errors keep Node's codes (ENOENT).
 */
export async function readSmall(
  file: string,
  limit: number,
  opts: { signal?: AbortSignal; listed?: Listed } = {},
): Promise<WholeFile | undefined> {
  if (opts.signal?.aborted) throw new HashAbortError({ cause: opts.signal.reason });
  const { handle: fh, st, replaced } = await openListed(file, opts.listed);
  try {
    const size = Number(st.size);
    if (size > limit) return undefined;
    // One read asks for a byte more than fstat gave: a regular file's read is short only at its
    // end, so getting that byte means the file grew since, and it is staged instead.
    const buf = Buffer.allocUnsafe(size + 1);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    if (bytesRead > size) return undefined;
    if (opts.signal?.aborted) throw new HashAbortError({ cause: opts.signal.reason });
    const bytes = buf.subarray(0, bytesRead);
    return { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytesRead, bytes, replaced };
  } finally {
    await fh.close();
  }
}

/**
 * readSmall with synchronous calls, for the walk's synchronous bursts (a warm cache answers each
 * call in microseconds, less than one trip through libuv's thread pool). Same rules and errors.
 */
export function readSmallSync(file: string, limit: number, listed?: Listed): WholeFile | undefined {
  const { handle: fd, st, replaced } = openListedSync(file, listed);
  try {
    const size = Number(st.size);
    if (size > limit) return undefined;
    const buf = Buffer.allocUnsafe(size + 1);
    let got = 0;
    for (;;) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
      if (got > size) return undefined; // it grew since fstat: staged like a large file
    }
    const bytes = buf.subarray(0, got);
    return { sha256: createHash('sha256').update(bytes).digest('hex'), size: got, bytes, replaced };
  } finally {
    closeSync(fd);
  }
}

let shared: HashPool | undefined;

/** The process's pool, shared by every repository (the cores are the process's, not a repository's). */
export function sharedHashPool(): HashPool {
  shared ??= new HashPool();
  return shared;
}
