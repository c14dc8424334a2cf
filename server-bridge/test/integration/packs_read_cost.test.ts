// What reading packed objects from a bucket costs when the files read in path order interleave
// many packs (hourly backups adding files to one day's directory, restored in path order): each
// pack is fetched whole at most once, and read by range after it was let go, so the bytes read
// stay near the objects' own, not a whole pack per object.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Repository } from '../../src/repository/repository';
import { ForwardingStorage } from '../../src/storage/forwarding_storage';
import { MemoryStorage } from '../../src/storage/memory_storage';
import type { ReadOptions } from '../../src/storage/storage';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'packs-cost-'));
});
afterEach(() => rm(work, { recursive: true, force: true }));

/** A bucket that counts the bytes its readers take out of packs/. */
class CountingBucket extends ForwardingStorage {
  packBytes = 0;
  private counted<T>(key: string, consume: (body: Readable) => Promise<T>): (body: Readable) => Promise<T> {
    if (!key.startsWith('packs/')) return consume;
    return (body) => {
      body.on('data', (c: Buffer) => {
        this.packBytes += c.length;
      });
      return consume(body);
    };
  }
  override load<T>(key: string, consume: (body: Readable) => Promise<T>, opts?: ReadOptions): Promise<T> {
    return super.load(key, this.counted(key, consume), opts);
  }
  override loadRange<T>(
    key: string,
    offset: number,
    length: number,
    consume: (body: Readable) => Promise<T>,
    opts?: ReadOptions,
  ): Promise<T> {
    return super.loadRange(key, offset, length, this.counted(key, consume), opts);
  }
}

test('12 packs interleaved in path order: read back with under 3x the objects bytes from packs', async () => {
  const bucket = new MemoryStorage();
  const files: Array<{ name: string; sha256: string; body: Buffer }> = [];
  for (let backup = 0; backup < 12; backup++) {
    const repo = await Repository.open(bucket, { packs: true });
    for (let i = 0; i < 20; i++) {
      const name = randomBytes(13).toString('hex'); // like Mattermost's random file ids
      const body = randomBytes(20_000);
      await writeFile(path.join(work, name), body);
      const r = await repo.ingestFile(path.join(work, name), { size: body.length });
      files.push({ name, sha256: r.sha256, body });
    }
    await repo.packs.flush();
  }
  const packs: string[] = [];
  for await (const o of bucket.list('packs')) packs.push(o.key);
  expect(packs).toHaveLength(12);

  files.sort((a, b) => a.name.localeCompare(b.name));
  const counting = new CountingBucket(bucket);
  const reader = await Repository.open(counting);
  const data = files.reduce((n, f) => n + f.body.length, 0);
  for (const f of files) {
    const got = await reader.readObjectBytes(f.sha256);
    expect(createHash('sha256').update(got).digest('hex')).toBe(f.sha256);
  }
  // Each pack whole at most once (1x) plus each object once more at most (1x); before: ~15x.
  expect(counting.packBytes / data).toBeLessThan(3);
});
