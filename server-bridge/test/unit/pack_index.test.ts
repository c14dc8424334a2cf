// The in-memory lookup over every pack's index: built from real index files one at a time,
// hostile ones set aside (their objects not found), hits, misses and duplicates at scale.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadPackIndex, PackIndexBuilder } from '../../src/repository/pack_index';
import { serializePackIndexFile, type PackIndexFile } from '../../src/repository/pack_index_file';
import { LocalStorage } from '../../src/storage/local_storage';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'pack-index-'));
});
afterEach(() => rm(work, { recursive: true, force: true }));

const hex = () => randomBytes(32).toString('hex');

/** An index of `shas` with sizes 1..n back to back (no pack file is needed to build the lookup). */
function indexOf(pack: string, shas: string[]): PackIndexFile {
  let offset = 0;
  const objects = shas.map((sha256, i) => {
    const o = { sha256, offset, size: (i % 1000) + 1 };
    offset += o.size;
    return o;
  });
  return { pack, size: offset, objects };
}

test('200k objects in 40 packs: every one found where its index put it, misses and non-hashes not found', () => {
  const packs = Array.from({ length: 40 }, () => ({ pack: hex(), shas: Array.from({ length: 5000 }, hex) }));
  const b = new PackIndexBuilder();
  const files = packs.map((p) => indexOf(p.pack, p.shas));
  for (const f of files) b.add(f);
  const index = b.build();
  expect(index.count).toBe(200_000);
  expect(index.packCount).toBe(40);
  expect(index.sizeOfPack(files[7]!.pack)).toBe(files[7]!.size);
  expect(index.sizeOfPack(hex())).toBeUndefined();
  // 24 bytes a record: the whole names are on disk, not in these Buffers.
  expect(index.recordBytes).toBeLessThanOrEqual(200_000 * 24 + 65_536 * 24);
  // Plain comparisons gathered, one expect: 200k expect calls would take the test's time.
  const wrong: string[] = [];
  for (const f of files) {
    for (const o of f.objects) {
      const at = index.lookup(o.sha256);
      if (at?.pack !== f.pack || at.offset !== o.offset || at.size !== o.size) wrong.push(o.sha256);
    }
  }
  expect(wrong).toEqual([]);
  let found = 0;
  for (let i = 0; i < 10_000; i++) if (index.lookup(hex())) found++;
  expect(found).toBe(0);
  expect(index.lookup('')).toBeUndefined();
  expect(index.lookup(files[0]!.objects[0]!.sha256.toUpperCase())).toBeUndefined();
  expect(index.lookup(`${files[0]!.objects[0]!.sha256}00`)).toBeUndefined();
});

test('shas sharing their first bytes, the smallest and largest possible: all ordered by the whole sha', () => {
  const shared = 'abcdef01';
  const shas = [
    '0'.repeat(64),
    'f'.repeat(64),
    ...Array.from({ length: 300 }, () => shared + hex().slice(8)),
    ...Array.from({ length: 300 }, () => `${shared}${'0'.repeat(40)}${hex().slice(48)}`),
  ];
  const b = new PackIndexBuilder();
  const f = indexOf(hex(), shas);
  b.add(f);
  const index = b.build();
  for (const o of f.objects) expect(index.lookup(o.sha256)?.offset).toBe(o.offset);
  expect(index.lookup(`${shared}${'0'.repeat(56)}`)).toBeUndefined();
});

