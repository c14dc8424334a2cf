/**
 * A restore checks every object before Mattermost stops, then reads them again, minutes later,
 * to write them. Whoever can write the repository (or the bucket) can swap an object in between:
 * the signed manifest pins each object's checksum, so what is written must be checked against it
 * at the moment it is used, not only at preflight. Real repository, real files.
 */
import { mkdtemp, readFile, rm, stat, writeFile, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { LocalStorage } from '../../src/storage/local_storage';
import { Repository } from '../../src/repository/repository';
import { objectKey } from '../../src/repository/layout';
import { restoreTree } from '../../src/repository/tree_restore';
import type { Entry } from '../../src/manifest/manifest';
import { WalkPacer } from '../../src/repository/walk_pacer';
import { caught } from '../support/caught';

let work: string;
let repo: Repository;
let goodSha: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'objswap-'));
  repo = await Repository.open(await LocalStorage.open(path.join(work, 'repo')));
  goodSha = (await repo.ingest(Readable.from([Buffer.from('good config')]))).sha256;
  // The swap: after preflight checked it, the object file is replaced (same size, other bytes).
  expect(await repo.checkObject(goodSha, 11)).toBeUndefined();
  const file = path.join(work, 'repo', objectKey(goodSha));
  await rm(file, { force: true });
  await writeFile(file, 'EVIL config');
});
afterEach(() => rm(work, { recursive: true, force: true }));

const uid = process.getuid?.() ?? 0;
const gid = process.getgid?.() ?? 0;
const mtime = `${Date.now()}000000`;
const entries: Entry[] = [
  { path: '', type: 'dir', mode: 0o755, uid, gid, mtime },
  { path: 'config.json', type: 'file', mode: 0o600, uid, gid, mtime, size: 11, sha256: '' },
];

test('an object swapped after the preflight check is refused when it is written, and nothing of it lands in the target', async () => {
  const root = path.join(work, 'target');
  const list = entries.map((e) => (e.type === 'file' ? { ...e, sha256: goodSha } : e));
  const err = await caught(
    restoreTree({ entries: list, root, exclude: [], mode: 'mirror', repo, component: 'config' }),
  );
  expect(err).toMatchObject({ code: 'VERIFICATION_FAILED' });
  expect(err.message).toMatch(new RegExp(`object ${goodSha.slice(0, 12)}.*does not match its checksum`));
  expect(await readFile(path.join(root, 'config.json'), 'utf8').catch(() => 'absent')).toBe('absent');
  // No temporary copy of the swapped content is left beside the target either.
  expect(await readdir(root)).toEqual([]);
});

test('in a directory the restore made (files written under their own names), a swapped object leaves nothing either', async () => {
  const root = path.join(work, 'target3');
  const list: Entry[] = [
    { path: '', type: 'dir', mode: 0o755, uid, gid, mtime },
    { path: 'sub', type: 'dir', mode: 0o755, uid, gid, mtime },
    { path: 'sub/config.json', type: 'file', mode: 0o600, uid, gid, mtime, size: 11, sha256: goodSha },
  ];
  for (const fixed of ['sync', 'async'] as const) {
    await rm(root, { recursive: true, force: true });
    const err = await caught(
      restoreTree({ entries: list, root, exclude: [], mode: 'mirror', repo, pacer: new WalkPacer({ fixed }) }),
    );
    expect(err).toMatchObject({ code: 'VERIFICATION_FAILED' });
    expect(await readdir(path.join(root, 'sub'))).toEqual([]);
  }
});

test('an existing file is kept when the object that would replace it was swapped', async () => {
  const root = path.join(work, 'target2');
  await restoreTree({ entries: [entries[0] as Entry], root, exclude: [], mode: 'mirror', repo });
  await writeFile(path.join(root, 'config.json'), 'current config');
  const list = entries.map((e) => (e.type === 'file' ? { ...e, sha256: goodSha } : e));
  await caught(restoreTree({ entries: list, root, exclude: [], mode: 'mirror', repo }));
  expect(await readFile(path.join(root, 'config.json'), 'utf8')).toBe('current config');
  expect((await stat(path.join(root, 'config.json'))).isFile()).toBe(true);
});

test('a file the restore reads from a snapshot (its config.json) is checked too', async () => {
  const err = await caught(repo.readObjectBytes(goodSha));
  expect(err).toMatchObject({ code: 'VERIFICATION_FAILED' });
});

test('a streamed object (a database dump) read to its end fails its check when it was swapped, passes when it was not', async () => {
  const swapped = await repo.readObjectChecked(goodSha);
  for await (const _ of swapped.stream) {
    /* a consumer reads it all */
  }
  expect(() => swapped.check()).toThrow(/does not match its checksum/);
  const sha = (await repo.ingest(Readable.from([Buffer.from('intact dump')]))).sha256;
  const intact = await repo.readObjectChecked(sha);
  const chunks: Buffer[] = [];
  for await (const c of intact.stream) chunks.push(c as Buffer);
  expect(Buffer.concat(chunks).toString()).toBe('intact dump');
  expect(() => intact.check()).not.toThrow();
});
