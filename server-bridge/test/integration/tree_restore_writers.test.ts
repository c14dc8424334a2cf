/**
 * New small files of a restore are written by worker threads (file_writers.ts): the tree that
 * comes out is the same whatever the threads and message sizes; a directory swapped for a link
 * before a thread opens it is refused; an abort or a failing progress callback ends the restore
 * with nothing still writing and no handle left open. Real directories, a real repository.
 */
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { readdirSync, readlinkSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalStorage } from '../../src/storage/local_storage';
import { Repository } from '../../src/repository/repository';
import { backupTree } from '../../src/repository/tree_backup';
import { restoreTree, type TreeRestoreOptions, type TreeRestoreResult } from '../../src/repository/tree_restore';
import { collectEntries } from '../../src/manifest/entry_list';
import type { Entry } from '../../src/manifest/manifest';
import { WalkPacer } from '../../src/repository/walk_pacer';
import { FileWriters } from '../../src/repository/file_writers';
import { ContainedTree } from '../../src/repository/contained_tree';
import { RestoredStats } from '../../src/repository/restored_stats';
import { RestoredIndexes } from '../../src/repository/restore_index';
import type { Worker } from 'node:worker_threads';
import { describeTree } from '../support/tree_snapshot';
import { caught } from '../support/caught';

let work: string;
let repo: Repository;
let src: string;
let entries: Entry[];
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'tree-writers-'));
  repo = await Repository.open(await LocalStorage.open(path.join(work, 'repo')), { packs: true });
  src = path.join(work, 'src');
  // Mattermost's attachment layout: many directories of a few small files each, modes that differ.
  for (let p = 0; p < 40; p++) {
    const dir = path.join(src, 'data', `2026010${p % 3}`, 'teams', 't', 'channels', `c${p % 4}`, 'users', 'u', `p${p}`);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'a.jpg'), `original ${p}`.repeat(p + 1), { mode: 0o640 });
    await writeFile(path.join(dir, 'a_thumb.jpg'), `thumb ${p}`, { mode: 0o600 });
    await writeFile(path.join(dir, 'empty'), '');
  }
  const b = await backupTree({ root: src, exclude: [], repo });
  await repo.packs.flush();
  entries = await collectEntries(b.entries);
});
afterAll(() => rm(work, { recursive: true, force: true }));

/** A mirror restore of the snapshot into `dest`, small files written synchronously (so by the threads). */
function restoreInto(dest: string, opts: Partial<TreeRestoreOptions>): Promise<TreeRestoreResult> {
  return restoreTree({
    entries,
    root: dest,
    exclude: [],
    mode: 'mirror',
    repo,
    pacer: new WalkPacer({ fixed: 'sync' }),
    ...opts,
  });
}

function openUnder(dir: string): string[] {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir);
    } catch {
      return false;
    }
  });
}

async function countFiles(root: string): Promise<number> {
  const all = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return all.filter((d) => d.isFile()).length;
}

test.each([
  ['one thread, one file a message', { threads: 1, batchFiles: 1, inFlight: 1 }],
  ['three threads, files of several directories a message', { threads: 3, batchFiles: 7, batchBytes: 300 }],
  ['the defaults', {}],
])('the same tree comes out: %s', async (_name, writers) => {
  const dest = path.join(work, `out-${_name.replace(/\W+/g, '-')}`);
  let progress = 0;
  const r = await restoreInto(dest, {
    writers,
    onProgress: (p) => {
      progress = p.files;
    },
  });
  expect(r.written).toBe(120);
  expect(progress).toBe(120);
  expect(await describeTree(dest)).toEqual(await describeTree(src));
  expect(openUnder(work)).toEqual([]);
});

test('one message for many larger files: the batch grows past its first buffer and its first 256 files, and every byte lands', async () => {
  const big = path.join(work, 'big-src');
  for (let d = 0; d < 3; d++) {
    const dir = path.join(big, `p${d}`);
    await mkdir(dir, { recursive: true });
    // 100 files a directory, 1-100 KiB each, every byte depending on the file and its place.
    for (let i = 0; i < 100; i++) {
      const data = Buffer.alloc(1024 * (1 + ((i * 37 + d) % 100)));
      for (let k = 0; k < data.length; k++) data[k] = (k * 31 + i * 7 + d) & 0xff;
      await writeFile(path.join(dir, `f${i}.bin`), data, { mode: i % 2 ? 0o640 : 0o600 });
    }
  }
  const b = await backupTree({ root: big, exclude: [], repo });
  await repo.packs.flush();
  const bigEntries = await collectEntries(b.entries);
  const dest = path.join(work, 'big-out');
  const r = await restoreTree({
    entries: bigEntries,
    root: dest,
    exclude: [],
    mode: 'mirror',
    repo,
    pacer: new WalkPacer({ fixed: 'sync' }),
    writers: { threads: 1, batchFiles: 1000, batchBytes: 64 * 1024 * 1024 },
  });
  expect(r.written).toBe(300);
  expect(await describeTree(dest)).toEqual(await describeTree(big));
  expect(openUnder(work)).toEqual([]);
});

