// Prune with a used object in two packs (an interrupted rewrite leaves such pairs): the pack that
// leaves it to the other copy goes only once that copy was read and found good. A keeper whose
// bytes changed at the same size (only a deep verify sees that) must not cost the last good copy.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PrefixSet } from '../../src/core/hash_set';
import { packKey } from '../../src/repository/layout';
import { storePack } from '../../src/repository/pack_store';
import { sweepPacks } from '../../src/repository/pack_sweep';
import { PackWriter, type FinishedPack } from '../../src/repository/pack_writer';
import { Repository } from '../../src/repository/repository';
import { LocalStorage } from '../../src/storage/local_storage';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'prune-keeper-'));
});
afterEach(() => rm(work, { recursive: true, force: true }));

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function pack(repo: Repository, bodies: Buffer[]): Promise<FinishedPack> {
  const w = PackWriter.open(await repo.stagingDirectory());
  for (const b of bodies) await w.add(sha(b), b);
  const p = await w.finish();
  await storePack(repo.storage, p);
  return p;
}

/** Pack A holds x and two unused objects; pack B holds x and y (all used): B keeps x, A is unused. */
async function twoCopies(repoDir: string) {
  const repo = await Repository.open(await LocalStorage.open(repoDir));
  const [x, y, d1, d2] = [randomBytes(3000), randomBytes(3000), randomBytes(20_000), randomBytes(20_000)];
  const a = await pack(repo, [x, d1, d2]);
  const b = await pack(repo, [x, y]);
  const inUse = new PrefixSet();
  inUse.add(sha(x));
  inUse.add(sha(y));
  return { repo, x, a, b, inUse };
}

test.each([
  ['good', false, 1],
  ['changed at the same size', true, 0],
])('the keeper copy %s: the other pack is removed only if it is good', async (_what, damage, removed) => {
  const repoDir = path.join(work, 'repo');
  const { repo, x, a, b, inUse } = await twoCopies(repoDir);
  if (damage) {
    const file = path.join(repoDir, ...packKey(b.packSha).split('/'));
    const bytes = await readFile(file);
    const at = b.index.objects.find((o) => o.sha256 === sha(x))!.offset;
    bytes[at] = (bytes[at] as number) ^ 1;
    await writeFile(file, bytes);
  }
  const warnings: string[] = [];
  const res = await sweepPacks(repo, inUse, { dryRun: false, log: (_l, m) => warnings.push(m) });
  expect(res.packsRemoved).toBe(removed);
  const aFile = path.join(repoDir, ...packKey(a.packSha).split('/'));
  if (damage) {
    // The last good copy of x stays, and the prune says why.
    const slice = (await readFile(aFile)).subarray(0, x.length);
    expect(sha(slice)).toBe(sha(x));
    expect(warnings.join('\n')).toMatch(/is kept: no other pack staying holds a good copy/);
  } else {
    await expect(readFile(aFile)).rejects.toThrow(/ENOENT/);
    expect(await (await Repository.open(await LocalStorage.open(repoDir))).readObjectBytes(sha(x))).toEqual(x);
  }
});
