// The second reading thread inside a real walk, where the walk's own pace decides what waits:
// changed files among unchanged ones (the same index as without the thread), few of them (the
// thread's partial batch must go out instead of holding the output window open), and a walk
// whose pacer turns from synchronous to parallel calls while the thread holds files (each file
// stored once, the index unchanged).
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { collectEntries } from '../../src/manifest/entry_list';
import { Repository } from '../../src/repository/repository';
import { backupTree } from '../../src/repository/tree_backup';
import { WalkPacer } from '../../src/repository/walk_pacer';
import { LocalStorage } from '../../src/storage/local_storage';

let work: string;
let root: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'reading-thread-walk-'));
  root = path.join(work, 'tree');
});
afterEach(() => rm(work, { recursive: true, force: true }));

const sha = (b: string) => createHash('sha256').update(b).digest('hex');

async function makeTree(files: number, dirs: number): Promise<void> {
  for (let d = 0; d < dirs; d++) await mkdir(path.join(root, `d${d}`), { recursive: true });
  for (let i = 0; i < files; i += 500) {
    const writes = [];
    for (let j = i; j < Math.min(files, i + 500); j++) {
      writes.push(writeFile(path.join(root, `d${j % dirs}`, `f${j}`), `first ${j}`));
    }
    await Promise.all(writes);
  }
}

async function openRepo(name: string) {
  const repo = await Repository.open(await LocalStorage.open(path.join(work, name)), { packs: true });
  await repo.prepareWrites();
  return repo;
}

/** Backs the tree up, applies `change`, then backs it up again against the first index, without and with the thread. */
async function changedAgain(change: () => Promise<void>) {
  const repo = await openRepo('repo');
  const first = await collectEntries((await backupTree({ root, exclude: [], repo })).entries);
  await change();
  const again = async (smallReaderAfter: number) => {
    const res = await backupTree({
      root,
      exclude: [],
      repo,
      previous: first,
      pacer: new WalkPacer({ fixed: 'sync' }),
      smallReaderAfter,
    });
    return { res, entries: await collectEntries(res.entries) };
  };
  return { alone: await again(Infinity), both: await again(0) };
}

test('an incremental backup with changed files among many unchanged ones: the same index as without the thread', async () => {
  await makeTree(3000, 13);
  // Every seventh file changes: the thread's files wait among unchanged entries in the window.
  const { alone, both } = await changedAgain(async () => {
    for (let i = 0; i < 3000; i += 7) await writeFile(path.join(root, `d${i % 13}`, `f${i}`), `second ${i}, longer`);
  });
  expect(both.res.readByThread).toBe(Math.ceil(3000 / 7));
  expect(both.res.filesRead).toBe(alone.res.filesRead);
  expect(both.entries).toEqual(alone.entries);
  expect(both.entries.find((e) => e.path === 'd0/f0')?.sha256).toBe(sha('second 0, longer'));
});

test('a few changed files among thousands unchanged: the thread`s partial batch goes out, and the window stays near 1,024 entries', async () => {
  await makeTree(20_000, 20);
  // One file in a thousand changes: a batch of 64 would take 64,000 entries to fill.
  const { alone, both } = await changedAgain(async () => {
    for (let i = 0; i < 20_000; i += 1000) await writeFile(path.join(root, `d${i % 20}`, `f${i}`), `second ${i}`);
  });
  expect(both.res.readByThread).toBe(20);
  expect(both.entries).toEqual(alone.entries);
  expect(both.entries.find((e) => e.path === 'd0/f0')?.sha256).toBe(sha('second 0'));
  // Without the thread a changed file is read at once. With it, the entries behind one wait
  // until its batch is sent (at 1,024: HELD_WAITING) and read (the walk waits past 2,048; a
  // path or two more come while the batch is taken up), not until the window's own bound of 16,384.
  expect(alone.res.windowPeak).toBeLessThan(64);
  expect(both.res.windowPeak).toBeGreaterThan(1024);
  expect(both.res.windowPeak).toBeLessThan(2 * 1024 + 16);
}, 60_000);

test('the pacer turns to parallel calls while the thread holds files: every file stored once, the same index', async () => {
  await makeTree(12_000, 12);
  // A clock by which synchronous calls look slow and parallel ones fast: the first window of
  // calls is synchronous (the thread starts and takes files), then the pacer turns parallel.
  let t = 0n;
  const seen: { pacer?: WalkPacer } = {};
  const flipping = new WalkPacer({
    clock: () => {
      t += seen.pacer?.sync === false ? 1000n : 1_000_000_000n;
      return t;
    },
  });
  seen.pacer = flipping;
  const repo = await openRepo('flip');
  const res = await backupTree({ root, exclude: [], repo, pacer: flipping, smallReaderAfter: 0 });
  const entries = await collectEntries(res.entries);
  await repo.packs.flush();
  const steady = await openRepo('steady');
  const alone = await backupTree({
    root,
    exclude: [],
    repo: steady,
    pacer: new WalkPacer({ fixed: 'sync' }),
    smallReaderAfter: Infinity,
  });
  expect(entries).toEqual(await collectEntries(alone.entries));
  expect(res.filesRead).toBe(12_000);
  // Both ways were taken: the thread's (synchronous windows) and libuv's (parallel ones).
  expect(res.readByThread).toBeGreaterThan(1000);
  expect(res.filesRead - res.readByThread).toBeGreaterThan(1000);
  expect(res.newBytes).toBe(alone.newBytes);
  const files = entries.filter((x) => x.type === 'file');
  const missing = [];
  for (const e of files) if (!(await repo.hasObject(e.sha256 as string))) missing.push(e.path);
  expect(missing).toEqual([]);
}, 60_000);
