// Packs stored during a backup into a storage slower than the disk (a bucket): the backup waits
// once two finished packs are queued, so staging holds a bounded number of packs; a pack store
// that fails fails the backup (at the next add and at flush, before any manifest), and the next
// job starts clean.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { StorageError } from '../../src/core/errors';
import { collectEntries } from '../../src/manifest/entry_list';
import { Repository } from '../../src/repository/repository';
import { backupTree } from '../../src/repository/tree_backup';
import { ForwardingStorage } from '../../src/storage/forwarding_storage';
import { MemoryStorage } from '../../src/storage/memory_storage';
import { readBuffer, type Body } from '../../src/storage/storage';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'packs-store-'));
});
afterEach(() => rm(work, { recursive: true, force: true }));

/** A bucket whose pack uploads wait for `open()` (or fail while `failing`). */
class GatedStorage extends ForwardingStorage {
  private release: (() => void) | undefined;
  private gate: Promise<void> = new Promise((r) => {
    this.release = r;
  });
  failing = false;
  packPuts = 0;

  open(): void {
    this.release?.();
  }

  override async put(key: string, body: Body, opts?: { signal?: AbortSignal }): Promise<void> {
    if (key.startsWith('packs/')) {
      this.packPuts++;
      if (this.failing) throw new StorageError(`put ${key}: access denied`, { permanent: true });
      await this.gate;
    }
    return super.put(key, body, opts);
  }
}

async function tree(root: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const dir = path.join(root, `d${i % 7}`);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, `f${i}`), randomBytes(1000));
  }
}

const staged = async (dir: string) => (await readdir(dir)).filter((f) => f.startsWith('pack-')).length;

test('a slow bucket: the backup waits with at most a few packs staged, then stores them all', async () => {
  const storage = new GatedStorage(new MemoryStorage());
  const stage = path.join(work, 'stage');
  await mkdir(stage);
  const repo = await Repository.open(storage, { packs: true, stagingDir: stage, packTargets: { targetSize: 2048 } });
  const root = path.join(work, 'tree');
  await tree(root, 80);
  let done = false;
  const backup = backupTree({ root, exclude: [], repo }).then(async (r) => {
    const entries = await collectEntries(r.entries);
    await repo.packs.flush();
    done = true;
    return { ...r, entries };
  });
  await new Promise((r) => setTimeout(r, 500));
  expect(done).toBe(false);
  // One upload held, two queued, the one being written, and what the 16 reads in flight at once
  // (the walk's pool) finish before they wait: about 6 packs of 3 objects. Without the wait every
  // pack of the run (27) would be staged.
  expect(await staged(stage)).toBeLessThanOrEqual(10);
  expect(storage.packPuts).toBe(1);
  storage.open();
  const res = await backup;
  expect(res.filesRead).toBe(80);
  expect(storage.packPuts).toBeGreaterThanOrEqual(25);
  expect(await staged(stage)).toBe(0);
  const reader = await Repository.open(storage);
  const files = res.entries.filter((x) => x.type === 'file');
  expect(files).toHaveLength(80);
  for (const e of files) expect((await reader.readObjectBytes(e.sha256 as string)).length).toBe(1000);
});

test('a pack store that fails fails the backup before any manifest; the next job starts clean', async () => {
  const storage = new GatedStorage(new MemoryStorage());
  storage.open();
  storage.failing = true;
  const stage = path.join(work, 'stage');
  await mkdir(stage);
  const repo = await Repository.open(storage, { packs: true, stagingDir: stage, packTargets: { targetSize: 2048 } });
  const root = path.join(work, 'tree');
  await tree(root, 30);
  const run = async () => {
    const r = await backupTree({ root, exclude: [], repo });
    await collectEntries(r.entries);
    await repo.packs.flush();
  };
  await expect(run()).rejects.toThrow(/access denied/);
  const keys: string[] = [];
  for await (const o of storage.list('')) keys.push(o.key);
  expect(keys.filter((k) => k.startsWith('index/') || k.startsWith('snapshots/'))).toEqual([]);
  // A new job (cleanStaging resets the packs) against a storage that works again.
  storage.failing = false;
  await repo.cleanStaging();
  expect(await staged(stage)).toBe(0);
  await run();
  const r = await backupTree({
    root,
    exclude: [],
    repo: await Repository.open(storage, { packs: true, stagingDir: stage }),
  });
  expect(r.newBytes).toBe(0);
  await collectEntries(r.entries);
});

test('content met again later in the same job, after its pack was finished, is not packed again', async () => {
  const storage = new MemoryStorage();
  const stage = path.join(work, 'stage');
  await mkdir(stage);
  const repo = await Repository.open(storage, { packs: true, stagingDir: stage, packTargets: { targetObjects: 3 } });
  const root = path.join(work, 'tree');
  await mkdir(root);
  // 40 distinct contents, each written twice: the copies come after the originals' packs finished.
  const contents = Array.from({ length: 40 }, () => randomBytes(500));
  for (const [i, c] of contents.entries()) await writeFile(path.join(root, `a${String(i).padStart(2, '0')}`), c);
  for (const [i, c] of contents.entries()) await writeFile(path.join(root, `b${String(i).padStart(2, '0')}`), c);
  const res = await backupTree({ root, exclude: [], repo });
  const files = (await collectEntries(res.entries)).filter((x) => x.type === 'file');
  await repo.packs.flush();
  expect(files).toHaveLength(80);
  let packed = 0;
  for await (const o of storage.list('index/')) {
    const index = JSON.parse((await readBuffer(storage, o.key)).toString('utf8')) as { objects: unknown[] };
    packed += index.objects.length;
  }
  expect(packed).toBe(40);
});
