/**
 * Repository.ingestFile on real files, a real local repository and the real hash pool: the object
 * stored is exactly the bytes hashed, also when the file changes while it is being stored (rewritten
 * between the steps, or all the time by a concurrent writer); errors keep the meaning the tree walk
 * gives them (ENOENT: vanished; a staging failure is the repository's); abort stops the work.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DiskFullError, StorageError } from '../../src/core/errors';
import { sharedHashPool } from '../../src/repository/hash_pool';
import { objectKey } from '../../src/repository/layout';
import { Repository } from '../../src/repository/repository';
import { LocalStorage } from '../../src/storage/local_storage';
import { caught } from '../support/caught';

const MiB = 1024 * 1024;
/** Repository.ingestFile reads files up to this size whole on the main thread, and stages larger ones (in the pool). */
const INLINE_FILE = 128 * 1024;
/** A size the pool copies in many chunks (its chunk is 64 KiB). */
const LARGE = 4 * MiB;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let work: string;
let repoDir: string;
let repo: Repository;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'ingest-file-'));
  repoDir = path.join(work, 'repo');
  repo = await Repository.open(await LocalStorage.open(repoDir));
});
afterEach(() => rm(work, { recursive: true, force: true }));
afterAll(() => sharedHashPool().close());

const objectFile = (sha256: string) => path.join(repoDir, ...objectKey(sha256).split('/'));
const staged = () => readdir(path.join(repoDir, 'tmp'));

/** Every object in the repository holds the bytes its name says; returns how many there are. */
async function expectObjectsIntact(): Promise<number> {
  let n = 0;
  for await (const o of repo.listObjects()) {
    expect(sha(await readFile(objectFile(o.sha256)))).toBe(o.sha256);
    n++;
  }
  return n;
}

test.each([
  ['empty', 0],
  ['small', 10_000],
  ['inline at most', INLINE_FILE],
  ['just over it (staged)', INLINE_FILE + 1],
  ['4 MiB (staged)', LARGE],
  ['large (staged)', 9 * MiB + 7],
])('%s file: the object holds exactly the bytes hashed, stored once', async (_name, n) => {
  const bytes = randomBytes(n);
  const file = path.join(work, 'f');
  await writeFile(file, bytes);
  for (const size of [n, undefined]) {
    await rm(path.join(repoDir, 'objects'), { recursive: true, force: true });
    const stored = await repo.ingestFile(file, { size });
    expect(stored).toEqual({ sha256: sha(bytes), size: n, isNew: true });
    expect((await readFile(objectFile(stored.sha256))).equals(bytes)).toBe(true);
    expect((await stat(objectFile(stored.sha256))).mode & 0o777).toBe(0o600);
    expect(await repo.ingestFile(file, { size })).toEqual({ ...stored, isNew: false });
    expect(await staged()).toEqual([]);
  }
});

test('an inline file whose content is present is not staged at all', async () => {
  const file = path.join(work, 'thumb.jpg');
  await writeFile(file, randomBytes(20_000));
  const first = await repo.ingestFile(file, { size: 20_000 });
  // With no staging directory, any write would fail: the second ingest must not write.
  await rm(path.join(repoDir, 'tmp'), { recursive: true });
  expect(await repo.ingestFile(file, { size: 20_000 })).toEqual({ ...first, isNew: false });
});

test.each([
  ['inline', 100, 200_000],
  ['staged', MiB, LARGE + 5],
])('a %s file that grew past that path since it was listed is staged, and stored as read', async (_n, listed, n) => {
  const bytes = randomBytes(n);
  const file = path.join(work, 'growing');
  await writeFile(file, bytes);
  expect(await repo.ingestFile(file, { size: listed })).toEqual({ sha256: sha(bytes), size: n, isNew: true });
  expect(await expectObjectsIntact()).toBe(1);
});

test.each([
  ['small', 1000],
  ['staged', MiB],
  ['large staged', LARGE + 1000],
])('%s file rewritten between hashing and storing: stored as hashed, never under a wrong hash', async (_n, n) => {
  const before = randomBytes(n);
  const after = randomBytes(n); // same size, same mtime: nothing in its metadata shows the change
  const file = path.join(work, 'attachment');
  await writeFile(file, before);
  const { mtime } = await stat(file);
  const stored = await repo.ingestFile(file, {
    size: n,
    onHashed: async () => {
      await writeFile(file, after);
      await utimes(file, mtime, mtime);
    },
  });
  expect(stored).toEqual({ sha256: sha(before), size: n, isNew: true });
  expect((await readFile(objectFile(stored.sha256))).equals(before)).toBe(true);
  expect(await expectObjectsIntact()).toBe(1);
  // The new content is read as such next time.
  expect((await repo.ingestFile(file, { size: n })).sha256).toBe(sha(after));
});