test('an object in several packs: lookup answers from the pack added first, locations lists every one; a pack added twice counts once', () => {
  const common = Array.from({ length: 1000 }, hex);
  const p1 = indexOf(hex(), [...Array.from({ length: 2000 }, hex), ...common]);
  const p2 = indexOf(hex(), [...common.slice().reverse(), ...Array.from({ length: 2000 }, hex)]);
  const p3 = indexOf(hex(), common.slice(0, 10));
  const b = new PackIndexBuilder();
  b.add(p1);
  b.add(p2);
  b.add(p1);
  b.add(p3);
  const index = b.build();
  expect(index.packCount).toBe(3);
  expect(index.count).toBe(3000 + 3000 + 10);
  for (const sha of common) {
    const in1 = p1.objects.find((o) => o.sha256 === sha)!;
    const in2 = p2.objects.find((o) => o.sha256 === sha)!;
    expect(index.lookup(sha)).toEqual({ pack: p1.pack, offset: in1.offset, size: in1.size });
    const all = index.locations(sha);
    expect(all.slice(0, 2)).toEqual([
      { pack: p1.pack, offset: in1.offset, size: in1.size },
      { pack: p2.pack, offset: in2.offset, size: in2.size },
    ]);
    expect(all.map((l) => l.pack)).toEqual(common.indexOf(sha) < 10 ? [p1.pack, p2.pack, p3.pack] : [p1.pack, p2.pack]);
  }
  expect(index.locations(hex())).toEqual([]);
});

test('an empty builder, and a repository without index/, give an index that finds nothing', async () => {
  const index = new PackIndexBuilder().build();
  expect(index.count).toBe(0);
  expect(index.lookup(hex())).toBeUndefined();
  const loaded = await loadPackIndex(await LocalStorage.open(path.join(work, 'empty')));
  expect(loaded.index.count).toBe(0);
  expect(loaded.broken).toEqual([]);
});

test('loadPackIndex reads real index files, sets hostile ones aside by name and ignores stray keys', async () => {
  const root = path.join(work, 'repo');
  const storage = await LocalStorage.open(root);
  await mkdir(path.join(root, 'index'), { recursive: true });
  const put = (name: string, text: string | Buffer) => writeFile(path.join(root, 'index', name), text);
  const good = indexOf(hex(), Array.from({ length: 3000 }, hex));
  await put(`${good.pack}.json`, serializePackIndexFile(good));
  // Another pack's index under this name; overlapping ranges; not JSON; too long to read.
  const other = indexOf(hex(), Array.from({ length: 10 }, hex));
  const renamed = hex();
  await put(`${renamed}.json`, serializePackIndexFile(other));
  const overlapping = indexOf(hex(), Array.from({ length: 3 }, hex));
  overlapping.objects[2]!.offset -= 1;
  await put(`${overlapping.pack}.json`, serializePackIndexFile(overlapping));
  const garbage = hex();
  await put(`${garbage}.json`, 'garbage');
  const huge = hex();
  await put(`${huge}.json`, Buffer.alloc(33 * 1024 * 1024, 0x20));
  await put('README.txt', 'not an index');
  await put(`${hex().slice(1)}.json`, serializePackIndexFile(other));
  const { index, broken } = await loadPackIndex(storage);
  expect(index.count).toBe(3000);
  expect(index.packCount).toBe(1);
  for (const o of good.objects) expect(index.lookup(o.sha256)?.pack).toBe(good.pack);
  for (const o of other.objects) expect(index.lookup(o.sha256)).toBeUndefined();
  expect(broken.map((x) => x.key).sort()).toEqual(
    [renamed, overlapping.pack, garbage, huge].map((p) => `index/${p}.json`).sort(),
  );
  const problem = (p: string) => broken.find((x) => x.key === `index/${p}.json`)!.problem;
  expect(problem(renamed)).toMatch(/names another pack/);
  expect(problem(overlapping.pack)).toMatch(/overlap/);
  expect(problem(garbage)).toMatch(/not JSON/);
  expect(problem(huge)).toMatch(/more than 33554432/);
});

