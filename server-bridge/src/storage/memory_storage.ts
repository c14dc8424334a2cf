/**
 * A storage in memory: the same contract as the others (the contract suite runs against it), for
 * fast unit tests of the repository and of plans. A put reads the whole body before the key
 * appears, so it is atomic; nothing survives the process.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { NotFoundError } from '../core/errors';
import { openBody } from './body';
import { assertRange, OutOfRangeError } from './range';
import {
  assertKey,
  isFileBody,
  type Body,
  type ObjectInfo,
  type ReadOptions,
  type Storage,
  type StorageInfo,
} from './storage';
import { rm } from 'node:fs/promises';

export class MemoryStorage implements Storage {
  private readonly objects = new Map<string, Buffer>();

  constructor(private readonly name = 'memory') {}

  describe(): StorageInfo {
    return { kind: 'memory', location: `memory:${this.name}` };
  }

  async put(key: string, body: Body, opts: { signal?: AbortSignal } = {}): Promise<void> {
    assertKey(key);
    const chunks: Buffer[] = [];
    await pipeline(
      openBody(body),
      async (source: AsyncIterable<Buffer>) => {
        for await (const c of source) chunks.push(c);
      },
      { signal: opts.signal },
    );
    this.objects.set(key, Buffer.concat(chunks));
    if (isFileBody(body) && body.consume) await rm(body.file, { force: true });
  }

  private bytes(key: string): Buffer {
    assertKey(key);
    const b = this.objects.get(key);
    if (!b) throw new NotFoundError(`cannot read ${key}: not found`);
    return b;
  }

  async get(key: string): Promise<Readable> {
    return Readable.from([this.bytes(key)]);
  }

  async load<T>(key: string, consume: (body: Readable) => Promise<T>, _opts?: ReadOptions): Promise<T> {
    return consume(await this.get(key));
  }

  async loadRange<T>(
    key: string,
    offset: number,
    length: number,
    consume: (body: Readable) => Promise<T>,
    _opts?: ReadOptions,
  ): Promise<T> {
    assertKey(key);
    assertRange(offset, length);
    if (length === 0) return consume(Readable.from([]));
    const b = this.bytes(key);
    if (offset + length > b.length) throw new OutOfRangeError(key, offset, length, b.length);
    // A copy: the consumer must not see (or change) the stored buffer.
    return consume(Readable.from([Buffer.from(b.subarray(offset, offset + length))]));
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    assertKey(key);
    const b = this.objects.get(key);
    return b ? { key, size: b.length } : undefined;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const base = prefix.replace(/\/+$/, '');
    if (base) assertKey(base);
    const keys = [...this.objects.keys()].filter((k) => !base || k.startsWith(`${base}/`)).sort();
    for (const key of keys) {
      const b = this.objects.get(key);
      if (b) yield { key, size: b.length };
    }
  }

  async delete(key: string): Promise<void> {
    assertKey(key);
    this.objects.delete(key);
  }
}
