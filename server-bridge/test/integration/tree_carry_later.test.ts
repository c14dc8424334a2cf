/**
 * Settled day directories joined in after the walk (carried_entries.ts): the pass made while
 * Mattermost is stopped passes over the precopy's entries under a carried day without parsing
 * them, and the result's entries bring them in when read, exactly as carrying them during the walk
 * would. A day the precopy's counts do not vouch for is carried as before; counts that do not
 * match what the index holds fail the pass (then made again walking everything) or the read.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CarriedEntries, type SubtreeStats } from '../../src/repository/carried_entries';
import { collectEntries, EntryCursor, storedLines } from '../../src/manifest/entry_list';
import { manifestText } from '../../src/manifest/manifest_io';
import { manifestOf } from '../support/manifests';
import { EntrySpool } from '../../src/manifest/entry_spool';
import type { Entry } from '../../src/manifest/manifest';
import type { Repository } from '../../src/repository/repository';
import { backupTree, precopyEntries } from '../../src/repository/tree_backup';
import { caught } from '../support/caught';
import { dayOf, dayTree, sha } from '../support/day_tree';

let work: string;
let root: string;
let repo: Repository;
beforeEach(async () => {
  ({ work, root, repo } = await dayTree('carry-later-', {
    '20240101/teams/t/a.png': 'old day a',
    '20240101/teams/t/b.png': 'old day b',
    '20240101.txt': 'a sibling that sorts between the dir and its subtree',
    '20240102/teams/t/c.png': 'another day',
    '20240103/teams/t/d.png': 'a third day',
    'users/u/profile.png': 'profile',
  }));
});
afterEach(() => rm(work, { recursive: true, force: true }));

const settled = new Map([
  ['20240101', 4],
  ['20240103', 3],
]);

/** As an offline backup does before the stop: a scan against the parent, then the precopy of what it found. */
async function beforeTheStop() {
  const parent = await backupTree({ root, exclude: [], repo, subtreeOf: dayOf });
  await writeFile(path.join(root, '20240102/teams/t/new.png'), 'new before the stop');
  const scan = await backupTree({
    root,
    exclude: [],
    scan: true,
    previous: parent.entries,
    carry: settled,
    subtreeOf: dayOf,
  });
  return precopyEntries(scan, repo, undefined, undefined, undefined, dayOf);
}

test('days joined in after the walk: the same index and counts as carrying them during it, with nothing under them looked at', async () => {
  const pre = await beforeTheStop();
  expect(Object.fromEntries(pre.subtrees)).toEqual({
    '20240101': { entries: 4, files: 2, bytes: 18, unhashed: 0 },
    '20240102': { entries: 4, files: 2, bytes: 30, unhashed: 0 },
    '20240103': { entries: 3, files: 1, bytes: 11, unhashed: 0 },
  });
  // During the stop: a file of a settled day changed by hand (not looked at), one of the current day changed.
  await writeFile(path.join(root, '20240101/teams/t/a.png'), 'edited by hand');
  await writeFile(path.join(root, '20240102/teams/t/c.png'), 'edited during the stop');
  const opts = { root, exclude: [], repo, previous: pre.entries, carry: settled, subtreeOf: dayOf };
  const eager = await backupTree(opts);
  const later = await backupTree({ ...opts, previousSubtrees: pre.subtrees });
  expect(later.entries).toBeInstanceOf(CarriedEntries);
  expect(later.carriedLater).toBe(7);
  expect(eager.carriedLater).toBe(0);
  // newBytes aside: the second pass finds the changed file stored by the first.
  const { entries: _e, carriedLater: _l, newBytes: _n, ...eagerCounts } = eager;
  const { entries: _e2, carriedLater: _l2, newBytes: _n2, ...laterCounts } = later;
  expect(laterCounts).toEqual(eagerCounts);
  expect(later.carried).toBe(7);
  expect(later.entries.length).toBe(eager.entries.length);
  const joined = await collectEntries(later.entries);
  expect(joined).toEqual(await collectEntries(eager.entries));
  // Its stored lines (what a manifest is written from) are the same entries, in the same order.
  const lines = storedLines(later.entries);
  expect(lines).toBeDefined();
  const texts: string[] = [];
  for await (const l of lines ?? []) texts.push(l);
  expect(texts.map((l) => JSON.parse(l) as Entry)).toEqual(joined);
  let manifest = '';
  for await (const t of manifestText(manifestOf([joined]))) manifest += t;
  const fromLines = manifestOf([joined]);
  (fromLines.components[0] as { entries: unknown }).entries = later.entries;
  let written = '';
  for await (const t of manifestText(fromLines)) written += t;
  expect(written).toBe(manifest);
  expect(joined.map((e) => e.path)).toEqual([
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
    '20240102/teams/t/new.png',
    '20240103',
    '20240103/teams',
    '20240103/teams/t',
    '20240103/teams/t/d.png',
    'users',
    'users/u',
    'users/u/profile.png',
  ]);
  const hash = Object.fromEntries(joined.filter((e) => e.sha256).map((e) => [e.path, e.sha256]));
  expect(hash['20240101/teams/t/a.png']).toBe(sha('old day a'));
  expect(hash['20240102/teams/t/c.png']).toBe(sha('edited during the stop'));
  // Read twice (a manifest write, then a check): the same entries each time.
  expect(await collectEntries(later.entries)).toEqual(joined);
});

