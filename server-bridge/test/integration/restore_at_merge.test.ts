/**
 * restore --at's attachment merge (operations/restore_at_files.ts) with real files, real symbolic
 * links and a real repository: the whole-tree restore of the base snapshot puts back a link it
 * holds, and the merge of a later snapshot must never write through it (the sidecar runs as root),
 * nor through a link or non-directory found on disk, while the legitimate new attachments are added.
 */
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { kindOf } from '../../src/components/registry';
import { collectEntries } from '../../src/manifest/entry_list';
import type { ComponentRecord, Entry } from '../../src/manifest/manifest';
import { addedSince } from '../../src/operations/restore_at_files';
import { restoreTargets } from '../../src/operations/restore_plan';
import { Repository } from '../../src/repository/repository';
import { LocalStorage } from '../../src/storage/local_storage';

let work: string;
let repo: Repository;
let etc: string;
let root: string;
const sha: Record<string, string> = {};

beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'at-merge-'));
  repo = await Repository.open(await LocalStorage.open(path.join(work, 'repo')));
  etc = path.join(work, 'etc'); // stands for /etc
  await mkdir(etc);
  await writeFile(path.join(etc, 'keep'), 'precious');
  root = path.join(work, 'data');
  for (const name of ['a', 'b', 'c', 'evil']) {
    sha[name] = (await repo.ingest(Readable.from([Buffer.from(`${name}\n`)]))).sha256;
  }
});
afterEach(() => rm(work, { recursive: true, force: true }));

const uid = process.getuid?.() ?? 0;
const gid = process.getgid?.() ?? 0;
const mtime = `${Date.now()}000000`;
const dir = (p: string): Entry => ({ path: p, type: 'dir', mode: 0o755, uid, gid, mtime });
const file = (p: string, content: string, mode = 0o644): Entry => ({
  path: p,
  type: 'file',
  mode,
  uid,
  gid,
  mtime,
  size: content.length + 1,
  sha256: sha[content],
});
const link = (p: string, target: string): Entry => ({ path: p, type: 'symlink', mode: 0o777, uid, gid, mtime, target });
const record = (entries: Entry[]): ComponentRecord => ({
  id: 'data',
  title: 'File store',
  status: 'included',
  root,
  exclude: [],
  entries,
  files: entries.filter((e) => e.type === 'file').length,
  bytes: 0,
  newBytes: 0,
  filesRead: 0,
  durationMs: 0,
});
const targets = restoreTargets({ safetySnapshot: false, force: false }, undefined);
const step = { signal: new AbortController().signal, progress: () => undefined, log: () => undefined };
/** What restore --at does: the base whole (mirror), then what the later snapshot added (files). */
const restore = async (r: ComponentRecord) => {
  await kindOf(r).checkRestore(r, targets);
  await kindOf(r).restore(r, { repo, step, targets });
};
const etcUntouched = async () => {
  expect(await readdir(etc)).toEqual(['keep']);
  expect(await readFile(path.join(etc, 'keep'), 'utf8')).toBe('precious');
};
const content = (rel: string) => readFile(path.join(root, rel), 'utf8');

test('base has X as a link to /etc, the later snapshot X/ as a directory: nothing lands in /etc, the new attachments do', async () => {
  const base = record([dir(''), dir('2026'), file('2026/a.txt', 'a'), link('X', etc)]);
  const later = record([
    dir(''),
    dir('2026'),
    file('2026/a.txt', 'a'),
    file('2026/b.txt', 'b'),
    dir('X'),
    dir('X/profile.d'),
    file('X/profile.d/evil.sh', 'evil', 0o4755),
    dir('new'),
    file('new/c.txt', 'c'),
  ]);
  await restore(base);
  expect(await readlink(path.join(root, 'X'))).toBe(etc);

  const added = await addedSince(base, later, root);
  expect((await collectEntries(added.record.entries)).map((e) => e.path)).toEqual(['2026/b.txt', 'new', 'new/c.txt']);
  expect(added.record.files).toBe(2);
  expect(added.refused).toBe(2);
  expect(added.refusedExamples).toEqual([
    '"X/profile.d" lies under "X", a symlink in the restored snapshot',
    '"X/profile.d/evil.sh" lies under "X", a symlink in the restored snapshot',
  ]);
  await restore(added.record);

  await etcUntouched();
  expect(await readlink(path.join(root, 'X'))).toBe(etc);
  expect(await content('2026/a.txt')).toBe('a\n');
  expect(await content('2026/b.txt')).toBe('b\n');
  expect(await content('new/c.txt')).toBe('c\n');
});

test('a file in the base where the later snapshot has a directory: nothing is added under it, the file stays', async () => {
  const base = record([dir(''), file('F', 'a')]);
  const later = record([dir(''), dir('F'), file('F/x', 'evil'), file('G', 'b')]);
  await restore(base);
  const added = await addedSince(base, later, root);
  expect((await collectEntries(added.record.entries)).map((e) => e.path)).toEqual(['G']);
  expect(added.refusedExamples).toEqual(['"F/x" lies under "F", a file in the restored snapshot']);
  await restore(added.record);
  expect(await content('F')).toBe('a\n');
  expect(await content('G')).toBe('b\n');
});

test('a link or another type found on disk (planted after the base was put back) is refused, named, and not written through', async () => {
  const base = record([dir(''), dir('Y'), file('Y/a.txt', 'a')]);
  const later = record([
    dir(''),
    dir('Y'),
    file('Y/a.txt', 'a'),
    file('Y/evil.sh', 'evil'),
    file('W', 'evil'),
    dir('Z'),
    file('Z/c.txt', 'c'),
  ]);
  await restore(base);
  // What the base restore left is changed on disk before the merge reads it.
  await rm(path.join(root, 'Y'), { recursive: true });
  await symlink(etc, path.join(root, 'Y'));
  await mkdir(path.join(root, 'W'));
  await writeFile(path.join(root, 'W', 'precious'), 'kept');

  const added = await addedSince(base, later, root);
  expect((await collectEntries(added.record.entries)).map((e) => e.path)).toEqual(['Z', 'Z/c.txt']);
  expect(added.record.files).toBe(1);
  expect(added.refusedExamples).toEqual([
    '"W" is a dir on disk, not the snapshot\'s file',
    '"Y/evil.sh" lies under "Y", which is a symlink on disk',
  ]);
  await restore(added.record);

  await etcUntouched();
  expect(await readFile(path.join(root, 'W', 'precious'), 'utf8')).toBe('kept');
  expect(await content('Z/c.txt')).toBe('c\n');
  expect((await lstat(path.join(root, 'Y'))).isSymbolicLink()).toBe(true);
});
