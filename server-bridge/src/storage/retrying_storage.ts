/**
 * Retries transient storage failures with exponential backoff and jitter, around any Storage
 * (restic's RetryBackend). Permanent errors (StorageError.permanent, NotFound, bad keys,
 * cancellation) fail at once. Every put is retried: bodies are replayable (a buffer, a file, or
 * a stream factory), so each attempt sends the whole body again. load (a whole read) and
 * loadRange (a whole read of a range) are retried from the start, the consumer called afresh; get (a stream) is retried until it opens, and a
 * failure after that reaches the reader, who may have used the bytes already. A listing that
 * fails midway restarts and skips what was already yielded.
 */
import type { Readable } from 'node:stream';
import { BridgeError, StorageError } from '../core/errors';
import { sleep } from '../core/sleep';
import { ForwardingStorage } from './forwarding_storage';
import type { Body, ObjectInfo, ReadOptions, Storage } from './storage';

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

export class RetryingStorage extends ForwardingStorage {
  constructor(
    inner: Storage,
    private readonly policy: RetryPolicy,
  ) {
    super(inner);
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

  override put(key: string, body: Body, opts?: { signal?: AbortSignal }): Promise<void> {
    return this.retry(`put ${key}`, () => this.inner.put(key, body, opts), opts?.signal);
  }

  override get(key: string, opts?: ReadOptions): Promise<Readable> {
    return this.retry(`get ${key}`, () => this.inner.get(key, opts), opts?.signal);
  }

  override load<T>(key: string, consume: (body: Readable) => Promise<T>, opts?: ReadOptions): Promise<T> {
    return this.retry(`get ${key}`, () => this.inner.load(key, consume, opts), opts?.signal);
  }

  override loadRange<T>(
    key: string,
    offset: number,
    length: number,
    consume: (body: Readable) => Promise<T>,
    opts?: ReadOptions,
  ): Promise<T> {
    return this.retry(
      `get ${key} (bytes ${offset}-${offset + length - 1})`,
      () => this.inner.loadRange(key, offset, length, consume, opts),
      opts?.signal,
    );
  }

  override stat(key: string): Promise<ObjectInfo | undefined> {
    return this.retry(`stat ${key}`, () => this.inner.stat(key));
  }

  override delete(key: string): Promise<void> {
    return this.retry(`delete ${key}`, () => this.inner.delete(key));
  }

  override async *list(prefix: string): AsyncIterable<ObjectInfo> {
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

  override cleanup(): Promise<number> {
    return this.retry('clean up interrupted writes', async () => (await this.inner.cleanup?.()) ?? 0);
  }
}
