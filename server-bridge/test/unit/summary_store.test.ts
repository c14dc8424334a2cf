/**
 * Kept summaries (repository/summary_store.ts): beside the signing key, one file per repository
 * and snapshot, answering only for the same repository, snapshot and manifest size; whatever else
 * is in the directory (planted, damaged, another repository's) is a miss, never an answer. Real
 * files in a temp directory.
 */
import { mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SummaryStore } from '../../src/repository/summary_store';
import { dataManifest } from '../support/manifests';

const A = '20260101T000000Z-aaaaaa';
const B = '20260102T000000Z-bbbbbb';
const SHA = 'c'.repeat(64);
let dir: string;
let key: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'summary-store-'));
  key = path.join(dir, 'mm-backup-signing.key');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const summary = (id: string) => dataManifest(id, [{ sha256: 'a'.repeat(64), size: 5 }]);

test('a summary answers for its repository, snapshot and size only, without the file index', async () => {
  const store = SummaryStore.beside(key, '/srv/repo');
  await store.put(A, 1234, SHA, summary(A));
  const got = await store.get(A, 1234);
  expect(got?.sha256).toBe(SHA);
  expect(got?.summary.id).toBe(A);
  expect(got?.summary.components[0]?.entries).toEqual([]);
  expect(got?.summary.components[0]?.files).toBe(1);
  // Another size (the manifest was replaced), another snapshot, another repository: misses.
  expect(await store.get(A, 1235)).toBeUndefined();
  expect(await store.get(B, 1234)).toBeUndefined();
  expect(await SummaryStore.beside(key, '/srv/other').get(A, 1234)).toBeUndefined();
  // No key file (no config): nothing kept, nothing found.
  const none = SummaryStore.beside(undefined, '/srv/repo');
  await none.put(A, 1, SHA, summary(A));
  expect(await none.get(A, 1)).toBeUndefined();
  const d = path.join(dir, 'mm-backup-summaries');
  expect((await stat(d)).mode & 0o777).toBe(0o700);
  const files = await readdir(d);
  expect(files).toHaveLength(1);
  for (const f of files) expect((await stat(path.join(d, f))).mode & 0o777).toBe(0o600);
});

test('a damaged, planted or mismatched file is a miss', async () => {
  const store = SummaryStore.beside(key, '/srv/repo');
  await store.put(A, 100, SHA, summary(A));
  const d = path.join(dir, 'mm-backup-summaries');
  const [name] = await readdir(d);
  const file = path.join(d, name as string);
  const good = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  const cases: Array<[string, string]> = [
    ['not JSON', '{'],
    ['another snapshot inside', JSON.stringify({ ...good, id: B })],
    ['another repository inside', JSON.stringify({ ...good, location: '/srv/other' })],
    ['a summary of another snapshot', JSON.stringify({ ...good, summary: summary(B) })],
    ['a summary with file entries', JSON.stringify({ ...good, summary: dataManifest(A, [{ sha256: SHA, size: 1 }]) })],
    ['a summary that is no manifest', JSON.stringify({ ...good, summary: { id: A } })],
    ['a bad checksum', JSON.stringify({ ...good, sha256: 'xyz' })],
    ['an unknown key', JSON.stringify({ ...good, extra: 1 })],
    ['a huge file', JSON.stringify({ ...good, pad: 'x'.repeat(2 * 1024 * 1024) })],
  ];
  for (const [what, text] of cases) {
    await writeFile(file, text);
    expect([what, await store.get(A, 100)]).toEqual([what, undefined]);
  }
  // A link to a good summary elsewhere is not followed.
  const elsewhere = path.join(dir, 'elsewhere.json');
  await writeFile(elsewhere, JSON.stringify(good));
  await rm(file);
  await symlink(elsewhere, file);
  expect(await store.get(A, 100)).toBeUndefined();
  await rm(file);
  await rm(elsewhere);
  await writeFile(file, JSON.stringify(good));
  expect((await store.get(A, 100))?.summary.id).toBe(A);
  // Names that are no snapshot id are refused before any path is made.
  await store.put('../../escape', 1, SHA, summary(A));
  expect(await store.get('../../escape', 1)).toBeUndefined();
  expect((await readdir(dir)).sort()).toEqual(['mm-backup-summaries']);
});

test('retain drops this repository’s summaries of snapshots gone, and nothing of another repository', async () => {
  const mine = SummaryStore.beside(key, '/srv/repo');
  const theirs = SummaryStore.beside(key, '/srv/other');
  await mine.put(A, 1, SHA, summary(A));
  await mine.put(B, 2, SHA, summary(B));
  await theirs.put(A, 1, SHA, summary(A));
  await mine.retain(new Set([B]));
  expect(await mine.get(A, 1)).toBeUndefined();
  expect((await mine.get(B, 2))?.summary.id).toBe(B);
  expect((await theirs.get(A, 1))?.summary.id).toBe(A);
  await mine.drop(B);
  expect(await mine.get(B, 2)).toBeUndefined();
  expect(await readdir(path.join(dir, 'mm-backup-summaries'))).toHaveLength(1);
});
