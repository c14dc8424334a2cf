/**
 * SessionPacked, as Packs uses it for a backup: a lookup for every object, a pack finished every
 * few hundred. Its filter must merge once per finished pack, not once per object: one name at a
 * time between lookups made a backup of n new small files O(n²) (200k files: over 10 minutes of
 * CPU in `npm run bench`). Real packs written by PackWriter into a temp directory.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readlink, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PrefixSet } from '../../src/core/hash_set';
import { spoolDirSync } from '../../src/manifest/spool_dir';
import { PackWriter, type FinishedPack } from '../../src/repository/pack_writer';
import { SessionPacked } from '../../src/repository/session_packed';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'session-packed-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

test('a lookup per object and a pack per 200: one filter merge per pack, every packed name found, others not', () => {
  const session = new SessionPacked();
  const packed: string[] = [];
  let writer = PackWriter.open(dir, { targetObjects: 200 });
  let packs = 0;
  for (let i = 0; i < 4000; i++) {
    const bytes = randomBytes(64);
    const name = sha(bytes);
    // What Packs.addSync asks first, for every object.
    expect(session.has(name)).toBe(false);
    writer.addSync(name, bytes);
    packed.push(name);
    if (writer.full) {
      session.finish(writer.finishSync());
      packs++;
      writer = PackWriter.open(dir, { targetObjects: 200 });
    }
  }
  writer.abortSync();
  expect(packs).toBe(20);
  expect(session.filterMerges).toBeLessThanOrEqual(packs);
  for (const name of packed) expect(session.has(name)).toBe(true);
  for (let i = 0; i < 1000; i++) expect(session.has(sha(randomBytes(8)))).toBe(false);
  session.dispose();
});

test('40 packs of 1000 names: buckets grow with room to spare, copied a few times, not the whole set per pack', () => {
  const session = new SessionPacked();
  const names: string[] = [];
  for (let p = 0; p < 40; p++) {
    const pack = Array.from({ length: 1000 }, () => sha(randomBytes(8)));
    session.finish(packOf(pack));
    names.push(...pack);
  }
  expect(session.size).toBe(40000);
  expect(session.filterMerges).toBe(40);
  // Room to spare: a quarter at most, and MIN_ROOM (8) records a bucket.
  expect(session.bytes).toBeGreaterThanOrEqual(40000 * 12);
  expect(session.bytes).toBeLessThanOrEqual(40000 * 12 * 1.25 + 1024 * 12 * 9);
  // Merged whole into a new array per pack, the copies were 12 bytes x (1000 + 2000 + ... + 39000): 9.4 MB.
  expect(session.bytesCopied).toBeLessThan(5 * session.bytes);
  for (let i = 0; i < names.length; i += 7) expect(session.has(names[i] as string)).toBe(true);
  for (let i = 0; i < 1000; i++) expect(session.has(sha(randomBytes(9)))).toBe(false);
  session.dispose();
});

test('names made to share their first bits fill one bucket and are all found', () => {
  const session = new SessionPacked();
  // The first 12 hex digits (48 bits) alike: one bucket, the rest in order by the next digits.
  const made = Array.from(
    { length: 300 },
    (_, i) => 'abcdef012345' + i.toString(16).padStart(4, '0') + sha(Buffer.from([i])).slice(16),
  );
  // Interleaved packs: the second merges into the middle of the first's records, not after them.
  session.finish(packOf(made.filter((_, i) => i % 2 === 0)));
  session.finish(packOf(made.filter((_, i) => i % 2 === 1)));
  session.finish(packOf([made[299] as string]));
  expect(session.size).toBe(301);
  for (const n of made) expect(session.has(n)).toBe(true);
  expect(session.has('abcdef012345ffff' + '0'.repeat(48))).toBe(false);
  expect(session.has('abcdef0123450000' + '1'.repeat(48))).toBe(false);
  session.dispose();
});

/** A finished pack as finish() reads it: only the index's names matter to the session. */
const packOf = (names: string[]): FinishedPack => ({
  packSha: sha(Buffer.from(names.join())),
  size: names.length,
  file: path.join(dir, 'unused'),
  index: { pack: 'p', size: names.length, objects: names.map((sha256, i) => ({ sha256, offset: i, size: 1 })) },
});

test('names that share their first 64 bits: the whole name, read back from the spill file, decides', () => {
  const session = new SessionPacked();
  const prefix = sha(Buffer.from('x')).slice(0, 16);
  const tail = (c: string) => prefix + c.repeat(48);
  session.finish(packOf([tail('1'), sha(Buffer.from('a'))]));
  expect(session.has(tail('1'))).toBe(true);
  // Same prefix, never packed: the filter says maybe, the file says no.
  expect(session.has(tail('2'))).toBe(false);
  session.finish(packOf([tail('2'), tail('0')]));
  for (const c of ['0', '1', '2']) expect(session.has(tail(c))).toBe(true);
  expect(session.has(tail('3'))).toBe(false);
  expect(session.has(sha(Buffer.from('a')))).toBe(true);
  // 12 bytes a name in memory (and room to spare), whatever the names' length on disk.
  expect(session.size).toBe(4);
  expect(session.bytes).toBeLessThanOrEqual(2 * (4 + 8) * 12);
  expect(() => session.has('not a name')).toThrow(/not an object name/);
  session.dispose();
  expect(session.has(tail('1'))).toBe(false);
});

test('the whole names are in a 0600 file that is never visible, its descriptor closed by dispose()', async () => {
  const before = new Set(await readdir(spoolDirSync()));
  const fds = async () => {
    const out: Array<{ fd: string; target: string }> = [];
    for (const fd of await readdir('/proc/self/fd')) {
      const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
      if (target.includes('/names-')) out.push({ fd, target });
    }
    return out;
  };
  // By number and target: a number closed since (another test's file) may come back for this one.
  const open = new Set((await fds()).map((f) => `${f.fd} ${f.target}`));
  const session = new SessionPacked();
  const names = Array.from({ length: 1000 }, () => sha(randomBytes(8)));
  session.finish(packOf(names.slice(0, 500)));
  session.finish(packOf(names.slice(500)));
  expect(await readdir(spoolDirSync())).toEqual([...before]);
  const mine = (await fds()).filter((f) => !open.has(`${f.fd} ${f.target}`));
  expect(mine).toHaveLength(1);
  const { fd, target } = mine[0] as { fd: string; target: string };
  expect(target).toMatch(/ \(deleted\)$/);
  const st = await stat(`/proc/self/fd/${fd}`);
  expect(st.size).toBe(1000 * 32);
  expect(st.mode & 0o777).toBe(0o600);
  expect(session.size).toBe(1000);
  expect(session.bytes).toBeLessThanOrEqual(1000 * 12 * 1.25 + 1024 * 12 * 9);
  for (const n of names) expect(session.has(n)).toBe(true);
  session.dispose();
  session.dispose();
  expect((await fds()).filter((f) => !open.has(`${f.fd} ${f.target}`))).toEqual([]);
});

test('PrefixSet counts its merges: names added in bulk merge once at the next lookup', () => {
  const set = new PrefixSet();
  const names = Array.from({ length: 5000 }, () => sha(randomBytes(8)));
  for (const n of names) set.add(n);
  expect(set.merges).toBe(0);
  for (const n of names) expect(set.has(n)).toBe(true);
  expect(set.merges).toBe(1);
  set.add(names[0] as string);
  set.has(names[1] as string);
  expect(set.merges).toBe(2);
});
