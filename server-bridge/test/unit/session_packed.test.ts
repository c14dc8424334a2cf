/**
 * SessionPacked, as Packs uses it for a backup: a lookup for every object, a pack finished every
 * few hundred. Its filter must merge once per finished pack, not once per object: one name at a
 * time between lookups made a backup of n new small files O(n²) (200k files: over 10 minutes of
 * CPU in `npm run bench`). Real packs written by PackWriter into a temp directory.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PrefixSet } from '../../src/core/hash_set';
import { PackWriter } from '../../src/repository/pack_writer';
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
