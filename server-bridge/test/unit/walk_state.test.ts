/**
 * Walk states (repository/walk_state.ts): one file per snapshot beside the signing key, so configs
 * beside each other that back up to other repositories each find their parent's state; the
 * KEEP_STATES newest of a component kept; the file of the old one-per-component layout still read.
 * Real files in a temp directory.
 */
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KEEP_STATES, WalkStates, type WalkState } from '../../src/repository/walk_state';

let dir: string;
let walks: WalkStates;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'walk-state-'));
  walks = WalkStates.beside(path.join(dir, 'mm-backup-signing.key'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const state = (entries: number): WalkState => ({
  fullWalkAt: '2026-12-01T00:00:00.000Z',
  exclude: [],
  subtrees: { '20261101': { fp: 'fp', entries } },
});
const id = (n: number) =>
  `202612${String(1 + (n % 28)).padStart(2, '0')}T${String(100000 + n)}Z-abc${String(n).padStart(3, '0')}`;

test('two repositories backed up in turn from one key directory: each backup finds its parent state', async () => {
  // Repository A's snapshot, then B's: B's save must not take A's parent state away.
  await walks.save('data', '/srv/mm/data', id(1), state(10));
  await walks.save('data', '/srv/mm/data', id(2), state(20));
  expect(await walks.load('data', '/srv/mm/data', id(1))).toEqual(state(10));
  expect(await walks.load('data', '/srv/mm/data', id(2))).toEqual(state(20));
  // Another root or component, or a snapshot never saved: none.
  expect(await walks.load('data', '/elsewhere', id(1))).toBeUndefined();
  expect(await walks.load('plugins', '/srv/mm/data', id(1))).toBeUndefined();
  expect(await walks.load('data', '/srv/mm/data', id(3))).toBeUndefined();
  const d = path.join(dir, 'mm-backup-walk');
  expect((await stat(d)).mode & 0o777).toBe(0o700);
  for (const f of await readdir(d)) expect((await stat(path.join(d, f))).mode & 0o777).toBe(0o600);
});

test(`the ${KEEP_STATES} newest states of a component are kept, the others removed; another component's are left alone`, async () => {
  await walks.save('plugins', '/srv/mm/plugins', id(0), state(1));
  for (let n = 1; n <= KEEP_STATES + 3; n++) await walks.save('data', '/srv/mm/data', id(n), state(n));
  const files = (await readdir(path.join(dir, 'mm-backup-walk'))).sort();
  expect(files.filter((f) => f.startsWith('data@'))).toHaveLength(KEEP_STATES);
  expect(await walks.load('data', '/srv/mm/data', id(3))).toBeUndefined();
  expect(await walks.load('data', '/srv/mm/data', id(4))).toEqual(state(4));
  expect(await walks.load('data', '/srv/mm/data', id(KEEP_STATES + 3))).toEqual(state(KEEP_STATES + 3));
  expect(await walks.load('plugins', '/srv/mm/plugins', id(0))).toEqual(state(1));
});

test('the one file per component of before is read for its snapshot, and removed by the next save', async () => {
  const d = path.join(dir, 'mm-backup-walk');
  await walks.save('plugins', '/p', id(9), state(9)); // makes the directory
  const legacy = path.join(d, 'data.json');
  const body = {
    format: 'mm-backup-walk-state',
    version: 1,
    component: 'data',
    root: '/srv/mm/data',
    snapshotId: id(1),
    ...state(7),
  };
  await writeFile(legacy, JSON.stringify(body), { mode: 0o600 });
  expect(await walks.load('data', '/srv/mm/data', id(1))).toEqual(state(7));
  expect(await walks.load('data', '/srv/mm/data', id(2))).toBeUndefined();
  await walks.save('data', '/srv/mm/data', id(2), state(8));
  expect(await readdir(d)).not.toContain('data.json');
  expect(await walks.load('data', '/srv/mm/data', id(2))).toEqual(state(8));
});

test('names that are not a component id and a snapshot id write nothing and find nothing', async () => {
  for (const [component, snap] of [
    ['data', '../../etc/passwd'],
    ['data', `${id(1)}/../x`],
    ['../data', id(1)],
    ['Data', id(1)],
  ] as const) {
    await walks.save(component, '/r', snap, state(1));
    expect(await walks.load(component, '/r', snap)).toBeUndefined();
  }
  await expect(readdir(path.join(dir, 'mm-backup-walk'))).rejects.toThrow(/ENOENT/);
  // A file someone put there under a valid name, for another snapshot than it says: not taken.
  await walks.save('data', '/r', id(1), state(1));
  const planted = {
    format: 'mm-backup-walk-state',
    version: 1,
    component: 'data',
    root: '/r',
    snapshotId: id(5),
    ...state(99),
  };
  await writeFile(path.join(dir, 'mm-backup-walk', `data@${id(6)}.json`), JSON.stringify(planted));
  expect(await walks.load('data', '/r', id(6))).toBeUndefined();
});
