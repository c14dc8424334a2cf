/**
 * A Storage that passes every operation to `inner`: decorators (retries, encryption, test
 * doubles) extend it and override only what they change, so a new member of the contract is
 * forwarded everywhere at once instead of by hand in each decorator.
 */
import type { Readable } from 'node:stream';
import type { Body, ObjectInfo, ReadOptions, Storage, StorageInfo } from './storage';

export class ForwardingStorage implements Storage {
  constructor(readonly inner: Storage) {}

  describe(): StorageInfo {
    return this.inner.describe();
  }

  put(key: string, body: Body, opts?: { signal?: AbortSignal }): Promise<void> {
    return this.inner.put(key, body, opts);
  }

  get(key: string, opts?: ReadOptions): Promise<Readable> {
    return this.inner.get(key, opts);
  }

  load<T>(key: string, consume: (body: Readable) => Promise<T>, opts?: ReadOptions): Promise<T> {
    return this.inner.load(key, consume, opts);
  }

  loadRange<T>(
    key: string,
    offset: number,
    length: number,
    consume: (body: Readable) => Promise<T>,
    opts?: ReadOptions,
  ): Promise<T> {
    return this.inner.loadRange(key, offset, length, consume, opts);
  }

  stat(key: string): Promise<ObjectInfo | undefined> {
    return this.inner.stat(key);
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix);
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }

  async cleanup(): Promise<number> {
    return (await this.inner.cleanup?.()) ?? 0;
  }
}
