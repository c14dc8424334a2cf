/**
 * Subtrees carried from the parent without walking them (issue 12 §5): the parent's entries come
 * out in their place in byPath order (after siblings such as 'd.txt' that sort between 'd' and
 * 'd/'), nothing under a carried directory is looked at, everything else is walked as usual, the
 * counts per day directory are reported, a count that does not match fails the backup (never a
 * snapshot with a hole), and a carried file without a checksum (a scan's) is read.
 */
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Repository } from '../../src/repository/repository';
import { backupTree } from '../../src/repository/tree_backup';
import { collectEntries } from '../../src/manifest/entry_list';
import { caught } from '../support/caught';
import { dayOf, dayTree, sha } from '../support/day_tree';

let work: string;
let root: string;
let repo: Repository;
beforeEach(async () => {
  ({ work, root, repo } = await dayTree('carry-', {
    '20240101/teams/t/a.png': 'old day a',
    '20240101/teams/t/b.png': 'old day b',
    '20240101.txt': 'a sibling that sorts between the dir and its subtree',
    '20240102/teams/t/c.png': 'another day',
    'users/u/profile.png': 'profile',
  }));
});
afterEach(() => rm(work, { recursive: true, force: true }));

test('a carried day keeps the parent’s entries without looking; the rest is walked; counts per day', async () => {
  const first = await backupTree({ root, exclude: [], repo, subtreeOf: dayOf });
  expect(Object.fromEntries(first.subtrees)).toEqual({ '20240101': 4, '20240102': 3 });
  // Behind Mattermost's back: a file of the carried day changes, and one of a walked day.
  await writeFile(path.join(root, '20240101/teams/t/a.png'), 'edited by hand');
  await writeFile(path.join(root, '20240102/teams/t/c.png'), 'edited too');
  await writeFile(path.join(root, '20240101/teams/t/new.png'), 'added by hand');
  const second = await backupTree({
    root,
    exclude: [],
    repo,
    previous: first.entries,
    carry: new Map([['20240101', 4]]),
    subtreeOf: dayOf,
  });
  const entries = await collectEntries(second.entries);
  // byPath order, with the carried subtree after the sibling that sorts before 'dir/'.
  expect(entries.map((e) => e.path)).toEqual([
    '',
    '20240101',
    '20240101.txt',
    '20240101/teams',
    '20240101/teams/t',
    '20240101/teams/t/a.png',
    '20240101/teams/t/b.png',
    '20240102',
    '20240102/teams',
    '20240102/teams/t',
    '20240102/teams/t/c.png',
    'users',
    'users/u',
    'users/u/profile.png',
  ]);
  const hash = Object.fromEntries(entries.filter((e) => e.sha256).map((e) => [e.path, e.sha256]));
  expect(hash['20240101/teams/t/a.png']).toBe(sha('old day a')); // carried: not looked at
  expect(hash['20240102/teams/t/c.png']).toBe(sha('edited too')); // walked: read again
  expect({ carried: second.carried, filesRead: second.filesRead, files: second.files }).toEqual({
    carried: 4,
    filesRead: 1,
    files: 5,
  });
  expect(Object.fromEntries(second.subtrees)).toEqual({ '20240101': 4, '20240102': 3 });
  // Walked in full again, the hand-made changes are all caught.
  const full = await backupTree({ root, exclude: [], repo, previous: second.entries, subtreeOf: dayOf });
  const after = Object.fromEntries((await collectEntries(full.entries)).map((e) => [e.path, e.sha256]));
  expect(after['20240101/teams/t/a.png']).toBe(sha('edited by hand'));
  expect(after['20240101/teams/t/new.png']).toBe(sha('added by hand'));
});

test('a carry whose count does not match the parent fails the backup instead of leaving a hole', async () => {
  const first = await backupTree({ root, exclude: [], repo, subtreeOf: dayOf });
  const err = await caught(
    backupTree({ root, exclude: [], repo, previous: first.entries, carry: new Map([['20240101', 9]]) }),
  );
  expect(err).toMatchObject({ code: 'INTERNAL' });
  expect((err as Error).message).toMatch(/holds 4 entries under 20240101, its walk state says 9/);
  // A day the parent does not have at all is no better.
  const missing = await caught(
    backupTree({ root, exclude: [], repo, previous: [], carry: new Map([['20240101', 4]]) }),
  );
  expect((missing as Error).message).toMatch(/holds 0 entries under 20240101/);
});

test('a carried file without a checksum (left by a scan) is read by the pass that carries it', async () => {
  const scan = await backupTree({ root, exclude: [], scan: true, subtreeOf: dayOf });
  expect((await collectEntries(scan.entries)).find((e) => e.path === '20240101/teams/t/a.png')?.sha256).toBe(undefined);
  const pass = await backupTree({
    root,
    exclude: [],
    repo,
    previous: scan.entries,
    carry: new Map([['20240101', 4]]),
    subtreeOf: dayOf,
  });
  const entries = await collectEntries(pass.entries);
  const a = entries.find((e) => e.path === '20240101/teams/t/a.png');
  expect(a?.sha256).toBe(sha('old day a'));
  expect(entries.filter((e) => e.type === 'file').every((e) => e.sha256)).toBe(true);
  expect(pass.filesRead).toBe(5);
});

test('a day where the parent (a scan) has files without a checksum is walked, not carried, when the parent’s counts say so', async () => {
  const scan = await backupTree({ root, exclude: [], scan: true, subtreeOf: dayOf });
  expect(scan.subtreeStats.get('20240101')?.unhashed).toBe(2);
  // Added after the scan: a carry would not see it (it takes the parent's entries), a walk does.
  await writeFile(path.join(root, '20240101/teams/t/later.png'), 'added after the scan');
  const pass = await backupTree({
    root,
    exclude: [],
    repo,
    previous: scan.entries,
    previousSubtrees: scan.subtreeStats,
    carry: new Map([['20240101', 4]]),
    subtreeOf: dayOf,
  });
  expect(pass.carried).toBe(0);
  const entries = await collectEntries(pass.entries);
  expect(entries.find((e) => e.path === '20240101/teams/t/later.png')?.sha256).toBe(sha('added after the scan'));
  expect(entries.filter((e) => e.type === 'file').every((e) => e.sha256)).toBe(true);
  expect(pass.filesRead).toBe(6);
  expect(Object.fromEntries(pass.subtrees)).toEqual({ '20240101': 5, '20240102': 3 });
});
