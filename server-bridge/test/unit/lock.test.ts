import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { JobLock } from '../../src/jobs/lock';
import { caught } from '../support/caught';

async function tmp(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'lock-'));
}

test('a second acquire while the first holds the lock fails with LOCK_HELD naming the holder', async () => {
  const dir = await tmp();
  const { lock } = await JobLock.acquire(dir, 'job1', 'backup');
  const err = await caught(JobLock.acquire(dir, 'job2', 'verify'));
  expect(err.code).toBe('LOCK_HELD');
  expect(err.message).toContain('backup job1');
  await lock.release();
  const again = await JobLock.acquire(dir, 'job3', 'prune');
  expect(again.stale).toBeUndefined();
  await again.lock.release();
});

test('a lock left by a dead process is stale: taken over and reported with its state', async () => {
  const dir = await tmp();
  // A real child process takes the lock, records that it stopped Mattermost, and is killed.
  const child = spawn(
    process.execPath,
    [
      '-e',
      `
    const fs = require('fs'); const os = require('os');
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const procStart = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    fs.writeFileSync(${JSON.stringify(JobLock.path(dir))}, JSON.stringify({ pid: process.pid, host: os.hostname(), procStart, jobId: 'dead', kind: 'backup', startedAt: new Date().toISOString(), mattermostStopped: true }));
    console.log('locked'); setInterval(() => {}, 1000);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise((r) => child.stdout.once('data', r));
  await expect(JobLock.acquire(dir, 'mine', 'backup')).rejects.toMatchObject({ code: 'LOCK_HELD' });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const { lock, stale } = await JobLock.acquire(dir, 'mine', 'backup');
  expect(stale?.info).toMatchObject({ jobId: 'dead', mattermostStopped: true });
  expect(JSON.parse(await readFile(JobLock.path(dir), 'utf8'))).toMatchObject({ jobId: 'mine', pid: process.pid });
  await lock.release();
});

test('a reused pid with another start time is stale', async () => {
  const dir = await tmp();
  await writeFile(
    JobLock.path(dir),
    JSON.stringify({
      pid: process.pid,
      host: os.hostname(),
      procStart: '1',
      jobId: 'old',
      kind: 'backup',
      startedAt: 'x',
      mattermostStopped: false,
    }),
  );
  const { lock, stale } = await JobLock.acquire(dir, 'new', 'backup');
  expect(stale?.info.jobId).toBe('old');
  await lock.release();
});

test('update() persists state; release() only removes our own lock', async () => {
  const dir = await tmp();
  const { lock } = await JobLock.acquire(dir, 'j', 'backup');
  await lock.update({ mattermostStopped: true });
  expect((await JobLock.inspect(dir))?.info.mattermostStopped).toBe(true);
  await writeFile(JobLock.path(dir), JSON.stringify({ ...lock.current, jobId: 'someone-else' }));
  await lock.release();
  expect((await JobLock.inspect(dir))?.info.jobId).toBe('someone-else');
});
