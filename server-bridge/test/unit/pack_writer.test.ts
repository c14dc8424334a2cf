// PackWriter on real files: the pack is the objects' exact bytes back to back, named by its own
// SHA-256, with an index that cuts each object back out; stored in the documented order.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BridgeError } from '../../src/core/errors';
import { packIndexKey, packKey, packOfIndexKey, packOfKey } from '../../src/repository/layout';
import { loadPackIndex } from '../../src/repository/pack_index';
import { parsePackIndexFile, serializePackIndexFile } from '../../src/repository/pack_index_file';
import { PackDamagedError, PackFileReader } from '../../src/repository/pack_reader';
import { MAX_PACKED_OBJECT } from '../../src/repository/pack_limits';
import { storePack } from '../../src/repository/pack_store';
import { PackWriter } from '../../src/repository/pack_writer';
import { INLINE_FILE } from '../../src/repository/repository';
import { LocalStorage } from '../../src/storage/local_storage';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'pack-writer-'));
});
afterEach(() => rm(work, { recursive: true, force: true }));

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Objects of every awkward size: empty, one byte, around the buffer's size, the maximum. */
function objects(bufferSize: number): Buffer[] {
  return [0, 1, 100, bufferSize - 1, bufferSize, bufferSize + 1, 3, MAX_PACKED_OBJECT, 5000].map((n) => randomBytes(n));
}

test.each([
  ['synchronous', 1024, true],
  ['awaited', 1024, false],
  ['awaited, default buffer', undefined, false],
])(
  '%s adds (buffer %s): the pack is the bytes back to back, named by its SHA-256, each slice hashing to its name',
  async (_, bufferSize, sync) => {
    const w = PackWriter.open(work, bufferSize === undefined ? {} : { bufferSize });
    const objs = objects(bufferSize ?? 1024);
    for (const o of objs) {
      expect(sync ? w.addSync(sha(o), o) : await w.add(sha(o), o)).toBe(true);
    }
    // The same content again is not written twice.
    expect(sync ? w.addSync(sha(objs[2]!), objs[2]!) : await w.add(sha(objs[2]!), objs[2]!)).toBe(false);
    expect(w.has(sha(objs[3]!))).toBe(true);
    const p = sync ? w.finishSync() : await w.finish();
    const bytes = await readFile(p.file);
    expect(bytes.equals(Buffer.concat(objs))).toBe(true);
    expect(p.packSha).toBe(sha(bytes));
    expect(p.size).toBe(bytes.length);
    expect(((await stat(p.file)).mode & 0o777).toString(8)).toBe('600');
    expect(p.index.objects.map((o) => o.sha256)).toEqual(objs.map(sha));
    for (const o of p.index.objects) expect(sha(bytes.subarray(o.offset, o.offset + o.size))).toBe(o.sha256);
    // What the writer produces is what the hostile parser accepts.
    expect(parsePackIndexFile(serializePackIndexFile(p.index), p.packSha)).toEqual(p.index);
  },
);

test('every file the synchronous small-file path reads whole can be packed (the two limits are one)', () => {
  expect(MAX_PACKED_OBJECT).toBe(INLINE_FILE);
});

test('full at the target size or object count; an object over the maximum is refused; an empty pack cannot be finished', async () => {
  const bySize = PackWriter.open(work, { targetSize: 10_000 });
  bySize.addSync(sha(Buffer.alloc(6000, 1)), Buffer.alloc(6000, 1));
  expect(bySize.full).toBe(false);
  bySize.addSync(sha(Buffer.alloc(6000, 2)), Buffer.alloc(6000, 2));
  expect(bySize.full).toBe(true);
  await bySize.abort();

  const byCount = PackWriter.open(work, { targetObjects: 2 });
  byCount.addSync(sha(Buffer.from('a')), Buffer.from('a'));
  expect(byCount.full).toBe(false);
  byCount.addSync(sha(Buffer.from('b')), Buffer.from('b'));
  expect(byCount.full).toBe(true);
  const tooBig = Buffer.alloc(MAX_PACKED_OBJECT + 1);
  expect(() => byCount.addSync(sha(tooBig), tooBig)).toThrow(BridgeError);
  await expect(byCount.add(sha(tooBig), tooBig)).rejects.toThrow(/more than the 131072 a pack holds/);
  await byCount.abort();

  const empty = PackWriter.open(work);
  await expect(empty.finish()).rejects.toThrow(/empty pack/);
  empty.abortSync();
  expect(await readdir(work)).toEqual([]);
});

test('overlapping adds are refused, and a finished or aborted writer takes nothing more', async () => {
  const w = PackWriter.open(work, { bufferSize: 16 });
  const a = randomBytes(20);
  const first = w.add(sha(a), a); // larger than the buffer: a write is in flight
  expect(() => w.addSync(sha(Buffer.from('x')), Buffer.from('x'))).toThrow(/must not overlap/);
  await first;
  await w.finish();
  expect(() => w.addSync(sha(Buffer.from('y')), Buffer.from('y'))).toThrow(/finished, aborted or failed/);
  await w.abort();
  expect(await readdir(work)).toEqual([]);
});

