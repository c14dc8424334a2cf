// The second reading thread (small_reader.ts) on real files: what it reads comes back with the
// bytes' SHA-256; everything it cannot read whole (vanished, a FIFO, a directory, past the limit,
// past its slab) comes back to the caller, once, never hanging; a thread that dies hands all its
// files back; an abort ends the wait. A tree backup through it stores what the main thread alone does.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { collectEntries } from '../../src/manifest/entry_list';
import { INLINE_FILE, Repository } from '../../src/repository/repository';
import { SmallReader } from '../../src/repository/small_reader';
import { backupTree } from '../../src/repository/tree_backup';
import { WalkPacer } from '../../src/repository/walk_pacer';
import { LocalStorage } from '../../src/storage/local_storage';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'small-reader-'));
});
afterEach(() => rm(work, { recursive: true, force: true }));

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** The OS threads of this process (a worker thread is one; an ended one is joined). */
const threads = () => Number(/Threads:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);

/** Runs a reader over `files` (tag: index) and returns what came back, by index. */
async function readAll(files: string[], opts: { limit?: number; batchFiles?: number; batchBytes?: number } = {}) {
  const got = new Map<number, string>();
  const reader = new SmallReader<number>({
    limit: opts.limit ?? INLINE_FILE,
    batchFiles: opts.batchFiles,
    batchBytes: opts.batchBytes,
    onRead: (i, sha256, bytes) => {
      expect(got.has(i)).toBe(false);
      // The bytes given are the bytes hashed.
      expect(sha(bytes)).toBe(sha256);
      got.set(i, `read ${sha256}`);
      return true;
    },
    onMissed: async (i, file) => {
      expect(got.has(i)).toBe(false);
      expect(file).toBe(files[i]);
      await new Promise((r) => setImmediate(r)); // the caller's own read may be asynchronous
      got.set(i, 'missed');
    },
  });
  try {
    for (let i = 0; i < files.length; i++) {
      const waited = reader.add(files[i] as string, 100, i);
      if (waited) await waited;
      const polled = reader.poll();
      if (polled) await polled;
    }
    await reader.drain();
    return { got, lost: reader.lost };
  } finally {
    await reader.close();
  }
}

test('files read whole come back hashed; the vanished, a FIFO, a directory, a link and a file past the limit come back to the caller', async () => {
  const files: string[] = [];
  const want: string[] = [];
  for (let i = 0; i < 300; i++) {
    const f = path.join(work, `f${i}`);
    const bytes = i % 7 === 0 ? Buffer.alloc(0) : randomBytes(1 + ((i * 997) % 4000));
    await writeFile(f, bytes);
    files.push(f);
    want.push(`read ${sha(bytes)}`);
  }
  const odd = (name: string) => {
    const at = 50 + 40 * ['gone', 'fifo', 'dir', 'big', 'link'].indexOf(name);
    files[at] = path.join(work, name);
    want[at] = 'missed';
  };
  odd('gone');
  odd('fifo');
  expect(spawnSync('mkfifo', [path.join(work, 'fifo')]).status).toBe(0);
  odd('dir');
  await mkdir(path.join(work, 'dir'));
  odd('big');
  await writeFile(path.join(work, 'big'), randomBytes(4097));
  odd('link'); // a link to a readable file is not followed
  await symlink(files[0] as string, path.join(work, 'link'));
  const { got, lost } = await readAll(files, { limit: 4096, batchFiles: 16 });
  expect(lost).toBeUndefined();
  expect(files.map((_, i) => got.get(i))).toEqual(want);
});

test('a batch whose files outgrow their slab hands the rest back; nothing is read past a file`s end', async () => {
  // Listed as 100 bytes each, they are 3000: the slab (batchBytes + limit + 1) holds only some.
  const files: string[] = [];
  for (let i = 0; i < 40; i++) {
    files.push(path.join(work, `g${i}`));
    await writeFile(files[i] as string, Buffer.alloc(3000, i));
  }
  const { got } = await readAll(files, { limit: 4096, batchFiles: 20, batchBytes: 1000 });
  const outcomes = files.map((_, i) => got.get(i));
  expect(outcomes.filter((o) => o === 'missed').length).toBeGreaterThan(0);
  for (let i = 0; i < files.length; i++) {
    if (outcomes[i] !== 'missed') expect(outcomes[i]).toBe(`read ${sha(Buffer.alloc(3000, i))}`);
  }
});

test('a thread that runs out of memory hands every file of its batches back, and the reader goes on without it', async () => {
  const files: string[] = [];
  // A batch of long names past the thread's 16 MB heap: it dies receiving it.
  const long = `${work}/${'x'.repeat(2000)}`;
  for (let i = 0; i < 12_000; i++) files.push(`${long}${i}`);
  const { got, lost } = await readAll(files, { batchFiles: 12_000, batchBytes: 4 << 20 });
  expect(lost).toMatch(/failed|ended/);
  expect(got.size).toBe(files.length);
  expect([...got.values()].every((v) => v === 'missed')).toBe(true);
});

test('an abort ends a wait for the thread, and close() leaves no thread behind', async () => {
  const before = threads();
  const ac = new AbortController();
  const files = 50_000;
  const reader = new SmallReader<number>({
    limit: INLINE_FILE,
    signal: ac.signal,
    batchFiles: files,
    onRead: () => true,
    onMissed: () => undefined,
  });
  // One batch the thread takes a good half second over (it reads one byte at a time, file by file).
  const f = path.join(work, 'one');
  await writeFile(f, 'x');
  for (let i = 0; i < files - 1; i++) expect(reader.add(f, 1, i)).toBeUndefined();
  const sending = reader.add(f, 1, files - 1);
  expect(threads()).toBe(before + 1);
  ac.abort();
  await expect(Promise.resolve(sending).then(() => reader.drain())).rejects.toMatchObject({ name: 'CancelledError' });
  await reader.close();
  expect(threads()).toBe(before);
});