test('a directory above the ones writer threads make, swapped for a link mid-restore: refused, nothing made through it', async () => {
  const victim = path.join(work, 'victim');
  await mkdir(victim, { recursive: true });
  const dest = path.join(work, 'swapped');
  let swapped = '';
  const err = await caught(
    restoreInto(dest, {
      writers: { threads: 1, batchFiles: 1, inFlight: 1 },
      onProgress: (p) => {
        if (swapped) return;
        // After the first file is written (by a thread, in the post directory it made), the
        // directory that holds the post directories becomes a link to another directory.
        const first = entries.find((e) => e.type === 'file') as Entry;
        swapped = path.join(dest, path.dirname(path.dirname(first.path)));
        renameSync(swapped, `${swapped}-real`);
        symlinkSync(victim, swapped);
        expect(p.files).toBe(1);
      },
    }),
  );
  expect(swapped).toMatch(/users\/u$/);
  expect(err.message).toMatch(/symbolic link/);
  expect(await readdir(victim)).toEqual([]);
  expect(openUnder(work)).toEqual([]);
});

test("a file put in a directory a thread made, before the thread gets to it: the main thread replaces it and sets that directory's metadata last", async () => {
  const dest = path.join(work, 'planted');
  const first = entries.find((e) => e.type === 'file') as Entry;
  const dir = path.dirname(first.path);
  const last = entries.filter((e) => path.dirname(e.path) === dir).at(-1) as Entry;
  let planted = false;
  const stats = new RestoredStats();
  const r = await restoreInto(dest, {
    writers: { threads: 1, batchFiles: 1, inFlight: 1 },
    stats,
    onProgress: (p) => {
      // The second file of the first post directory is written: its last one is planted before
      // the thread writes it, so the thread finds something at the name and hands it back.
      if (p.files !== 2 || planted) return;
      writeFileSync(path.join(dest, last.path), 'planted');
      planted = true;
    },
  });
  expect(planted).toBe(true);
  expect(r.written).toBe(120);
  // Neither the planted file nor its directory is reported by the thread: the index looks at them.
  const at = (rel: string) => entries.findIndex((e) => e.path === rel);
  expect(stats.get(at(last.path))).toBeUndefined();
  expect(stats.get(at(dir))).toBeUndefined();
  expect(stats.get(at(first.path))).toBeDefined();
  // Without the thread leaving this directory's metadata to the main thread, its time would be
  // the replacement's, set after the thread's.
  expect(await describeTree(dest)).toEqual(await describeTree(src));
  expect(openUnder(work)).toEqual([]);
});

test('what the threads report of each path they made is what lstat finds; the post-restore index built from it is the one lstat gives', async () => {
  const dest = path.join(work, 'reported');
  const stats = new RestoredStats();
  await restoreInto(dest, { writers: { threads: 2, batchFiles: 5 }, stats });
  // Every file (120) and every post directory (40) was made by a thread.
  expect(stats.size).toBe(160);
  let checked = 0;
  for (const [i, e] of entries.entries()) {
    const got = stats.get(i);
    if (!got) continue;
    const st = await lstat(path.join(dest, e.path), { bigint: true });
    expect({ path: e.path, ino: got.ino, mtimeNs: got.mtimeNs }).toEqual({
      path: e.path,
      ino: st.ino,
      mtimeNs: st.mtimeNs,
    });
    checked++;
  }
  expect(checked).toBe(160);
  const index = async (name: string, known?: RestoredStats): Promise<Entry[]> => {
    const indexes = RestoredIndexes.beside(path.join(work, name, 'mm-backup-signing.key'));
    expect(await indexes.record('data', dest, '20261201T000000Z-abcdef', entries, { known })).toBe(entries.length);
    return collectEntries((await indexes.load('data', dest))?.entries ?? []);
  };
  expect(await index('by-threads', stats)).toEqual(await index('by-lstat'));
});

test('a thread reports nothing for a file whose owner or mode is not what was asked for', async () => {
  const dir = path.join(work, 'unasked');
  await mkdir(dir);
  const tree = ContainedTree.open(dir);
  const seen = new Map<string, bigint>();
  const writers = new FileWriters<string>({ threads: 1, proc: tree.proc, onWritten: (t, ino) => seen.set(t, ino) });
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  try {
    const at = tree.dirTarget('');
    await writers.add(at, 'asked', Buffer.from('1'), { uid, gid, mode: 0o640, chown: false, chmod: true }, 'asked');
    // Not chmod'ed: made 0600, not the 0644 the entry has.
    await writers.add(at, 'mode', Buffer.from('2'), { uid, gid, mode: 0o644, chown: false, chmod: false }, 'mode');
    // Not chown'ed (as when not root): the owner is not the entry's.
    await writers.add(
      at,
      'owner',
      Buffer.from('3'),
      { uid: uid + 1, gid, mode: 0o640, chown: false, chmod: true },
      'owner',
    );
    await writers.drain();
    await writers.close();
  } finally {
    tree.close();
  }
  expect(seen.get('asked')).toBe((await lstat(path.join(dir, 'asked'), { bigint: true })).ino);
  expect(seen.get('mode')).toBe(0n);
  expect(seen.get('owner')).toBe(0n);
});