test('names sharing their first 8 bytes (what a record holds in memory): the whole name decides lookup, locations, duplicates, holdsWhole', () => {
  const prefix = hex().slice(0, 16);
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((x) => prefix + x.repeat(48)) as [string, string, string, string];
  const p1 = indexOf(hex(), [b, a, hex()]);
  const p2 = indexOf(hex(), [hex(), a]);
  const p3 = indexOf(hex(), [c]);
  const builder = new PackIndexBuilder();
  for (const f of [p1, p2, p3]) builder.add(f);
  const index = builder.build(new Set([p3.pack]));
  const where = (f: PackIndexFile, sha: string) => {
    const o = f.objects.find((x) => x.sha256 === sha)!;
    return { pack: f.pack, offset: o.offset, size: o.size };
  };
  expect(index.lookup(a)).toEqual(where(p1, a));
  expect(index.locations(a)).toEqual([where(p1, a), where(p2, a)]);
  expect(index.lookup(b)).toEqual(where(p1, b));
  expect(index.locations(b)).toEqual([where(p1, b)]);
  // Only in a lost pack: found (a reader tries it) but not whole (a backup stores it again).
  expect(index.lookup(c)).toEqual(where(p3, c));
  expect(index.holdsWhole(c)).toBe(false);
  expect(index.holdsWhole(a)).toBe(true);
  expect(index.lookup(d)).toBeUndefined();
  expect(index.holdsWhole(d)).toBe(false);
  expect(index.locations(d)).toEqual([]);
  expect([...index.duplicateNames()]).toEqual([a]);
});

test('the sha in each record is exactly the one indexed (no truncation): a near miss is a miss', () => {
  const sha = createHash('sha256').update('x').digest('hex');
  const near = sha.slice(0, 63) + (sha[63] === '0' ? '1' : '0');
  const b = new PackIndexBuilder();
  b.add(indexOf(hex(), [sha]));
  const index = b.build();
  expect(index.lookup(sha)).toBeDefined();
  expect(index.lookup(near)).toBeUndefined();
});

test('duplicateNames: each name held by two or more packs once, in name order; names held once never', () => {
  const twice = [hex(), hex(), hex()].sort();
  const thrice = hex();
  const b = new PackIndexBuilder();
  // Enough records to span two 64k-record chunks, so runs can straddle a chunk boundary.
  const filler = Array.from({ length: 70_000 }, hex);
  b.add(indexOf(hex(), [...filler.slice(0, 35_000), twice[0]!, thrice]));
  b.add(indexOf(hex(), [...filler.slice(35_000), twice[1]!, twice[2]!, thrice]));
  b.add(indexOf(hex(), [twice[0]!, twice[1]!, thrice, hex()]));
  b.add(indexOf(hex(), [twice[2]!]));
  const index = b.build();
  expect([...index.duplicateNames()]).toEqual([...twice, thrice].sort());
  expect(index.locations(thrice)).toHaveLength(3);
  expect([...new PackIndexBuilder().build().duplicateNames()]).toEqual([]);
});

test('an object in a lost pack and in another: lookup gives the other, holdsWhole says so; only in lost packs: not whole', () => {
  const [lost, good, alsoLost] = [hex(), hex(), hex()];
  const [both, onlyLost] = [hex(), hex()];
  const b = new PackIndexBuilder();
  b.add(indexOf(lost, [both, onlyLost]));
  b.add(indexOf(good, [hex(), both]));
  b.add(indexOf(alsoLost, [onlyLost]));
  const index = b.build(new Set([lost, alsoLost]));
  expect(index.lookup(both)?.pack).toBe(good);
  expect(index.holdsWhole(both)).toBe(true);
  expect(index.lookup(onlyLost)?.pack).toBe(lost); // the read then says which pack is missing
  expect(index.holdsWhole(onlyLost)).toBe(false);
  expect(index.isLost(lost)).toBe(true);
  expect(index.isLost(good)).toBe(false);
  expect(index.holdsWhole(hex())).toBe(false);
});

test('loadPackIndex: an indexed pack missing or of another size is lost, one of its size is not', async () => {
  const root = path.join(work, 'repo');
  const storage = await LocalStorage.open(root);
  const packs = [hex(), hex(), hex()];
  for (const p of packs) {
    const f = indexOf(p, [hex(), hex()]);
    await storage.put(`index/${p}.json`, Buffer.from(serializePackIndexFile(f)));
    if (p !== packs[1]) {
      await storage.put(`packs/${p.slice(0, 2)}/${p}`, Buffer.alloc(p === packs[0] ? f.size : f.size - 1));
    }
  }
  const { index } = await loadPackIndex(storage);
  expect(packs.map((p) => index.isLost(p))).toEqual([false, true, true]);
});
