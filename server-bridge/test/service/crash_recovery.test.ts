/**
 * A job killed outright (SIGKILL of the whole process group) while Mattermost is stopped: the
 * next `serve` start (as systemd would restart it) or the next CLI job repairs what it left, with
 * the same function. Real `serve` and CLI processes, real signals, real PostgreSQL, and the REST
 * stand-in whose port really closes on `service.stop` (a real child process).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseDsn } from '../../src/database/dsn';
import { query } from '../../src/database/sql_client';
import { CLI, runCli } from '../support/cli';
import { tableDigests } from '../support/db_rows';
import { eventually, setupService, type ServiceEnv } from '../support/service_env';
import { describeTree } from '../support/tree_snapshot';

let env: ServiceEnv;
let repo: string;
beforeAll(async () => {
  env = await setupService();
  const r = await env.api('POST', '/v1/connect', { body: { admin_token: env.admin.token } });
  expect(r.body.problems).toEqual([]);
  repo = JSON.parse(await readFile(env.cfgFile, 'utf8')).repository.path;
  await env.sidecar.close(); // these tests run `serve` as real processes on the configured port
}, 120_000);
afterAll(async () => {
  await env?.restart();
  await env?.cleanup();
});
const serves = new Set<Serve>();
afterEach(async () => {
  for (const s of serves) await stopServe(s); // also after a failed assertion: the port is needed again
  expect(env.rest.violations).toEqual([]);
});

interface Serve {
  child: ChildProcess;
  output(): string;
  exited: Promise<unknown>;
}

/** `mm-backup serve` in its own process group (as systemd runs it), answering on its port. */
async function startServe(): Promise<Serve> {
  const child = spawn(process.execPath, [CLI, '--config', env.cfgFile, 'serve'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise((r) => child.once('exit', r));
  const s = { child, output: () => out, exited };
  serves.add(s);
  await eventually(
    async () => (await fetch(`${env.sidecarUrl}/healthz`).catch(() => undefined))?.ok,
    20_000,
    'serve to listen',
  );
  return s;
}

async function stopServe(s: Serve): Promise<void> {
  serves.delete(s);
  if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGTERM');
  await s.exited;
}

/** Starts a job through the API (refused with 409 only while a start-up repair holds the lock). */
async function startJob(body: Record<string, unknown>): Promise<string> {
  const r = await eventually(
    async () => {
      const res = await env.api('POST', '/v1/jobs', { body });
      return res.status === 409 && /startup-check/.test(JSON.stringify(res.body)) ? undefined : res;
    },
    20_000,
    'a start-up repair to let go of the lock',
  );
  expect(r.status).toBe(202);
  return r.body.id as string;
}

/**
 * SIGKILL as systemd's KillMode=control-group does it: the process group and every descendant
 * (mm-backup starts its children in their own groups, so a group kill alone would miss them).
 */
function killAll(pid: number): void {
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parents.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  const all = [pid];
  for (let i = 0; i < all.length; i++) for (const [child, ppid] of parents) if (ppid === all[i]) all.push(child);
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* gone */
  }
  for (const p of all) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

const lockFile = () => path.join(repo, 'lock.json');
const readJson = async (file: string) => JSON.parse(await readFile(file, 'utf8').catch(() => 'null'));
const channelPosts = () => env.rest.state.posts(env.channel.id).map((p) => p.message);
const cliLogs = (r: { events: Array<Record<string, any>> }) =>
  r.events
    .filter((e) => e.type === 'log')
    .map((e) => String(e.message))
    .join('\n');

test('serve killed (SIGKILL of its process group) mid offline backup with Mattermost stopped: the next serve starts Mattermost, marks the job interrupted, counts and posts it', async () => {
  const first = await startServe();
  // Mattermost's start is held, so the job is caught with Mattermost stopped, every time.
  env.holdStart();
  const jobId = await startJob({ kind: 'backup', mode: 'offline' });
  await eventually(
    async () => {
      const lock = await readJson(lockFile());
      const rec = await readJson(path.join(repo, 'jobs', `${jobId}.json`));
      return lock?.mattermostStopped === true && env.rest.down && rec?.current_step === 'start';
    },
    60_000,
    'the backup to stop Mattermost and wait for its start',
  );
  killAll(first.child.pid as number);
  await stopServe(first);
  env.holdStart()(); // later starts go through; the killed process's start request never completes
  await new Promise((r) => setTimeout(r, 1000));
  expect(env.rest.down).toBe(true);
  expect((await readJson(path.join(repo, 'jobs', `${jobId}.json`))).status).toBe('running');

  const t0 = Date.now();
  const second = await startServe();
  try {
    await eventually(() => !env.rest.down, 20_000, 'Mattermost to be started by the new serve');
    expect(Date.now() - t0).toBeLessThan(20_000);
    const job = await eventually(
      async () => {
        const r = await env.api('GET', `/v1/jobs/${jobId}`);
        return r.status === 200 && r.body.status !== 'running' ? r.body : undefined;
      },
      20_000,
      'the job to be marked',
    );
    expect(job.status).toBe('failed');
    expect(job.error.code).toBe('INTERRUPTED');
    expect(job.error.message).toMatch(/was killed while Mattermost was stopped.*Mattermost was started again/);
    expect(job.steps.find((s: { id: string }) => s.id === 'start')?.status).toBe('failed');
    const list = await env.api('GET', '/v1/jobs');
    expect(list.body.jobs ?? list.body).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: jobId, status: 'failed' })]),
    );
    const metrics = await (await fetch(`${env.sidecarUrl}/metrics`)).text();
    expect(metrics).toMatch(/mm_backup_jobs_interrupted_total\{kind="backup"\} 1/);
    expect(metrics).toMatch(/mm_backup_job_failures_total\{kind="backup"\} 1/);
    const status = await env.api('GET', '/v1/status');
    expect(status.status).toBe(200);
    expect(status.body.interrupted_jobs).toEqual([expect.objectContaining({ id: jobId, kind: 'backup' })]);
    expect(status.body.recovery).toMatchObject({ job_id: jobId, action: 'started', mattermost_running: true });
    expect(status.body.lock.state).toBe('free');
    const post = await eventually(
      () => channelPosts().find((m) => m.includes(jobId) && /interrupted/.test(m)),
      20_000,
      'the post',
    );
    expect(post).toMatch(/Mattermost was started again/);
    expect(second.output()).toMatch(/was interrupted/);
    await env.rest.executeSlashCommand({ userId: env.admin.id, channelId: env.channel.id, text: '/backup status' });
    expect(env.rest.state.ephemeral(env.admin.id).at(-1)?.message).toMatch(
      new RegExp(`Backup ${jobId} was interrupted`),
    );
    // The lock is free again: a new job runs.
    const next = await startJob({ kind: 'backup', mode: 'online' });
    await eventually(
      async () => ['succeeded', 'failed'].includes((await env.api('GET', `/v1/jobs/${next}`)).body.status),
      60_000,
      'the next job',
    );
    expect((await env.api('GET', `/v1/jobs/${next}`)).body.status).toBe('succeeded');
  } finally {
    await stopServe(second);
  }
}, 180_000);

