/**
 * A snapshot is untrusted input: a hand-written entry list must not make restoreTree write
 * outside its root or through a symbolic link. Real directories, a real repository.
 */
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { LocalStorage } from '../../src/storage/local_storage';
import { Repository } from '../../src/repository/repository';
import { backupTree } from '../../src/repository/tree_backup';
import { restoreTree } from '../../src/repository/tree_restore';
import type { Entry } from '../../src/manifest/manifest';
import { describeTree } from '../support/tree_snapshot';
import { caught } from '../support/caught';

let work: string;
let repo: Repository;
let victim: string;
let evilSha: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'contain-'));
  repo = await Repository.open(await LocalStorage.open(path.join(work, 'repo')));
  victim = path.join(work, 'victim');
  await mkdir(victim, { mode: 0o700 });
  await chmod(victim, 0o700);
  await writeFile(path.join(victim, 'keep'), 'precious');
  evilSha = (await repo.ingest(Readable.from([Buffer.from('evil')]))).sha256;
});
afterEach(() => rm(work, { recursive: true, force: true }));

const uid = process.getuid?.() ?? 0;
const gid = process.getgid?.() ?? 0;
const mtime = `${Date.now()}000000`;
const dir = (p: string): Entry => ({ path: p, type: 'dir', mode: 0o777, uid, gid, mtime });
const file = (p: string, sha = evilSha): Entry => ({ path: p, type: 'file', mode: 0o666, uid, gid, mtime, size: 4, sha256: sha });
const link = (p: string, target: string): Entry => ({ path: p, type: 'symlink', mode: 0o777, uid, gid, mtime, target });

async function victimUntouched(): Promise<void> {
  expect((await readdir(victim)).sort()).toEqual(['keep']);
  expect((await stat(victim)).mode & 0o777).toBe(0o700);
  expect(await readFile(path.join(victim, 'keep'), 'utf8')).toBe('precious');
}

test('symlink, then a directory of the same name, then a file in it: refused, nothing written through the link', async () => {
  const root = path.join(work, 'target');
  const entries = [dir(''), link('lnk', victim), dir('lnk'), file('lnk/evil')];
  const err = await caught(restoreTree({ entries, root, exclude: [], mode: 'mirror', repo }));
  expect(err).toMatchObject({ code: 'VERIFICATION_FAILED' });
  expect(err.message).toMatch(/"lnk".*appears more than once/);
  await victimUntouched();
});

test('a component of single files: a file listed under a symlink of the same list is refused', async () => {
  const root = path.join(work, 'target');
  const err = await caught(restoreTree({ entries: [link('a', victim), file('a/evil')], root, exclude: [], mode: 'files', repo }));
  expect(err).toMatchObject({ code: 'VERIFICATION_FAILED' });
  expect(err.message).toMatch(/"a\/evil".*lies under the symlink "a"/);
  await victimUntouched();
});

test('a path listed twice is refused even when each copy alone is harmless', async () => {
  const root = path.join(work, 'target');
  const other = (await repo.ingest(Readable.from([Buffer.from('other')]))).sha256;
  const err = await caught(restoreTree({ entries: [dir(''), file('x'), file('x', other)], root, exclude: [], mode: 'mirror', repo }));
  expect(err).toMatchObject({ code: 'VERIFICATION_FAILED' });
  expect(err.message).toMatch(/"x".*appears more than once/);
  expect(await readdir(root).catch(() => [])).toEqual([]);
});

test.each([
  ['..', '../escaped'],
  ['a segment ..', 'sub/../../escaped'],
  ['a backslash ..', 'sub\\..\\..\\escaped'],
  ['an empty segment', 'sub//escaped'],
  ['a NUL byte', 'sub/esc\0aped'],
])('an entry path with %s is refused before anything is written', async (_what, bad) => {
  const root = path.join(work, 'target');
  const err = await caught(restoreTree({ entries: [dir(''), dir('sub'), file('ok'), file(bad)], root, exclude: [], mode: 'mirror', repo }));
  expect(err).toMatchObject({ code: 'VERIFICATION_FAILED' });
  expect(await readdir(root).catch(() => [])).toEqual([]);
  expect(await readdir(work)).not.toContain('escaped');
});

test('an entry at or inside a subtree the component excludes (another component\'s) is refused, and that subtree kept', async () => {
  const root = path.join(work, 'target');
  await mkdir(path.join(root, 'config'), { recursive: true });
  await writeFile(path.join(root, 'config/config.json'), '{}');
  for (const entries of [[dir(''), link('config', victim)], [dir(''), dir('config'), file('config/evil')]]) {
    const err = await caught(restoreTree({ entries, root, exclude: ['config'], mode: 'mirror', repo }));
    expect(err).toMatchObject({ code: 'VERIFICATION_FAILED' });
    expect(err.message).toMatch(/excluded/);
    expect(await readdir(path.join(root, 'config'))).toEqual(['config.json']);
    expect((await lstat(path.join(root, 'config'))).isDirectory()).toBe(true);
    await victimUntouched();
  }
});

test('a symlink already in the target where the snapshot has a directory is replaced, never written through', async () => {
  const root = path.join(work, 'target');
  await mkdir(root);
  await symlink(victim, path.join(root, 'sub'));
  await symlink(path.join(victim, 'keep'), path.join(root, 'f'));
  for (const mode of ['mirror', 'files'] as const) {
    const entries = mode === 'mirror' ? [dir(''), dir('sub'), file('sub/evil'), file('f')] : [dir('sub'), file('sub/evil'), file('f')];
    await restoreTree({ entries, root, exclude: [], mode, repo });
    expect((await lstat(path.join(root, 'sub'))).isDirectory()).toBe(true);
    expect(await readFile(path.join(root, 'sub/evil'), 'utf8')).toBe('evil');
    expect((await lstat(path.join(root, 'f'))).isFile()).toBe(true);
    await victimUntouched();
    await rm(path.join(root, 'sub'), { recursive: true });
    await symlink(victim, path.join(root, 'sub'));
  }
});

test('a legitimate tree with symlinks pointing anywhere restores them exactly (the link is data)', async () => {
  const src = path.join(work, 'src');
  await mkdir(path.join(src, 'bin'), { recursive: true });
  await writeFile(path.join(src, 'bin/mattermost'), 'binary');
  await symlink('/etc/passwd', path.join(src, 'abs-link'));
  await symlink('../../outside/of/everything', path.join(src, 'bin/rel-link'));
  await symlink(victim, path.join(src, 'to-victim'));
  await symlink('mattermost', path.join(src, 'bin/sibling'));
  const b = await backupTree({ root: src, exclude: [], repo });
  const dest = path.join(work, 'restored');
  await restoreTree({ entries: b.entries, root: dest, exclude: [], mode: 'mirror', repo });
  expect(await readlink(path.join(dest, 'abs-link'))).toBe('/etc/passwd');
  expect(await readlink(path.join(dest, 'bin/rel-link'))).toBe('../../outside/of/everything');
  expect(await readlink(path.join(dest, 'to-victim'))).toBe(victim);
  const strip = (t: Record<string, string>) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, k === '.' ? v.replace(/ mtime=\d+/, '') : v]));
  expect(strip(await describeTree(dest))).toEqual(strip(await describeTree(src)));
  // Restoring again over the restored tree changes nothing and follows no link.
  const again = await restoreTree({ entries: b.entries, root: dest, exclude: [], mode: 'mirror', repo });
  expect(again.written).toBe(0);
  await victimUntouched();
});
