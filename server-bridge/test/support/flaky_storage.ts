/**
 * A test double of an unreliable network in front of a real storage: the first `failures`
 * attempts of each call (per operation and key) fail with a transient StorageError, the way a
 * dropped connection does: a put after reading part of its body, a whole read (load, or
 * loadRange of a range) after handing the consumer part of the object (or range), a stream get before it opens, a listing after its
 * first key. Later attempts go through to the real storage untouched. `attempts` counts calls.
 */
import { Readable } from 'node:stream';
import { StorageError } from '../../src/core/errors';
import { openBody } from '../../src/storage/body';
import { ForwardingStorage } from '../../src/storage/forwarding_storage';
import type { Body, ObjectInfo, ReadOptions, Storage } from '../../src/storage/storage';

export class FlakyStorage extends ForwardingStorage {
  readonly attempts = new Map<string, number>();

  constructor(
    inner: Storage,
    private readonly failures = 1,
    private readonly only: (op: string, key: string) => boolean = () => true,
  ) {
    super(inner);
  }

  /** Counts the attempt; true while this call should still fail. */
  private failing(op: string, key: string): boolean {
    const id = `${op} ${key}`;
    const n = (this.attempts.get(id) ?? 0) + 1;
    this.attempts.set(id, n);
    return this.only(op, key) && n <= this.failures;
  }

  private dropped(what: string): StorageError {
    return new StorageError(`${what}: connection reset (injected)`);
  }

  override async put(key: string, body: Body, opts?: { signal?: AbortSignal }): Promise<void> {
    if (this.failing('put', key)) {
      // Part of the body went out before the connection dropped.
      const source = openBody(body);
      for await (const _ of source) break;
      source.destroy();
      throw this.dropped(`cannot upload ${key}`);
    }
    return this.inner.put(key, body, opts);
  }

  override async get(key: string, opts?: ReadOptions): Promise<Readable> {
    if (this.failing('get', key)) throw this.dropped(`cannot read ${key}`);
    return this.inner.get(key, opts);
  }

  override load<T>(key: string, consume: (body: Readable) => Promise<T>, opts?: ReadOptions): Promise<T> {
    if (!this.failing('load', key)) return this.inner.load(key, consume, opts);
    return this.inner.load(key, halfThenDrop(consume, this.dropped(`cannot read ${key}`)), opts);
  }

  override loadRange<T>(
    key: string,
    offset: number,
    length: number,
    consume: (body: Readable) => Promise<T>,
    opts?: ReadOptions,
  ): Promise<T> {
    if (!this.failing('loadRange', key)) return this.inner.loadRange(key, offset, length, consume, opts);
    return this.inner.loadRange(key, offset, length, halfThenDrop(consume, this.dropped(`cannot read ${key}`)), opts);
  }

  override async stat(key: string): Promise<ObjectInfo | undefined> {
    if (this.failing('stat', key)) throw this.dropped(`cannot stat ${key}`);
    return this.inner.stat(key);
  }

  override async delete(key: string): Promise<void> {
    if (this.failing('delete', key)) throw this.dropped(`cannot delete ${key}`);
    return this.inner.delete(key);
  }

  override async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const fail = this.failing('list', prefix);
    for await (const o of this.inner.list(prefix)) {
      yield o;
      if (fail) throw this.dropped(`cannot list ${prefix}`);
    }
  }
}

/** A consumer wrapped to get the first half of what the storage read, then a dropped connection. */
function halfThenDrop<T>(
  consume: (body: Readable) => Promise<T>,
  dropped: StorageError,
): (source: Readable) => Promise<T> {
  return async (source) => {
    const all: Buffer[] = [];
    for await (const c of source) all.push(c as Buffer);
    const whole = Buffer.concat(all);
    const half = whole.subarray(0, Math.floor(whole.length / 2));
    return consume(
      Readable.from(
        (async function* halfThenDropped() {
          if (half.length) yield half;
          throw dropped;
        })(),
        { objectMode: false },
      ),
    );
  };
}