test('an abort mid-way: the restore stops, nothing is written after it returns, no handle stays open', async () => {
  const dest = path.join(work, 'aborted');
  const ac = new AbortController();
  const err = await caught(
    restoreInto(dest, {
      writers: { threads: 2, batchFiles: 2 },
      signal: ac.signal,
      onProgress: (p) => {
        if (p.files >= 10) ac.abort();
      },
    }),
  );
  expect(err.code).toBe('CANCELLED');
  const after = await countFiles(dest);
  expect(after).toBeGreaterThanOrEqual(10);
  expect(after).toBeLessThan(120);
  await sleep(200);
  expect(await countFiles(dest)).toBe(after);
  expect(openUnder(work)).toEqual([]);
});

test('a progress callback that throws fails the restore; it does not hang', async () => {
  const dest = path.join(work, 'callback');
  const err = await caught(
    restoreInto(dest, {
      writers: { threads: 1, batchFiles: 1, inFlight: 1 },
      onProgress: (p) => {
        if (p.files === 3) throw new Error('the progress sink is gone');
      },
    }),
  );
  expect(err.message).toBe('the progress sink is gone');
  expect(openUnder(work)).toEqual([]);
  // The files written before it are whole: the first one listed is the snapshot's bytes.
  const first = entries.find((e) => e.type === 'file') as Entry;
  expect(await readFile(path.join(dest, first.path))).toEqual(await readFile(path.join(src, first.path)));
});

test('a writer thread that ended is not sent more work, and closing the writers does not wait for it', async () => {
  const dir = path.join(work, 'ended');
  await mkdir(dir);
  const tree = ContainedTree.open(dir);
  const written: string[] = [];
  const writers = new FileWriters<string>({
    threads: 1,
    batchFiles: 1,
    proc: tree.proc,
    onWritten: (t) => written.push(t),
  });
  const meta = { uid: 0, gid: 0, mode: 0o640, chown: false, chmod: true };
  try {
    await writers.add(tree.dirTarget(''), 'one', Buffer.from('1'), meta, 'one');
    await writers.drain();
    // Fault injection: the thread ends (as one stuck past close's grace is ended).
    const slots = (writers as unknown as { slots: Array<{ worker: Worker }> }).slots;
    await slots[0]?.worker.terminate();
    await writers.add(tree.dirTarget(''), 'two', Buffer.from('22'), meta, 'two');
    await writers.drain();
    expect(written).toEqual(['one', 'two']);
    expect(await readFile(path.join(dir, 'two'), 'utf8')).toBe('22');
    await slots[1]?.worker.terminate();
    const t0 = Date.now();
    await writers.close(60_000);
    expect(Date.now() - t0).toBeLessThan(5000);
  } finally {
    tree.close();
  }
  expect(openUnder(dir)).toEqual([]);
});

test('the thread that made a directory ended: its next files and its metadata go to another thread, not to the ended one', async () => {
  const dir = path.join(work, 'ended-maker');
  await mkdir(dir);
  const tree = ContainedTree.open(dir);
  const written: string[] = [];
  const metaSet: string[] = [];
  const writers = new FileWriters<string>({
    threads: 2,
    batchFiles: 1,
    proc: tree.proc,
    onWritten: (t) => written.push(t),
    onDirMeta: (t) => metaSet.push(t),
  });
  const meta = { uid: 0, gid: 0, mode: 0o640, chown: false, chmod: true };
  try {
    await writers.add(tree.dirTarget('sub'), 'one', Buffer.from('1'), meta, 'one', {
      ...tree.dirTarget(''),
      name: 'sub',
    });
    await writers.drain();
    const slots = (writers as unknown as { slots: Array<{ worker: Worker }> }).slots;
    expect(slots).toHaveLength(1);
    await slots[0]?.worker.terminate();
    await writers.add(tree.dirTarget('sub'), 'two', Buffer.from('22'), meta, 'two');
    writers.addDirMeta(tree.dirTarget('sub'), { ...meta, mode: 0o750, time: 1_000_000 }, 'sub');
    // Before the fix this waited forever for an answer from the ended thread.
    await writers.drain();
    // One thread took over the directory: the metadata went to the thread writing 'two', after
    // it (a third thread, started for it while the second was busy, could set it before 'two').
    expect(slots).toHaveLength(2);
    expect(written).toEqual(['one', 'two']);
    expect(metaSet).toEqual(['sub']);
    const st = await lstat(path.join(dir, 'sub'));
    expect(st.mode & 0o7777).toBe(0o750);
    expect(st.mtimeMs).toBe(1_000_000_000);
    await writers.close();
  } finally {
    tree.close();
  }
  expect(openUnder(dir)).toEqual([]);
});
