// A backup must not skip storing an object because an index lists it in a pack that is gone or
// cut short (a lost disk block, a pack removed by hand): it stores the object again, and reads
// (restore, verify, copy) then find the new copy, not the lost one. An index whose pack is whole
// is still trusted for dedup (nothing stored twice).
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Repository } from '../../src/repository/repository';
import { LocalStorage } from '../../src/storage/local_storage';
import { MemoryStorage } from '../../src/storage/memory_storage';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'packs-lost-'));
});
afterEach(() => rm(work, { recursive: true, force: true }));

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function packFiles(repoDir: string): Promise<string[]> {
  const out: string[] = [];
  for (const ab of await readdir(path.join(repoDir, 'packs')).catch(() => [] as string[])) {
    for (const f of await readdir(path.join(repoDir, 'packs', ab))) out.push(path.join(repoDir, 'packs', ab, f));
  }
  return out.sort();
}

/** Stores `bodies` as files through a packing repository (one job) and returns their names. */
async function backUp(
  repo: Repository,
  bodies: Buffer[],
  sync: boolean,
): Promise<Array<{ sha256: string; isNew: boolean }>> {
  const dir = await mkdtemp(path.join(work, 'src-'));
  const out: Array<{ sha256: string; isNew: boolean }> = [];
  for (const [i, b] of bodies.entries()) {
    const f = path.join(dir, `f${i}`);
    await writeFile(f, b);
    // The first ingestFile prepares the packs; after it the synchronous path is taken when asked.
    const r = (sync && i > 0 && repo.ingestSmallSync(f)) || (await repo.ingestFile(f, { size: b.length }));
    out.push({ sha256: r.sha256, isNew: r.isNew });
  }
  await repo.packs.flush();
  return out;
}

const damage = {
  removed: (file: string) => rm(file),
  'cut short': (file: string) => truncate(file, 100),
};

describe.each(['sync', 'async'] as const)('%s ingest', (mode) => {
  test.each(Object.keys(damage) as Array<keyof typeof damage>)(
    'a pack %s: the next backup stores its objects again and reads find them',
    async (how) => {
      const repoDir = path.join(work, 'repo');
      await mkdir(repoDir);
      const bodies = [randomBytes(3000), randomBytes(5000)];
      const first = await backUp(
        await Repository.open(await LocalStorage.open(repoDir), { packs: true }),
        bodies,
        mode === 'sync',
      );
      expect(first.map((r) => r.isNew)).toEqual([true, true]);
      const [lost] = await packFiles(repoDir);
      await damage[how](lost!);

      const second = await backUp(
        await Repository.open(await LocalStorage.open(repoDir), { packs: true }),
        bodies,
        mode === 'sync',
      );
      expect(second.map((r) => r.isNew)).toEqual([true, true]);

      const reader = await Repository.open(await LocalStorage.open(repoDir));
      await reader.loadPacks();
      for (const b of bodies) {
        expect(await reader.readObjectBytes(sha(b))).toEqual(b);
        expect(await reader.checkObject(sha(b), b.length)).toBeUndefined();
        expect(reader.checkSmallObjectSync(sha(b), b.length)).toBeUndefined();
        expect(reader.readSmallObjectSync(sha(b))).toEqual(b);
      }
    },
  );
});

test('a whole pack is trusted: the next backup stores nothing again', async () => {
  const repoDir = path.join(work, 'repo');
  await mkdir(repoDir);
  const bodies = [randomBytes(3000), randomBytes(5000)];
  await backUp(await Repository.open(await LocalStorage.open(repoDir), { packs: true }), bodies, false);
  const again = await backUp(await Repository.open(await LocalStorage.open(repoDir), { packs: true }), bodies, false);
  expect(again.map((r) => r.isNew)).toEqual([false, false]);
  expect(await packFiles(repoDir)).toHaveLength(1);
});

test('a bucket whose pack was removed: the next backup stores its objects again', async () => {
  const bucket = new MemoryStorage();
  const bodies = [randomBytes(3000), randomBytes(5000)];
  await backUp(await Repository.open(bucket, { packs: true }), bodies, false);
  const packs: string[] = [];
  for await (const o of bucket.list('packs')) packs.push(o.key);
  expect(packs).toHaveLength(1);
  await bucket.delete(packs[0]!);

  const again = await backUp(await Repository.open(bucket, { packs: true }), bodies, false);
  expect(again.map((r) => r.isNew)).toEqual([true, true]);
  const reader = await Repository.open(bucket);
  for (const b of bodies) expect(await reader.readObjectBytes(sha(b))).toEqual(b);
});
