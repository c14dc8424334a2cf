/**
 * Retries transient storage failures with exponential backoff and jitter, around any Storage.
 * Permanent errors (StorageError.permanent, NotFound, bad keys, cancellation) fail at once.
 * Streams cannot be replayed, so put() with a stream body and reads after get() has returned
 * are not retried; putFile, put(Buffer), getFile, stat, list and delete are.
 */
import type { Readable } from 'node:stream';
import { BridgeError, StorageError } from '../core/errors';
import type { ObjectInfo, Storage } from './storage';

export interface RetryPolicy {
  /** Total tries per operation, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Told before each retry, e.g. to log "S3 unreachable, retrying in 4 s". */
  onRetry?: (info: { op: string; attempt: number; delayMs: number; error: Error }) => void;
}

export function isTransient(err: unknown): boolean {
  if (err instanceof StorageError) return !err.permanent;
  if (err instanceof BridgeError) return false; // NotFound, Cancelled, …
  // Anything else (invalid key TypeError, AbortError, programming errors) is not worth repeating.
  return false;
}

export class RetryingStorage implements Storage {
  constructor(readonly inner: Storage, private readonly policy: RetryPolicy) {}

  describe() {
    return this.inner.describe();
  }

  stagingDir() {
    return this.inner.stagingDir();
  }

  space() {
    return this.inner.space();
  }

  flush() {
    return this.retry('flush', () => this.inner.flush());
  }

  /** Runs `fn` until it succeeds, fails permanently, the signal aborts or attempts run out. */
  async retry<T>(op: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!isTransient(err) || attempt >= this.policy.attempts || signal?.aborted) throw err;
        const exp = Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** (attempt - 1));
        const delayMs = Math.round(exp / 2 + Math.random() * (exp / 2));
        this.policy.onRetry?.({ op, attempt, delayMs, error: err as Error });
        await sleep(delayMs, signal);
      }
    }
  }

  put(key: string, body: Readable | Buffer, opts?: { signal?: AbortSignal }): Promise<void> {
    if (!Buffer.isBuffer(body)) return this.inner.put(key, body, opts);
    return this.retry(`put ${key}`, () => this.inner.put(key, body, opts), opts?.signal);
  }

  putFile(key: string, file: string, opts?: { signal?: AbortSignal; move?: boolean; deferSync?: boolean }): Promise<void> {
    return this.retry(`put ${key}`, () => this.inner.putFile(key, file, opts), opts?.signal);
  }

  get(key: string, opts?: { signal?: AbortSignal }): Promise<Readable> {
    return this.retry(`get ${key}`, () => this.inner.get(key, opts), opts?.signal);
  }

  getFile(key: string, dest: string, opts?: { signal?: AbortSignal }): Promise<void> {
    return this.retry(`get ${key}`, () => this.inner.getFile(key, dest, opts), opts?.signal);
  }

  stat(key: string): Promise<ObjectInfo | undefined> {
    return this.retry(`stat ${key}`, () => this.inner.stat(key));
  }

  delete(key: string): Promise<void> {
    return this.retry(`delete ${key}`, () => this.inner.delete(key));
  }

  /** A listing that fails midway restarts and skips what was already yielded (lists are lexical). */
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let last: string | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        for await (const o of this.inner.list(prefix)) {
          if (last !== undefined && o.key <= last) continue;
          last = o.key;
          yield o;
        }
        return;
      } catch (err) {
        if (!isTransient(err) || attempt >= this.policy.attempts) throw err;
        const delayMs = Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** (attempt - 1));
        this.policy.onRetry?.({ op: `list ${prefix}`, attempt, delayMs, error: err as Error });
        await sleep(delayMs);
      }
    }
  }

  async cleanStaging(): Promise<number> {
    return this.retry('clean staging', async () => (await this.inner.cleanStaging?.()) ?? 0);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(t); reject(signal?.reason); };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
