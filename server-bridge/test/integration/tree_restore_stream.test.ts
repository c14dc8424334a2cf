/**
 * restoreTree reads its entry list as a stream, in passes (check, removal by merge join, dirs and
 * files, links and directory metadata), instead of holding it. Real trees, a real repository, the
 * list in a real spool file as a loaded manifest's is; names chosen so that siblings sort between
 * a directory and its contents ('a', 'a.txt', 'a/b').
 */
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LocalStorage } from '../../src/storage/local_storage';
import { Repository } from '../../src/repository/repository';
import { backupTree } from '../../src/repository/tree_backup';
import { restoreTree } from '../../src/repository/tree_restore';
import { EntrySpool } from '../../src/manifest/entry_spool';
import { collectEntries, type EntryStream } from '../../src/manifest/entry_list';
import type { Entry } from '../../src/manifest/manifest';
import { describeTree } from '../support/tree_snapshot';
import { caught } from '../support/caught';

let work: string;
let repo: Repository;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'restore-stream-'));
  repo = await Repository.open(await LocalStorage.open(path.join(work, 'repo')));
});
afterEach(() => rm(work, { recursive: true, force: true }));

async function stream(entries: Entry[]): Promise<EntryStream> {
  const spool = await EntrySpool.create(work);
  for (const e of entries) await spool.write(e);
  const list = await spool.endSection();
  await spool.close();
  return list;
}

async function put(root: string, rel: string, content = rel): Promise<void> {
  await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
  await writeFile(path.join(root, rel), content);
}

async function makeTree(root: string): Promise<void> {
  for (const f of ['a/b', 'a/c', 'a/b.d/x', 'a.txt', 'a b', 'a-b/y', 'a0', 'z/deep/er/file']) await put(root, f);
  await mkdir(path.join(root, 'empty.d'), { recursive: true });
  await symlink('a.txt', path.join(root, 'a/link'));
  // A directory its owner cannot write: its mode is set once everything under it is written.
  await chmod(path.join(root, 'z/deep'), 0o555);
}

test('a whole tree restored from a stream, then everything the snapshot lacks removed by the merge join, excluded subtrees kept', async () => {
  const src = path.join(work, 'src');
  await makeTree(src);
  const b = await backupTree({ root: src, exclude: [], repo });
  const list = await stream(await collectEntries(b.entries));
  const dest = path.join(work, 'dest');
  const first = await restoreTree({
    entries: list,
    root: dest,
    exclude: ['other', 'holder/keep'],
    mode: 'mirror',
    repo,
  });
  expect(first.written).toBe(b.files + 1);
  expect(await describeTree(dest)).toEqual(await describeTree(src));

  // Additions beside and inside each of those names, type changes, another component's subtrees.
  await chmod(path.join(dest, 'z/deep'), 0o755);
  for (const f of ['a/extra', 'a.txt.extra', 'a-b/new', 'a.d/new/f', 'a/b.d/x.y', 'a./z', 'z/deep/er/more', 'zz']) {
    await put(dest, f);
  }
  // A directory removed whole holding more entries than one read of a directory returns (256):
  // it is read as a stream and emptied as it is read.
  for (let i = 0; i < 700; i++) await put(dest, i % 50 ? `a.d/many/f${i}` : `a.d/many/d${i}/g`);
  await rm(path.join(dest, 'a/c'));
  await put(dest, 'a/c/now-a-dir');
  await rm(path.join(dest, 'a-b'), { recursive: true });
  await put(dest, 'a-b', 'now a file');
  await put(dest, 'other/owned', 'another component');
  await put(dest, 'holder/keep/owned', 'another component');
  await put(dest, 'holder/not-kept', 'removed around the excluded subtree');
  const again = await restoreTree({
    entries: list,
    root: dest,
    exclude: ['other', 'holder/keep'],
    mode: 'mirror',
    repo,
  });
  // Removed: a/extra, a.txt.extra, a.d, a/b.d/x.y, a., z/deep/er/more, zz, the dir a/c, the file a-b, holder/not-kept.
  expect(again.removed).toBe(10);
  expect(again.written).toBe(2);
  expect(await readFile(path.join(dest, 'other/owned'), 'utf8')).toBe('another component');
  expect(await readFile(path.join(dest, 'holder/keep/owned'), 'utf8')).toBe('another component');
  expect(await readdir(path.join(dest, 'holder'))).toEqual(['keep']);
  expect(await describeTree(dest, ['other', 'holder'])).toEqual(await describeTree(src));
});

test('a stream out of path order is refused before anything is written', async () => {
  const src = path.join(work, 'src');
  await makeTree(src);
  const b = await backupTree({ root: src, exclude: [], repo });
  const swapped = await collectEntries(b.entries);
  const i = swapped.findIndex((e) => e.path === 'a.txt');
  [swapped[i], swapped[i + 1]] = [swapped[i + 1] as Entry, swapped[i] as Entry];
  const dest = path.join(work, 'dest');
  const err = await caught(
    restoreTree({ entries: await stream(swapped), root: dest, exclude: [], mode: 'mirror', repo }),
  );
  expect(err).toMatchObject({ code: 'VERIFICATION_FAILED' });
  expect(err.message).toMatch(/is out of order/);
  expect(await readdir(dest).catch(() => 'absent')).toBe('absent');
});

test('single files from a stream: only the listed paths change', async () => {
  const src = path.join(work, 'src');
  await makeTree(src);
  const b = await backupTree({ root: src, exclude: [], include: ['a.txt', 'a/b.d', 'z/deep/er/file'], repo });
  const entries = await collectEntries(b.entries);
  expect(entries.some((e) => e.path === '')).toBe(false);
  const dest = path.join(work, 'dest');
  await put(dest, 'untouched', 'mine');
  await put(dest, 'a/b.d/extra', 'inside a listed directory, not listed: kept');
  await restoreTree({ entries: await stream(entries), root: dest, exclude: [], mode: 'files', repo });
  expect(await readFile(path.join(dest, 'untouched'), 'utf8')).toBe('mine');
  expect(await readFile(path.join(dest, 'a/b.d/x'), 'utf8')).toBe('a/b.d/x');
  expect(await readFile(path.join(dest, 'a/b.d/extra'), 'utf8')).toMatch(/kept/);
  expect(await readFile(path.join(dest, 'z/deep/er/file'), 'utf8')).toBe('z/deep/er/file');
  expect(await readFile(path.join(dest, 'a.txt'), 'utf8')).toBe('a.txt');
});
