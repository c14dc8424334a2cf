// What reading packed objects from a bucket costs when the files read in path order interleave
// many packs (hourly backups adding files to one day's directory, restored in path order): each
// pack is fetched whole at most once, and read by range after it was let go, so the bytes read
// stay near the objects' own, not a whole pack per object. Through encryption (a range is
// decrypted from the pack's start) small packs are held together, up to two full packs' bytes.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { isPlaintextKey } from '../../src/repository/layout';
import { Repository } from '../../src/repository/repository';
import { generateKeyPair } from '../../src/storage/age';
import { EncryptedStorage } from '../../src/storage/encrypted_storage';
import { ForwardingStorage } from '../../src/storage/forwarding_storage';
import { MemoryStorage } from '../../src/storage/memory_storage';
import type { ReadOptions, Storage } from '../../src/storage/storage';

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

/** 12 backups of 20 files of 20 kB with random names (like Mattermost's file ids) through `repo`, sorted by name. */
async function interleavedPacks(
  open: () => Promise<Repository>,
  list: Storage,
): Promise<Array<{ sha256: string; body: Buffer }>> {
  const files: Array<{ name: string; sha256: string; body: Buffer }> = [];
  for (let backup = 0; backup < 12; backup++) {
    const repo = await open();
    for (let i = 0; i < 20; i++) {
      const name = randomBytes(13).toString('hex');
      const body = randomBytes(20_000);
      await writeFile(path.join(work, name), body);
      const r = await repo.ingestFile(path.join(work, name), { size: body.length });
      files.push({ name, sha256: r.sha256, body });
    }
    await repo.packs.flush();
  }
  const packs: string[] = [];
  for await (const o of list.list('packs')) packs.push(o.key);
  expect(packs).toHaveLength(12);
  return files.sort((a, b) => a.name.localeCompare(b.name));
}

async function readAllBack(reader: Repository, files: Array<{ sha256: string }>): Promise<void> {
  for (const f of files) {
    const got = await reader.readObjectBytes(f.sha256);
    expect(createHash('sha256').update(got).digest('hex')).toBe(f.sha256);
  }
}

test('a bucket, 12 packs interleaved in path order: read back with under 3x the objects bytes from packs', async () => {
  const bucket = new MemoryStorage();
  const files = await interleavedPacks(() => Repository.open(bucket, { packs: true }), bucket);
  const counting = new CountingBucket(bucket);
  await readAllBack(await Repository.open(counting), files);
  const data = files.reduce((n, f) => n + f.body.length, 0);
  // Each pack whole at most once (1x) plus each object once more at most (1x); before: ~15x.
  expect(counting.packBytes / data).toBeLessThan(3);
});

test('an encrypted bucket, the same: under 3x the objects bytes of ciphertext read from packs', async () => {
  const { identity, recipient } = await generateKeyPair();
  const counting = new CountingBucket(new MemoryStorage());
  const encrypted = new EncryptedStorage(counting, { recipients: [recipient], identities: [identity] }, isPlaintextKey);
  await mkdir(path.join(work, 'stage'));
  const files = await interleavedPacks(
    () => Repository.open(encrypted, { packs: true, stagingDir: path.join(work, 'stage') }),
    counting,
  );
  counting.packBytes = 0;
  await readAllBack(await Repository.open(encrypted), files);
  const data = files.reduce((n, f) => n + f.body.length, 0);
  // Each pack's first object by range (decrypted from its start), then the pack whole once; before: ~17x.
  expect(counting.packBytes / data).toBeLessThan(3);
});
