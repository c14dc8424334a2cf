/**
 * Post-restore indexes (repository/restore_index.ts): what a restore records is what is on disk
 * (nanosecond mtimes, new inodes) with the snapshot's checksums, and it is used only where it
 * applies: the same component and root, a snapshot still in the repository, an intact file.
 * Real trees, a real repository.
 */
import { appendFile, lstat, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LocalStorage } from '../../src/storage/local_storage';
import { Repository } from '../../src/repository/repository';
import { backupTree } from '../../src/repository/tree_backup';
import { restoreTree } from '../../src/repository/tree_restore';
import { RestoredIndexes } from '../../src/repository/restore_index';
import { RestoredStats } from '../../src/repository/restored_stats';
import { snapshotKey } from '../../src/repository/layout';
import { collectEntries } from '../../src/manifest/entry_list';
import type { ComponentPlan } from '../../src/components/component';
import type { Entry } from '../../src/manifest/manifest';
import { WalkPacer } from '../../src/repository/walk_pacer';

let work: string;
let repo: Repository;
let indexes: RestoredIndexes;
const snapshotId = '20261201T000000Z-abcdef';
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'restored-index-'));
  repo = await Repository.open(await LocalStorage.open(path.join(work, 'repo')));
  indexes = RestoredIndexes.beside(path.join(work, 'etc', 'mm-backup-signing.key'));
});
afterEach(() => rm(work, { recursive: true, force: true }));

async function restored(): Promise<{ root: string; entries: Entry[] }> {
  const src = path.join(work, 'src');
  await mkdir(path.join(src, 'd/e'), { recursive: true });
  for (const f of ['a', 'd/b', 'd/e/c', 'd.txt']) await writeFile(path.join(src, f), `content of ${f}`);
  const entries = await collectEntries((await backupTree({ root: src, exclude: [], repo })).entries);
  const root = path.join(work, 'dest');
  await restoreTree({ entries, root, exclude: [], mode: 'mirror', repo });
  return { root, entries };
}

const plan = (root: string): ComponentPlan => ({
  id: 'data',
  title: 'File store',
  kind: 'tree',
  status: 'included',
  root,
  exclude: [],
});

// The lstat calls are synchronous or awaited, as the pacer finds faster: the same index either way.
test.each(['sync', 'async'] as const)(
  'the index holds the snapshot’s checksums with the metadata on disk now, in path order, privately (%s lstat)',
  async (fixed) => {
    const { root, entries } = await restored();
    const pacer = new WalkPacer({ fixed });
    expect(await indexes.record('data', root, snapshotId, entries, { pacer })).toBe(entries.length);
    const dir = path.join(work, 'etc', 'mm-backup-restored');
    expect((await lstat(dir)).mode & 0o777).toBe(0o700);
    expect((await lstat(path.join(dir, 'data.jsonl'))).mode & 0o777).toBe(0o600);
    const loaded = await indexes.load('data', root);
    expect(loaded?.snapshotId).toBe(snapshotId);
    const got = await collectEntries(loaded?.entries ?? []);
    expect(got.map((e) => e.path)).toEqual(entries.map((e) => e.path));
    for (const e of got) {
      const st = await lstat(e.path ? path.join(root, e.path) : root, { bigint: true });
      expect(e.mtime).toBe(st.mtimeNs.toString());
      if (e.type === 'file') {
        expect(e.ino).toBe(Number(st.ino));
        expect(e.sha256).toBe(entries.find((x) => x.path === e.path)?.sha256);
      }
    }
  },
);

test.each(['sync', 'async'] as const)(
  'a path changed since the restore (other size, other type, gone) is left out: the backup looks at it afresh (%s lstat)',
  async (fixed) => {
    const { root, entries } = await restored();
    await appendFile(path.join(root, 'a'), ' and more');
    await rm(path.join(root, 'd/e'), { recursive: true });
    await writeFile(path.join(root, 'd/e'), 'now a file');
    await indexes.record('data', root, snapshotId, entries, { pacer: new WalkPacer({ fixed }) });
    const paths = (await collectEntries((await indexes.load('data', root))?.entries ?? [])).map((e) => e.path);
    expect(paths).toEqual(['', 'd', 'd.txt', 'd/b']);
  },
);

test('what the restore reports of a path is recorded as is, without looking at the path again', async () => {
  const { root, entries } = await restored();
  const known = new RestoredStats();
  const a = entries.findIndex((e) => e.path === 'a');
  known.set(a, 4242n, 1_700_000_000_123_456_789n);
  expect(await indexes.record('data', root, snapshotId, entries, { known })).toBe(entries.length);
  const got = await collectEntries((await indexes.load('data', root))?.entries ?? []);
  expect(got.find((e) => e.path === 'a')).toEqual({ ...entries[a], ino: 4242, mtime: '1700000000123456789' });
  // The others were looked at on disk.
  const st = await lstat(path.join(root, 'd.txt'), { bigint: true });
  expect(got.find((e) => e.path === 'd.txt')?.ino).toBe(Number(st.ino));
});

test('used as a parent only for the same root, while the snapshot it came from is in the repository, and when intact', async () => {
  const { root, entries } = await restored();
  await indexes.record('data', root, snapshotId, entries);
  expect(await indexes.parentFor(plan(root), repo)).toBeUndefined(); // that snapshot is not in this repository
  await repo.storage.put(snapshotKey(snapshotId), Buffer.from('{}'));
  expect((await indexes.parentFor(plan(root), repo))?.id).toBe('data');
  expect(await indexes.parentFor(plan(path.join(work, 'elsewhere')), repo)).toBeUndefined();
  expect(await indexes.parentFor({ ...plan(root), id: 'config' }, repo)).toBeUndefined();

  const file = path.join(work, 'etc', 'mm-backup-restored', 'data.jsonl');
  const text = await readFile(file, 'utf8');
  await writeFile(file, text.slice(0, text.length - 20));
  expect(await indexes.load('data', root)).toBeUndefined();
  const lines = text.trimEnd().split('\n');
  await writeFile(file, [lines[0], lines[2], lines[1], ...lines.slice(3)].join('\n'));
  expect(await indexes.load('data', root)).toBeUndefined();

  await writeFile(file, text);
  await indexes.forget('data');
  expect(await indexes.load('data', root)).toBeUndefined();
});

test('a host without a signing key file keeps no index', async () => {
  const { root, entries } = await restored();
  const none = RestoredIndexes.beside(undefined);
  expect(await none.record('data', root, snapshotId, entries)).toBe(0);
  expect(await none.load('data', root)).toBeUndefined();
});