/** State an admin cares about: every table's rows and the install's files. */
async function installState(): Promise<{ rows: Record<string, string>; tree: Record<string, string> }> {
  return {
    rows: await tableDigests(env.sb.dbUrl),
    tree: await describeTree(env.sb.installDir, [], { dirMtimes: false }),
  };
}

/** Takes a snapshot, then changes the install so a restore of it really overwrites something. */
async function snapshotThenChange(): Promise<string> {
  const b = await runCli(['--config', env.cfgFile, '--json', 'backup', '--mode', 'online']);
  expect(b.code).toBe(0);
  await query(parseDsn(env.sb.dbUrl), "UPDATE posts SET message = 'edited after the backup'");
  await writeFile(path.join(env.sb.installDir, 'config', 'added-after-backup.txt'), `changed ${Date.now()}`);
  return b.summary?.snapshot.id as string;
}

/** Starts a CLI restore in its own process group and SIGKILLs the group once the database is overwritten. */
async function killRestoreMidway(id: string, ...flags: string[]): Promise<void> {
  const child = spawn(process.execPath, [CLI, '--config', env.cfgFile, '--json', 'restore', id, '--yes', ...flags], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const exited = new Promise((r) => child.once('exit', r));
  let killed = false;
  let partial = '';
  child.stdout?.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      const e = JSON.parse(l) as Record<string, unknown>;
      if (!killed && e.type === 'step.finished' && e.step === 'restore-database') {
        killed = true;
        killAll(child.pid as number);
      }
    }
  });
  child.stderr?.resume();
  await exited;
  expect(killed).toBe(true);
  expect(env.rest.down).toBe(true);
  const lock = await readJson(lockFile());
  expect(lock).toMatchObject({ kind: 'restore', mattermostStopped: true, overwriting: true });
}