/** A spooled index whose lines in the middle of 20240101/ are not JSON at all, with counts that vouch for the day. */
async function indexWithUnreadableDay(): Promise<{
  list: Awaited<ReturnType<EntrySpool['endSection']>>;
  stats: Map<string, SubtreeStats>;
}> {
  const spool = await EntrySpool.create(work, 'hand');
  const dir = (p: string): Entry => ({ path: p, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: '1' });
  await spool.write(dir(''));
  await spool.write(dir('20240101'));
  // The first and the last under the day are read (to check where the run starts and ends), the others not.
  await spool.write(dir('20240101/x0'));
  for (let i = 1; i < 3; i++) await spool.writeChecked(`not json ${i}`, dir(`20240101/x${i}`));
  await spool.write(dir('20240101/x3'));
  await spool.write(dir('20240102'));
  const list = await spool.endSection();
  await spool.close();
  return { list, stats: new Map([['20240101', { entries: 4, files: 0, bytes: 0, unhashed: 0 }]]) };
}

test('the walk passes over a joined day without parsing it; reading the result is what parses it', async () => {
  const { list, stats } = await indexWithUnreadableDay();
  const tree = path.join(work, 'small');
  await mkdir(path.join(tree, '20240101'), { recursive: true });
  await mkdir(path.join(tree, '20240102'), { recursive: true });
  const res = await backupTree({
    root: tree,
    exclude: [],
    repo,
    previous: list,
    previousSubtrees: stats,
    carry: new Map([['20240101', 4]]),
    subtreeOf: dayOf,
  });
  expect(res.carriedLater).toBe(4);
  expect(Object.fromEntries(res.subtrees)).toEqual({ '20240101': 4 });
  await expect(collectEntries(res.entries)).rejects.toThrow(SyntaxError);
  // Carried during the walk instead, the same index fails the walk itself.
  await expect(
    backupTree({ root: tree, exclude: [], repo, previous: list, carry: new Map([['20240101', 4]]), subtreeOf: dayOf }),
  ).rejects.toThrow(SyntaxError);
});

test('counts that vouch for more than the index holds fail the pass (it is made again walking everything)', async () => {
  const pre = await beforeTheStop();
  const wrong = new Map(pre.subtrees);
  wrong.set('20240101', { entries: 5, files: 3, bytes: 18, unhashed: 0 });
  const err = await caught(
    backupTree({
      root,
      exclude: [],
      repo,
      previous: pre.entries,
      previousSubtrees: wrong,
      carry: new Map([['20240101', 5]]),
      subtreeOf: dayOf,
    }),
  );
  expect(err).toMatchObject({ code: 'INTERNAL', details: { carryMismatch: '20240101' } });
  expect((err as Error).message).toMatch(/does not hold the 5 entries counted under 20240101/);
});

test('a day whose counts do not match the carry is carried during the walk; one that holds a file without a checksum is walked', async () => {
  const pre = await beforeTheStop();
  const stats = new Map(pre.subtrees);
  stats.set('20240101', { ...(pre.subtrees.get('20240101') as SubtreeStats), unhashed: 1 });
  stats.set('20240103', { ...(pre.subtrees.get('20240103') as SubtreeStats), entries: 2 });
  const res = await backupTree({
    root,
    exclude: [],
    repo,
    previous: pre.entries,
    previousSubtrees: stats,
    carry: settled,
    subtreeOf: dayOf,
  });
  expect(res.carriedLater).toBe(0);
  // 20240103's three entries; 20240101 was walked (a carry would look at its files one by one).
  expect(res.carried).toBe(3);
  expect(Object.fromEntries(res.subtrees)).toMatchObject({ '20240101': 4, '20240103': 3 });
  expect(res.entries).not.toBeInstanceOf(CarriedEntries);
});