test('a staging directory that is not writable: a StorageError naming it, nothing left behind', async () => {
  const missing = path.join(work, 'gone');
  expect(() => PackWriter.open(missing)).toThrow(/cannot write a pack in .*gone: ENOENT/);
  await writeFile(path.join(work, 'file'), '');
  expect(() => PackWriter.open(path.join(work, 'file'))).toThrow(/ENOTDIR/);
});

test('storePack puts the pack then its index under the documented keys; loadPackIndex finds every object', async () => {
  const storage = await LocalStorage.open(path.join(work, 'repo'));
  const staging = storage.describe().local!.tempDir;
  const objs = Array.from({ length: 50 }, (_, i) => randomBytes(100 + i * 37));
  const w = PackWriter.open(staging, { bufferSize: 4096 });
  for (const o of objs) w.addSync(sha(o), o);
  const p = w.finishSync();
  await storePack(storage, p);
  expect(packOfKey(packKey(p.packSha))).toBe(p.packSha);
  expect(packOfIndexKey(packIndexKey(p.packSha))).toBe(p.packSha);
  const packFile = path.join(work, 'repo', 'packs', p.packSha.slice(0, 2), p.packSha);
  expect(sha(await readFile(packFile))).toBe(p.packSha);
  const indexText = await readFile(path.join(work, 'repo', 'index', `${p.packSha}.json`), 'utf8');
  expect(parsePackIndexFile(indexText, p.packSha)).toEqual(p.index);
  expect(await readdir(staging)).toEqual([]); // the staged pack was renamed into place

  // The same pack again (same objects, same order): not put twice, the staged copy removed.
  const again = PackWriter.open(staging, { bufferSize: 4096 });
  for (const o of objs) again.addSync(sha(o), o);
  await storePack(storage, again.finishSync());
  expect(await readdir(staging)).toEqual([]);

  const { index, broken } = await loadPackIndex(storage);
  expect(broken).toEqual([]);
  expect(index.count).toBe(50);
  const pack = await readFile(packFile);
  for (const o of objs) {
    const at = index.lookup(sha(o))!;
    expect(at.pack).toBe(p.packSha);
    expect(pack.subarray(at.offset, at.offset + at.size).equals(o)).toBe(true);
  }
});

test('PackFileReader: each slice read back and checked; a truncated, grown or altered pack is refused', async () => {
  const objs = Array.from({ length: 20 }, (_, i) => randomBytes(10 + i * 100));
  const w = PackWriter.open(work, { bufferSize: 512 });
  for (const o of objs) w.addSync(sha(o), o);
  const p = w.finishSync();
  const r = PackFileReader.open(p.file, p.packSha, p.size);
  for (const [i, o] of p.index.objects.entries()) {
    expect(r.readSync(o.sha256, o.offset, o.size).equals(objs[i]!)).toBe(true);
  }
  // An index entry pointing at the wrong slice (a neighbour's bytes) is caught by the checksum.
  const [a, b] = p.index.objects as [{ sha256: string; offset: number; size: number }, { sha256: string }];
  expect(() => r.readSync(b.sha256, a.offset, a.size)).toThrow(/does not match its checksum/);
  r.close();

  const bytes = await readFile(p.file);
  const truncated = path.join(work, 'truncated');
  await writeFile(truncated, bytes.subarray(0, bytes.length - 1));
  expect(() => PackFileReader.open(truncated, p.packSha, p.size)).toThrow(PackDamagedError);
  expect(() => PackFileReader.open(truncated, p.packSha, p.size)).toThrow(/bytes, its index says/);
  const grown = path.join(work, 'grown');
  await writeFile(grown, Buffer.concat([bytes, Buffer.from('x')]));
  expect(() => PackFileReader.open(grown, p.packSha, p.size)).toThrow(/bytes, its index says/);
  // Read past a cut that happened after the open (the file shrank while being read): cut short, not zeros.
  const shrinking = path.join(work, 'shrinking');
  await writeFile(shrinking, bytes);
  const r2 = PackFileReader.open(shrinking, p.packSha, p.size);
  await writeFile(shrinking, bytes.subarray(0, 100));
  const last = p.index.objects.at(-1)!;
  expect(() => r2.readSync(last.sha256, last.offset, last.size)).toThrow(/cut short at byte 0/);
  r2.close();

  const altered = Buffer.from(bytes);
  const at5 = p.index.objects[5]!.offset;
  altered[at5] = (altered[at5] as number) ^ 0xff;
  await writeFile(path.join(work, 'altered'), altered);
  const r3 = PackFileReader.open(path.join(work, 'altered'), p.packSha, p.size);
  expect(() => r3.readSync(p.index.objects[5]!.sha256, p.index.objects[5]!.offset, p.index.objects[5]!.size)).toThrow(
    /does not match its checksum/,
  );
  r3.close();
  await symlink(p.file, path.join(work, 'link'));
  expect(() => PackFileReader.open(path.join(work, 'link'), p.packSha, p.size)).toThrow(/a symbolic link/);
  expect(() => PackFileReader.open(path.join(work, 'absent'), p.packSha, p.size)).toThrow(/cannot open pack .*ENOENT/);
});