test('a CLI restore killed after its safety snapshot: the next CLI job rolls back from it, then starts Mattermost; the install is as before the restore', async () => {
  const id = await snapshotThenChange();
  const before = await installState();
  await killRestoreMidway(id);
  const lock = await readJson(lockFile());
  expect(lock.safetySnapshotId).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
  // The database was already overwritten by the killed restore.
  expect((await installState()).rows).not.toEqual(before.rows);

  const next = await runCli(['--config', env.cfgFile, '--json', 'prune', '--dry-run']);
  expect(next.code).toBe(0);
  expect(env.rest.down).toBe(false);
  expect(await installState()).toEqual(before);
  const logs = cliLogs(next);
  expect(logs).toMatch(new RegExp(`rolling back from safety snapshot ${lock.safetySnapshotId as string}`));
  expect(logs).toMatch(/rolled back from safety snapshot .*Mattermost was started again and is healthy/);
  // Said everywhere: the history (a CLI run gets a record), the list, the channel.
  const list = await runCli(['--config', env.cfgFile, '--json', 'list']);
  expect(list.summary?.interrupted_jobs).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ kind: 'restore', message: expect.stringMatching(/rolled back from safety snapshot/) }),
    ]),
  );
  expect(list.summary?.lock.state).toBe('free');
  expect(channelPosts().some((m) => /Restore .* was interrupted/.test(m) && m.includes(lock.safetySnapshotId))).toBe(
    true,
  );
}, 240_000);

test('a restore with --no-safety-snapshot killed while overwriting: serve starts Mattermost and says loudly it may be half-restored', async () => {
  const id = await snapshotThenChange();
  await killRestoreMidway(id, '--no-safety-snapshot');
  expect((await readJson(lockFile())).safetySnapshotId).toBeUndefined();
  // `list` and `discover` show the stale lock before anything repairs it.
  const list = await runCli(['--config', env.cfgFile, '--json', 'list']);
  expect(list.summary?.lock).toMatchObject({
    state: 'stale',
    kind: 'restore',
    mattermost_stopped: true,
    overwriting: true,
  });
  expect(list.summary?.lock.message).toMatch(/half-restored/);
  for (const cmd of ['status', 'discover']) {
    const r = await runCli(['--config', env.cfgFile, '--json', cmd]);
    expect({ cmd, code: r.code, lock: r.summary?.lock }).toMatchObject({
      cmd,
      code: 0,
      lock: { state: 'stale', kind: 'restore', overwriting: true },
    });
  }
  expect((await runCli(['--config', env.cfgFile, 'status'])).stdout).toMatch(
    /STALE LOCK: restore .* the install may be half-restored/,
  );
  const serve = await startServe();
  try {
    await eventually(() => !env.rest.down, 20_000, 'Mattermost to be started by serve');
    const status = await eventually(
      async () => {
        const r = await env.api('GET', '/v1/status');
        return r.status === 200 && r.body.recovery ? r.body : undefined;
      },
      20_000,
      'the recovery in the status',
    );
    expect(status.recovery).toMatchObject({
      action: 'half_restored',
      mattermost_running: true,
      safety_snapshot_id: null,
    });
    expect(status.recovery.message).toMatch(/HALF-RESTORED/);
    expect(status.interrupted_jobs[0]).toMatchObject({
      kind: 'restore',
      message: expect.stringMatching(/HALF-RESTORED/),
    });
    const post = await eventually(() => channelPosts().find((m) => /HALF-RESTORED/.test(m)), 20_000, 'the post');
    expect(post).toMatch(/NO safety snapshot/);
    expect(serve.output()).toMatch(/HALF-RESTORED/);
  } finally {
    await stopServe(serve);
  }
}, 240_000);