test('joined entries that are not the number counted fail the read: no manifest with a hole', async () => {
  const pre = await beforeTheStop();
  // A walked list without that day, which is to come from the precopy's index.
  const walked = await backupTree({ root, exclude: ['20240103'], repo, scan: true, subtreeOf: dayOf });
  const list = new CarriedEntries(walked.entries, pre.entries, [{ rel: '20240103', entries: 4 }]);
  await expect(collectEntries(list)).rejects.toThrow(
    /holds 3 entries under 20240103, 4 were counted when it was written: the snapshot is not written/,
  );
});

test('a manifest written from the joined lines copies a carried day unparsed but for where it starts and ends', async () => {
  const { list } = await indexWithUnreadableDay();
  const spool = await EntrySpool.create(work, 'walked');
  const dir = (p: string): Entry => ({ path: p, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: '1' });
  for (const p of ['', '20240101', '20240102']) await spool.write(dir(p));
  const walked = await spool.endSection();
  await spool.close();
  const joined = new CarriedEntries(walked, list, [{ rel: '20240101', entries: 4 }]);
  const lines: string[] = [];
  for await (const l of storedLines(joined) ?? []) lines.push(l);
  // The two lines inside the day were never parsed (they are not JSON); the rest were.
  expect(lines).toEqual([
    JSON.stringify(dir('')),
    JSON.stringify(dir('20240101')),
    JSON.stringify(dir('20240101/x0')),
    'not json 1',
    'not json 2',
    JSON.stringify(dir('20240101/x3')),
    JSON.stringify(dir('20240102')),
  ]);
  // Parsing the same list, as a restore or a check would, meets them.
  await expect(collectEntries(joined)).rejects.toThrow(SyntaxError);
});

test('copied unparsed, a carried day that does not hold the number counted still fails the manifest', async () => {
  const pre = await beforeTheStop();
  const walked = await backupTree({ root, exclude: ['20240103'], repo, scan: true, subtreeOf: dayOf });
  const read = async (entries: number) => {
    const list = new CarriedEntries(walked.entries, pre.entries, [{ rel: '20240103', entries }]);
    const m = manifestOf([[]]);
    (m.components[0] as { entries: unknown }).entries = list;
    let text = '';
    for await (const t of manifestText(m)) text += t;
    return text;
  };
  // Under the day (its own entry was left out with it) are three: one more or fewer than counted is no manifest.
  await expect(read(4)).rejects.toThrow(/holds 3 entries under 20240103, 4 were counted/);
  await expect(read(2)).rejects.toThrow(/holds 3 entries under 20240103, 2 were counted/);
  await expect(read(0)).rejects.toThrow(/holds 1 entry under 20240103, 0 were counted/);
  const text = await read(3);
  expect(text).toContain('"path":"20240103/teams/t/d.png"');
  const paths = [...text.matchAll(/"path":"([^"]*)"/g)].map((m) => m[1]);
  expect(paths.filter((p) => p?.startsWith('20240103'))).toEqual([
    '20240103/teams',
    '20240103/teams/t',
    '20240103/teams/t/d.png',
  ]);
});

test('a cursor passes over a subtree of an array list too, checking where it starts and ends', async () => {
  const e = (p: string): Entry => ({ path: p, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: '1' });
  const list = ['', 'a', 'a.txt', 'a/1', 'a/2', 'a/3', 'b'].map(e);
  const c = new EntryCursor(list);
  expect(await c.seek('a.txt')).toMatchObject({ path: 'a.txt' });
  expect(await c.skipUnder('a/', 3)).toBe(true);
  expect(await c.seek('b')).toMatchObject({ path: 'b' });
  expect(await new EntryCursor(list).skipUnder('a/', 2)).toBe(false);
  expect(await new EntryCursor(list).skipUnder('a/', 4)).toBe(false);
  expect(await new EntryCursor(list).skipUnder('c/', 0)).toBe(true);
  expect(await new EntryCursor(list).skipUnder('a/', 0)).toBe(false);
});
