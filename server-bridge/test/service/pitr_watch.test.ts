/**
 * Physical mode seen from the sidecar, with real parts: the sandbox's PostgreSQL archiving through
 * the real pgbackrest, a physical backup fired by the schedule, the recovery window in GET
 * /v1/status and /metrics, and a WAL archive that fails (the repository closed to postgres):
 * detected, shown, counted, posted once in the status channel through the spec-checked stand-in.
 */
import { chmod, stat } from 'node:fs/promises';
import path from 'node:path';
import { runCli } from '../support/cli';
import { enablePitr, eventually, setupPitrService, type ServiceEnv } from '../support/service_env';
import type { JobRecord } from '../../src/jobs/job_record';

let env: ServiceEnv;
const stanza = `svc${process.pid}`;

beforeAll(async () => {
  env = await setupPitrService(stanza, { pitrPollMs: 300, config: { schedule: { pitrBackup: '0 4 * * *' } } });
  const r = await enablePitr(env);
  expect({ code: r.code, stderr: r.stderr, checked: r.summary?.checked }).toEqual({
    code: 0,
    stderr: '',
    checked: true,
  });
}, 180_000);
afterAll(async () => {
  await env?.cleanup();
});

const archivePosts = () =>
  env.rest.state
    .posts(env.channel.id)
    .filter((p) => /WAL archiving (is failing|is stalled|failed|works again)/.test(p.message));
const metric = (text: string, name: string) => {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
};

test('a scheduled physical backup, then the window in /v1/status and /metrics', async () => {
  const started = await env.sidecar.scheduler.fire('pitr-backup');
  expect(started?.kind).toBe('pitr-backup');
  expect(started?.trigger).toBe('schedule');
  const job = await eventually(
    async () => {
      const r = await env.api('GET', `/v1/jobs/${started?.id}`);
      return ['succeeded', 'failed', 'cancelled'].includes(r.body.status) ? (r.body as JobRecord) : undefined;
    },
    120_000,
    'the pitr backup',
  );
  expect({ status: job.status, error: job.error }).toEqual({ status: 'succeeded', error: undefined });
  expect(job.result).toMatchObject({ backup_type: 'full', reason: 'no full backup yet' });
  // The job list (validated against the API schema on the way out) carries the new kind.
  const list = await env.api('GET', '/v1/jobs');
  expect(list.status).toBe(200);
  expect(list.body.jobs[0].kind).toBe('pitr-backup');

  await env.sidecar.pitr.poll();
  const s = await env.api('GET', '/v1/status');
  expect(s.status).toBe(200);
  expect(s.body.pitr).toMatchObject({
    phase: 'enabled',
    archive: { state: 'ok', failed_count: 0, problem: null },
    backups: [{ label: job.result?.label, type: 'full' }],
  });
  expect(s.body.pitr.window.start).toBe(job.result?.stopped_at);
  const m = await (await fetch(`${env.sidecarUrl}/metrics`)).text();
  expect(metric(m, 'mm_backup_recovery_window_start_seconds')).toBe(Date.parse(String(job.result?.stopped_at)) / 1000);
  expect(metric(m, 'mm_backup_recovery_window_end_seconds')).toBeGreaterThanOrEqual(
    Date.parse(String(job.result?.stopped_at)) / 1000,
  );
  expect(metric(m, 'mm_backup_wal_archive_age_seconds')).toBeGreaterThanOrEqual(0);
  expect(metric(m, 'mm_backup_wal_archive_failed_total')).toBe(0);
  expect(m).toMatch(/^mm_backup_last_success_timestamp_seconds\{kind="pitr-backup"\} \d/m);
}, 180_000);

test('an archive failure is detected, shown, counted and posted once; its end is posted once too', async () => {
  const archiveDir = path.join(env.root, 'repo', 'pgbackrest', 'archive', stanza);
  const mode = (await stat(archiveDir)).mode & 0o777;
  await chmod(archiveDir, 0o000); // owned by postgres: closed to it
  try {
    await env.pg.exec('postgres', 'CREATE TABLE IF NOT EXISTS w (x int); INSERT INTO w VALUES (1)');
    await env.pg.query('postgres', 'SELECT pg_switch_wal()');
    const failing = await eventually(
      async () => {
        const s = await env.api('GET', '/v1/status');
        return s.body.pitr?.archive.state === 'failing' ? s.body.pitr : undefined;
      },
      60_000,
      'the failure to show',
    );
    expect(failing.archive.failed_count).toBeGreaterThan(0);
    expect(failing.archive.problem).toMatch(/WAL archiving is failing/);
    // Several more readings while it keeps failing: still one post.
    await new Promise((r) => setTimeout(r, 2500));
    expect(await env.sidecar.reporter.flushed()).toBe(true);
    const posts = archivePosts();
    expect(posts).toHaveLength(1);
    // The problem text quotes PostgreSQL's archiver view, so it is posted Markdown-escaped (`\_`).
    expect(posts[0]?.message).toMatch(/^⚠️ WAL archiving is failing: archive\\_command failed for [0-9A-F]{24}/);
    const m = await (await fetch(`${env.sidecarUrl}/metrics`)).text();
    expect(metric(m, 'mm_backup_wal_archive_failed_total')).toBeGreaterThan(0);
    expect(metric(m, 'mm_backup_wal_archive_healthy')).toBe(0);
    // mm-backup status says it too.
    const st = await runCli(['--config', env.cfgFile, '--json', 'status']);
    expect(st.summary?.pitr.archive.state).toBe('failing');
  } finally {
    await chmod(archiveDir, mode);
  }
  // Archiving again: a new segment wakes the archiver, which catches up.
  await env.pg.query('postgres', 'SELECT pg_switch_wal()');
  await eventually(
    async () => (await env.api('GET', '/v1/status')).body.pitr?.archive.state === 'ok',
    120_000,
    'archiving to work again',
  );
  await eventually(() => archivePosts().length === 2, 10_000, 'the recovery post');
  await new Promise((r) => setTimeout(r, 1000));
  expect(await env.sidecar.reporter.flushed()).toBe(true);
  expect(archivePosts().map((p) => p.message.slice(0, 30))).toEqual([
    expect.stringMatching(/^⚠️ WAL archiving is failing/),
    expect.stringMatching(/^✅ WAL archiving works again/),
  ]);
  expect(env.rest.violations).toEqual([]);
}, 240_000);