/** A real process takes the lock as a `kind` job (that stopped Mattermost or not) and is SIGKILLed. */
async function leaveStaleLock(
  kind: string,
  mattermostStopped: boolean,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const holder = spawn(
    process.execPath,
    [
      '-e',
      `
    const fs = require('fs'); const os = require('os');
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const procStart = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    fs.writeFileSync(${JSON.stringify(lockFile())}, JSON.stringify({ pid: process.pid, host: os.hostname(), procStart, jobId: 'pending-1', kind: ${JSON.stringify(kind)}, startedAt: new Date().toISOString(), mattermostStopped: ${String(mattermostStopped)}, ...${JSON.stringify(extra)} }));
    console.log('locked'); setInterval(() => {}, 1000);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise((r) => holder.stdout?.once('data', r));
  holder.kill('SIGKILL');
  await new Promise((r) => holder.once('exit', r));
}

test('Mattermost that will not come back: serve reports it and keeps answering; the lock stays stale so the next job tries again', async () => {
  const cfg = await readFile(env.cfgFile, 'utf8');
  const parsed = JSON.parse(cfg);
  // A start command that "succeeds" while Mattermost stays down.
  await writeFile(
    env.cfgFile,
    JSON.stringify({ ...parsed, service: { ...parsed.service, start: ['/bin/true'], healthTimeoutSeconds: 3 } }),
    { mode: 0o600 },
  );
  const stop = spawn(parsed.service.stop[0], parsed.service.stop.slice(1), { stdio: 'ignore' });
  await new Promise((r) => stop.once('exit', r));
  expect(env.rest.down).toBe(true);
  await leaveStaleLock('backup', true);
  const interruptedBefore = (
    await Promise.all(
      readdirSync(path.join(repo, 'jobs'))
        .filter((n) => n.endsWith('.json'))
        .map((n) => readJson(path.join(repo, 'jobs', n))),
    )
  ).filter((r) => r?.kind === 'backup' && r.error?.code === 'INTERRUPTED').length;
  try {
    const serve = await startServe();
    const logged = await eventually(
      () => /Mattermost could NOT be started again/.exec(serve.output()),
      30_000,
      'the report',
    );
    expect(logged).toBeTruthy();
    // Still serving: public routes answer, /v1 answers the designed 503 (no session can be checked).
    expect((await fetch(`${env.sidecarUrl}/healthz`)).status).toBe(200);
    expect((await env.api('GET', '/v1/status')).status).toBe(503);
    expect(await (await fetch(`${env.sidecarUrl}/metrics`)).text()).toContain(
      `mm_backup_jobs_interrupted_total{kind="backup"} ${interruptedBefore + 1}`,
    );
    // The lock is stale again (handed back), so the next job or start repairs it.
    const status = await runCli(['--config', env.cfgFile, '--json', 'status']);
    expect(status.summary?.lock).toMatchObject({ state: 'stale', kind: 'backup', mattermost_stopped: true });
    await stopServe(serve);
  } finally {
    await writeFile(env.cfgFile, cfg, { mode: 0o600 });
  }
  const next = await runCli(['--config', env.cfgFile, '--json', 'prune', '--dry-run']);
  expect(next.code).toBe(0);
  expect(env.rest.down).toBe(false);
  expect((await runCli(['--config', env.cfgFile, '--json', 'status'])).summary?.lock.state).toBe('free');
}, 180_000);

test('a job record left "running" with no lock at all (lock removed by hand) is marked interrupted at the next serve start', async () => {
  const id = 'd'.repeat(26);
  const at = new Date(Date.now() - 60_000).toISOString();
  await writeFile(
    path.join(repo, 'jobs', `${id}.json`),
    JSON.stringify({
      id,
      kind: 'verify',
      trigger: 'console',
      options: {},
      status: 'running',
      created_at: at,
      started_at: at,
      steps: [{ id: 'objects', title: 'Re-hash every object', status: 'running' }],
      current_step: 'objects',
      log_tail: [],
    }),
    { mode: 0o600 },
  );
  const serve = await startServe();
  const job = await eventually(
    async () => {
      const r = await env.api('GET', `/v1/jobs/${id}`);
      return r.status === 200 && r.body.status !== 'running' ? r.body : undefined;
    },
    20_000,
    'the orphaned record to be marked',
  );
  expect(job).toMatchObject({ status: 'failed', error: { code: 'INTERRUPTED', step: 'objects' } });
  expect(job.steps[0].status).toBe('failed');
  expect(env.rest.down).toBe(false);
  await eventually(() => channelPosts().find((m) => m.includes(id) && /interrupted/.test(m)), 20_000, 'the post');
  await stopServe(serve);
}, 120_000);

test('a job started through the API on a stale lock repairs first with the same function: the killed job is recorded interrupted', async () => {
  const serve = await startServe();
  await leaveStaleLock('prune', false);
  const id = await startJob({ kind: 'prune', dry_run: true });
  const job = await eventually(
    async () => {
      const r = await env.api('GET', `/v1/jobs/${id}`);
      return ['succeeded', 'failed'].includes(r.body.status) ? r.body : undefined;
    },
    60_000,
    'the job',
  );
  expect(job.status).toBe('succeeded');
  expect(job.log_tail.map((l: { message: string }) => l.message).join('\n')).toMatch(
    /found a stale lock from prune pending-1 .*that process is gone/,
  );
  const list = await env.api('GET', '/v1/jobs');
  const jobs = (list.body.jobs ?? list.body) as Array<{
    kind: string;
    trigger: string;
    status: string;
    error?: { code: string };
  }>;
  expect(jobs.filter((j) => j.kind === 'prune' && j.trigger === 'cli' && j.error?.code === 'INTERRUPTED')).toHaveLength(
    1,
  );
  await stopServe(serve);
}, 120_000);

test('a planted lock naming a snapshot that is not a safety snapshot: nothing is "rolled back" to it; Mattermost is started and the report is loud', async () => {
  const id = await snapshotThenChange(); // an ordinary (signed) backup, and changes after it
  const before = await installState();
  await leaveStaleLock('restore', false, { overwriting: true, safetySnapshotId: id });
  const next = await runCli(['--config', env.cfgFile, '--json', 'prune', '--dry-run']);
  expect(next.code).toBe(0);
  expect(cliLogs(next)).toMatch(
    new RegExp(
      `Rolling back from safety snapshot \`${id}\` FAILED \\(snapshot ${id} is not a safety snapshot\\): the install may be HALF-RESTORED`,
    ),
  );
  expect(await installState()).toEqual(before);
  expect(env.rest.down).toBe(false);
}, 180_000);