test('a tree backup through the thread stores exactly what the main thread alone does, and leaves access times alone', async () => {
  const root = path.join(work, 'tree');
  const longAgo = new Date('2020-01-02T03:04:05Z');
  for (let d = 0; d < 120; d++) {
    const dir = path.join(root, `2026010${d % 9}`, `f${d}`);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'a.png'), randomBytes(100 + d * 37));
    await writeFile(path.join(dir, 'a_thumb.jpg'), 'same thumbnail everywhere');
    await writeFile(path.join(dir, 'a_preview.jpg'), randomBytes(d * 500));
    if (d % 40 === 0) await writeFile(path.join(dir, 'big.bin'), randomBytes(INLINE_FILE + 1));
    for (const n of await readdir(dir)) await utimes(path.join(dir, n), longAgo, new Date('2026-01-01T00:00:00Z'));
  }
  const run = async (name: string, smallReaderAfter: number) => {
    const repo = await Repository.open(await LocalStorage.open(path.join(work, name)), { packs: true });
    await repo.prepareWrites(); // else the first files go the asynchronous way while the pack index loads
    const res = await backupTree({
      root,
      exclude: [],
      repo,
      pacer: new WalkPacer({ fixed: 'sync' }),
      smallReaderAfter,
    });
    await repo.packs.flush();
    return { res, entries: await collectEntries(res.entries), repo };
  };
  const alone = await run('alone', Infinity);
  const before = threads(); // after libuv's and the hash pool's threads started
  const both = await run('both', 10);
  expect(threads()).toBe(before);
  expect(alone.res.readByThread).toBe(0);
  // All but the first ten small files, and the three past the limit, were read by the thread.
  expect(both.res.readByThread).toBe(360 - 10);
  expect(both.entries).toEqual(alone.entries);
  expect({ files: both.res.files, read: both.res.filesRead, newBytes: both.res.newBytes }).toEqual({
    files: alone.res.files,
    read: alone.res.filesRead,
    newBytes: alone.res.newBytes,
  });
  for (const e of both.entries.filter((x) => x.type === 'file')) {
    expect((await stat(path.join(root, e.path))).atimeMs).toBe(longAgo.getTime());
  }
  // Each file's object reads back as the file's bytes.
  for (const e of both.entries.filter((x) => x.type === 'file')) {
    const bytes = await readFile(path.join(root, e.path));
    expect(e.sha256).toBe(sha(bytes));
    expect(sha(await both.repo.readObjectBytes(e.sha256 as string))).toBe(e.sha256);
  }
});

test('a pack store that fails while the thread reads fails the backup with that failure, as without the thread', async () => {
  const root = path.join(work, 'tree');
  for (let i = 0; i < 400; i++) {
    await mkdir(path.join(root, `d${i % 9}`), { recursive: true });
    await writeFile(path.join(root, `d${i % 9}`, `f${i}`), randomBytes(1000));
  }
  const failure = async (name: string, smallReaderAfter: number) => {
    const repoDir = path.join(work, name);
    const repo = await Repository.open(await LocalStorage.open(repoDir), {
      packs: true,
      packTargets: { targetSize: 8192 },
    });
    await repo.prepareWrites();
    // Where packs are stored there is a file: the first finished pack fails to be stored.
    await writeFile(path.join(repoDir, 'packs'), 'not a directory');
    const err = await backupTree({ root, exclude: [], repo, pacer: new WalkPacer({ fixed: 'sync' }), smallReaderAfter })
      .then(async (r) => {
        await collectEntries(r.entries);
        await repo.packs.flush();
      })
      .then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
    return { code: err?.code, name: err?.constructor.name, message: err?.message.replace(repoDir, 'REPO') };
  };
  const alone = await failure('alone', Infinity);
  expect(alone.code).toBeDefined();
  expect(alone.code).not.toBe('INTERNAL');
  expect(await failure('both', 0)).toEqual(alone);
});

test('a file replaced by a link after it was listed is not followed: the backup fails instead of storing what the link names', async () => {
  const root = path.join(work, 'tree');
  await mkdir(root);
  const secret = path.join(work, 'secret');
  await writeFile(secret, 'the content of a file the tree`s writer may not read');
  for (const n of ['a', 'b', 'c']) await writeFile(path.join(root, n), `file ${n}`);
  const repo = await Repository.open(await LocalStorage.open(path.join(work, 'repo')), { packs: true });
  await repo.prepareWrites();
  // The directory's files are listed (lstat) together; once 'a' is read, 'b' becomes a link.
  let swapped = false;
  const run = backupTree({
    root,
    exclude: [],
    repo,
    tolerateVanished: true,
    pacer: new WalkPacer({ fixed: 'sync' }),
    onProgress: () => {
      if (swapped) return;
      swapped = true;
      const b = path.join(root, 'b');
      spawnSync('mv', [b, `${b}.old`]);
      spawnSync('ln', ['-s', secret, b]);
    },
  });
  await expect(run).rejects.toMatchObject({ code: 'ELOOP' });
  expect(swapped).toBe(true);
  expect(repo.packs.has(sha(await readFile(secret)))).toBe(false);
  await rename(path.join(root, 'b.old'), path.join(work, 'b.old'));
});
