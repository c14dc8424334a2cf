/**
 * The object sets that keep prune, replicate and verify flat at millions of objects: the 8-byte
 * PrefixSet (never misses an added name; a shared 64-bit prefix may answer yes, the safe way for
 * prune) and the exact on-disk HashSorter (names compared whole, the first record of each kept).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PrefixSet } from '../../src/core/hash_set';
import { HashSorter, notListed, type SortedHash } from '../../src/core/hash_sort';

const name = (i: number) => createHash('sha256').update(`object ${i}`).digest('hex');
/** Two names with the same first 64 bits (16 hex digits) that differ after: a forced prefix collision. */
const PREFIX = 'a1b2c3d4e5f60718';
const twinA = PREFIX + '0'.repeat(48);
const twinB = PREFIX + 'f'.repeat(48);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'object-sets-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('PrefixSet', () => {
  test('has every name added, across merges, and no other name (bar a shared prefix)', () => {
    const s = new PrefixSet();
    const names = Array.from({ length: 75_000 }, (_, i) => name(i));
    // 210k adds with every name three times: several merges of the buffer (64k).
    for (let round = 0; round < 3; round++) for (const n of names.slice(0, 70_000)) s.add(n);
    expect(s.size).toBe(70_000);
    expect(names.slice(0, 70_000).filter((n) => !s.has(n))).toEqual([]);
    expect(names.slice(70_000).filter((n) => s.has(n))).toEqual([]);
    expect(s.bytes).toBeLessThanOrEqual((70_000 + 65_536) * 8); // the set and its (minimum) buffer
  });

  test("a name sharing an added name's 64-bit prefix is reported present: the direction prune may err in", () => {
    const s = new PrefixSet();
    s.add(twinA);
    expect(s.has(twinA)).toBe(true);
    expect(s.has(twinB)).toBe(true); // kept by prune, never swept: safe, and why copying and checking do not use it
    expect(s.has(`${PREFIX.slice(0, 15)}0${'0'.repeat(48)}`)).toBe(false);
    expect(s.size).toBe(1);
  });

  test('refuses what is not an object name', () => {
    expect(() => new PrefixSet().add('zz')).toThrow(/not an object name/);
    expect(() => new PrefixSet().has('A'.repeat(64))).toThrow(/not an object name/);
  });

  test('the empty set has nothing', () => {
    expect(new PrefixSet().has(name(1))).toBe(false);
  });
});

describe('HashSorter', () => {
  /** What distinct() must give: each name once, ascending, with its first-added numbers. */
  function reference(items: Array<[string, number, number]>): SortedHash[] {
    const first = new Map<string, SortedHash>();
    for (const [sha256, a, b] of items) if (!first.has(sha256)) first.set(sha256, { sha256, a, b });
    return [...first.values()].sort((x, y) => (x.sha256 < y.sha256 ? -1 : 1));
  }

  async function sortAll(items: Array<[string, number, number]>, chunkBits?: number): Promise<SortedHash[]> {
    const s = new HashSorter(dir, { chunkBits });
    try {
      for (const [sha, a, b] of items) await s.add(sha, a, b);
      return await collect(s.distinct());
    } finally {
      await s.dispose();
    }
  }

  test('in memory and through many runs on disk (merged in rounds): each name once, first numbers kept', async () => {
    const items: Array<[string, number, number]> = [];
    // Repeats within a chunk and across runs, twins sharing 64 bits, and names sharing 48 bits.
    for (let i = 0; i < 3000; i++) items.push([name(i % 1100), i, i * 10]);
    items.push([twinB, 1, 2], [twinA, 3, 4], [twinB, 5, 6]);
    for (let i = 0; i < 5; i++) items.push([`${PREFIX.slice(0, 12)}${i}${'9'.repeat(51)}`, 100 + i, 0]);
    const want = reference(items);
    expect(want.length).toBe(1100 + 2 + 5);
    expect(await sortAll(items)).toEqual(want); // one chunk: no file
    expect(await sortAll(items, 6)).toEqual(want); // 64 a chunk: 47 runs, a round of merges first
    expect(await sortAll(items, 3)).toEqual(want); // 8 a chunk: 376 runs, two rounds
    expect(await readdir(dir)).toEqual([]); // dispose removed every run
  });

  test('the forced prefix collision stays two names, with their own numbers', async () => {
    const got = await sortAll([
      [twinB, 1, 10],
      [twinA, 2, 20],
      [twinA, 3, 30],
    ]);
    expect(got).toEqual([
      { sha256: twinA, a: 2, b: 20 },
      { sha256: twinB, a: 1, b: 10 },
    ]);
  });

  test('dispose removes the runs of a sort not read to its end', async () => {
    const s = new HashSorter(dir, { chunkBits: 2 });
    for (let i = 0; i < 100; i++) await s.add(name(i));
    expect((await readdir(dir)).length).toBeGreaterThan(0);
    for await (const _ of s.distinct()) break;
    await s.dispose();
    expect(await readdir(dir)).toEqual([]);
  });

  test('notListed: what a sorted listing lacks, compared whole (a twin of a listed name is not listed)', async () => {
    const sorted = [twinA, twinB, name(1), name(2), name(3)].sort().map((sha256) => ({ sha256 }));
    async function* gen<T>(xs: T[]) {
      for (const x of xs) yield await Promise.resolve(x);
    }
    const listing = (names: string[]) => gen(names.map((sha256) => ({ sha256 })));
    const listed = [twinA, name(2)].sort();
    const missing = await collect(notListed(gen(sorted), listing(listed)));
    expect(missing.map((x) => x.sha256)).toEqual(sorted.map((x) => x.sha256).filter((s) => !listed.includes(s)));
    // A listing out of order can only make more come out (copied again), never fewer.
    const shuffled = await collect(notListed(gen(sorted), listing([...listed].reverse())));
    for (const m of missing) expect(shuffled.map((x) => x.sha256)).toContain(m.sha256);
    expect(await collect(notListed(gen(sorted), listing([])))).toEqual(sorted);
  });
});