test('a planted lock naming an older, genuine safety snapshot: the install is not rolled back in time to it', async () => {
  // A real restore leaves a real (signed) safety snapshot; backups and changes follow it.
  const id = await snapshotThenChange();
  const restore = await runCli(['--config', env.cfgFile, '--json', 'restore', id, '--yes']);
  expect(restore.code).toBe(0);
  const safetyId = restore.summary?.safety_snapshot as string;
  expect(safetyId).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
  await new Promise((r) => setTimeout(r, 1100)); // the next snapshot's id is a later second
  await snapshotThenChange();
  const before = await installState();
  // Whoever can write the repository directory plants a stale lock of a "killed restore" naming it.
  await leaveStaleLock('restore', false, { overwriting: true, safetySnapshotId: safetyId });
  const next = await runCli(['--config', env.cfgFile, '--json', 'prune', '--dry-run']);
  expect(next.code).toBe(0);
  expect(await installState()).toEqual(before);
  expect(cliLogs(next)).toMatch(
    new RegExp(
      `Rolling back from safety snapshot \`${safetyId}\` FAILED \\(.*not the newest snapshot.*\\): the install may be HALF-RESTORED`,
    ),
  );
  expect(env.rest.down).toBe(false);
}, 240_000);

test('the same planted lock after the newer snapshots were hidden (their signatures deleted): still no rollback in time', async () => {
  const id = await snapshotThenChange();
  const restore = await runCli(['--config', env.cfgFile, '--json', 'restore', id, '--yes']);
  expect(restore.code).toBe(0);
  const safetyId = restore.summary?.safety_snapshot as string;
  await new Promise((r) => setTimeout(r, 1100));
  await snapshotThenChange();
  const before = await installState();
  // Everything newer than the safety snapshot loses its signature, so it no longer counts as trusted.
  const snaps = path.join(repo, 'snapshots');
  for (const f of readdirSync(snaps)) {
    if (f.endsWith('.sig') && f.slice(0, -4) > safetyId) await rm(path.join(snaps, f));
  }
  await leaveStaleLock('restore', false, { overwriting: true, safetySnapshotId: safetyId });
  const next = await runCli(['--config', env.cfgFile, '--json', 'prune', '--dry-run']);
  expect(next.code).toBe(0);
  expect(await installState()).toEqual(before);
  expect(cliLogs(next)).toMatch(
    new RegExp(
      `Rolling back from safety snapshot \`${safetyId}\` FAILED \\(.*not recorded outside the repository.*\\): the install may be HALF-RESTORED`,
    ),
  );
  expect(env.rest.down).toBe(false);
}, 240_000);
