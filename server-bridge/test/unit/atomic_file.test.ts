/**
 * Files the sidecar rewrites as root in the repository (the job lock, the sidecar's state) are
 * replaced through a random, exclusively created temporary file: a link planted at the old
 * predictable name (`<file>.tmp-<pid>`) is never written through.
 */
import { lstat, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { replaceFile } from '../../src/core/atomic_file';
import { JobLock } from '../../src/jobs/lock';
import { LOCK_FILE } from '../../src/repository/layout';

let dir: string;
let victim: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'atomic-'));
  victim = path.join(dir, 'victim');
  await writeFile(victim, 'untouched');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

test('replaceFile writes 0600, leaves no temporary file, and writes through no planted link', async () => {
  const file = path.join(dir, 'state.json');
  await symlink(victim, `${file}.tmp-${process.pid}`);
  await replaceFile(file, '{"a":1}');
  expect(await readFile(file, 'utf8')).toBe('{"a":1}');
  expect((await lstat(file)).mode & 0o777).toBe(0o600);
  expect(await readFile(victim, 'utf8')).toBe('untouched');
  expect((await readdir(dir)).filter((n) => n.startsWith('state.json.tmp-') && !n.endsWith(`-${process.pid}`))).toEqual(
    [],
  );
});

test('the job lock records state without writing through a link planted at its old temporary name', async () => {
  await symlink(victim, path.join(dir, `${LOCK_FILE}.tmp-${process.pid}`));
  const { lock } = await JobLock.acquire(dir, 'job1', 'backup');
  await lock.update({ mattermostStopped: true });
  expect(JSON.parse(await readFile(path.join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ mattermostStopped: true });
  expect(await readFile(victim, 'utf8')).toBe('untouched');
  await lock.release();
});