test('files rewritten all the time while they are ingested: every object holds the bytes its name says', async () => {
  const files = [
    { file: path.join(work, 'a'), size: 3000 },
    { file: path.join(work, 'b'), size: 300_000 },
    { file: path.join(work, 'c'), size: INLINE_FILE - 10 }, // crosses the limit as it is rewritten
    { file: path.join(work, 'd'), size: 6 * MiB },
  ];
  for (const f of files) await writeFile(f.file, randomBytes(f.size));
  const stop = new AbortController();
  const writer = (async () => {
    // Each rewrite truncates and writes in pieces, so readers see every torn state in between.
    for (let round = 0; !stop.signal.aborted; round++) {
      for (const f of files) await writeFile(f.file, randomBytes(f.size + (round % 3) * 20));
    }
  })();
  const ingestAll = (r: Repository) => Promise.all(files.map((f) => r.ingestFile(f.file, { size: f.size })));
  const results: Array<{ sha256: string; size: number }> = [];
  const deadline = Date.now() + 2000;
  try {
    while (Date.now() < deadline) results.push(...(await ingestAll(repo)));
  } finally {
    stop.abort();
    await writer;
  }
  expect(results.length).toBeGreaterThan(files.length);
  for (const r of results) {
    const bytes = await readFile(objectFile(r.sha256));
    expect(sha(bytes)).toBe(r.sha256);
    expect(bytes.length).toBe(r.size);
  }
  await expectObjectsIntact();
  expect(await staged()).toEqual([]);
});

test.each([
  ['small file', 100],
  ['staged file', MiB],
  ['large staged file', LARGE + 1],
  ['file of unknown size', undefined],
])('a %s that vanished fails with ENOENT (what the walk takes for "vanished")', async (_n, size) => {
  const err = await caught(repo.ingestFile(path.join(work, 'gone'), { size }));
  expect(err.code).toBe('ENOENT');
  expect(await staged()).toEqual([]);
});

test.each([
  ['small', 100],
  ['staged', MiB],
  ['large staged', LARGE + 1],
])('a %s file cannot be staged: the repository fails (never "vanished")', async (_n, size) => {
  const file = path.join(work, 'present');
  await writeFile(file, randomBytes(size));
  await rm(path.join(repoDir, 'tmp'), { recursive: true });
  const err = await caught(repo.ingestFile(file, { size }));
  expect(err).toBeInstanceOf(StorageError);
  expect(err.code).toBe('STORAGE_FAILED');
  expect(err.message).toMatch(/cannot stage a copy in .*tmp: ENOENT/);
});

test('with packs, a small file whose pack cannot be prepared (tmp/ gone) fails as the repository, never "not found"', async () => {
  const packed = await Repository.open(await LocalStorage.open(repoDir), { packs: true });
  const file = path.join(work, 'present');
  await writeFile(file, randomBytes(100));
  await rm(path.join(repoDir, 'tmp'), { recursive: true });
  const err = await caught(packed.ingestFile(file, { size: 100 }));
  expect(err).toBeInstanceOf(StorageError);
  expect(err.code).toBe('STORAGE_FAILED');
  expect(err.message).toMatch(/cannot write repository\.json: ENOENT: .*tmp or the key's directory is missing/);
});

test('a path replaced by a FIFO since it was listed fails at once instead of hanging', async () => {
  const fifo = path.join(work, 'fifo');
  expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
  for (const size of [10, MiB, LARGE + 1, undefined]) {
    expect((await caught(repo.ingestFile(fifo, { size }))).code).toBe('EFTYPE');
  }
  expect(await staged()).toEqual([]);
});

test('abort stops a large ingest promptly and leaves nothing staged', async () => {
  const file = path.join(work, 'video.mp4');
  await writeFile(file, '');
  await truncate(file, 8 * 1024 ** 3); // sparse: seconds of reading and hashing
  const ac = new AbortController();
  const ingesting = repo.ingestFile(file, { size: 8 * 1024 ** 3, signal: ac.signal });
  // Under way: the staged copy is growing.
  const stagedBytes = async () => {
    const [name] = await staged();
    return name ? ((await stat(path.join(repoDir, 'tmp', name)).catch(() => undefined))?.size ?? 0) : 0;
  };
  for (let i = 0; i < 200 && !(await stagedBytes()); i++) await sleep(50);
  expect(await stagedBytes()).toBeGreaterThan(0);
  const t = Date.now();
  ac.abort();
  expect((await caught(ingesting)).name).toBe('AbortError');
  expect(Date.now() - t).toBeLessThan(1500);
  expect(await staged()).toEqual([]);
  expect(await expectObjectsIntact()).toBe(0);
});

test('a staged file into a full repository: DISK_SPACE naming the file, nothing left staged', async () => {
  const small = path.join(work, 'small-disk');
  await mkdir(small);
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', small], { encoding: 'utf8' });
  if (m.status !== 0) throw new Error(`cannot mount a tmpfs (this test needs root): ${m.stderr}`);
  try {
    const full = await Repository.open(await LocalStorage.open(path.join(small, 'repo')));
    const file = path.join(work, 'video.mp4');
    await writeFile(file, randomBytes(LARGE + MiB));
    const err = await caught(full.ingestFile(file, { size: LARGE + MiB }));
    expect(err).toBeInstanceOf(DiskFullError);
    expect(err.code).toBe('DISK_SPACE');
    expect(err.message).toMatch(new RegExp(`^the repository disk is full: writing the copy of ${file} failed; `));
    expect(await readdir(path.join(small, 'repo', 'tmp'))).toEqual([]);
  } finally {
    spawnSync('umount', ['-l', small]);
  }
});
