/**
 * Physical mode switched on and off from the System Console's API, with real parts: the sandbox's
 * PostgreSQL (run as postgres, restarted by the real pg_ctl), the real pgbackrest, the sidecar on a
 * real port, its status posts through the spec-checked Mattermost stand-in. GET /v1/pitr/plan
 * changes nothing; POST /v1/jobs `pitr-enable` without consent leaves PostgreSQL running and names
 * what waits for a restart, with consent it restarts once and WAL is archived; `pitr-disable` the
 * same way back. Only an admin may ask, and only the boolean true consents to a restart.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { eventually, setupPitrService, type ServiceEnv } from '../support/service_env';
import type { JobRecord } from '../../src/jobs/job_record';

let env: ServiceEnv;
const stanza = `console${process.pid}`;
const MANAGED = ['wal_level', 'archive_mode', 'archive_command', 'archive_timeout'];

beforeAll(async () => {
  env = await setupPitrService(stanza, { pitrPollMs: 500 });
  await env.sidecar.started();
}, 180_000);
afterAll(async () => {
  await env?.cleanup();
});
afterEach(() => {
  expect(env.rest.violations).toEqual([]);
});

/** The managed settings, PostgreSQL's start time (a restart changes it) and postgresql.auto.conf. */
async function pgState(): Promise<{ settings: Record<string, string>; started: string; autoConf: string }> {
  const rows = (await env.pg.query('postgres', `SELECT name, setting FROM pg_settings WHERE name = ANY($1)`, [
    MANAGED,
  ])) as Array<{ name: string; setting: string }>;
  const [first] = (await env.pg.query(
    'postgres',
    `SELECT pg_postmaster_start_time()::text AS started, current_setting('data_directory') AS dir`,
  )) as Array<{ started: string; dir: string }>;
  if (!first) throw new Error('PostgreSQL answered no row');
  const { started, dir } = first;
  return {
    settings: Object.fromEntries(rows.map((r) => [r.name, r.setting])),
    started,
    autoConf: await readFile(path.join(dir, 'postgresql.auto.conf'), 'utf8'),
  };
}

const finished = async (id: string) =>
  eventually(
    async () => {
      const r = await env.api('GET', `/v1/jobs/${id}`);
      return ['succeeded', 'failed', 'cancelled'].includes(r.body.status) ? (r.body as JobRecord) : undefined;
    },
    180_000,
    `job ${id}`,
  );
const jobCount = async () => ((await env.api('GET', '/v1/jobs?limit=500')).body.jobs as unknown[]).length;
const confFile = () => path.join(env.root, 'pgbackrest-conf', 'pgbackrest.conf');

test('GET /v1/pitr/plan: every check, the settings that change and the restart, with nothing changed', async () => {
  const before = await pgState();
  const r = await env.api('GET', '/v1/pitr/plan');
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({
    phase: 'off',
    ready: true,
    restart_needed: true,
    other_pending_restart: [],
    postgres_version: expect.stringMatching(/^\d+$/),
    pgbackrest_version: expect.stringMatching(/^\d+\.\d+/),
    stanza,
    repository: path.join(env.root, 'repo', 'pgbackrest'),
    config_file: confFile(),
    disable: null,
  });
  const checks = r.body.checks as Array<{ id: string; status: string }>;
  expect(checks.map((c) => c.id)).toEqual([
    'postgres',
    'state',
    'pgbackrest',
    'archiving',
    'restart',
    'encryption',
    'repository',
    'config-dir',
  ]);
  expect(checks.filter((c) => c.status !== 'ok')).toEqual([]);
  const changes = r.body.changes as Array<{ name: string; from: string; to: string; restart: boolean }>;
  expect(changes.find((c) => c.name === 'archive_mode')).toEqual({
    name: 'archive_mode',
    from: 'off',
    to: 'on',
    restart: true,
  });
  expect(changes.find((c) => c.name === 'archive_command')).toMatchObject({ restart: false });
  expect(changes.find((c) => c.name === 'archive_command')?.to).toContain('archive-push');
  // Nothing changed: the settings, the running server, its auto.conf; no config, no state.
  expect(await pgState()).toEqual(before);
  expect(existsSync(confFile())).toBe(false);
  expect(existsSync(path.join(env.root, 'repo', 'pgbackrest'))).toBe(false);
}, 60_000);

test('only an admin: the plan and the jobs answer 401 without a session and 403 to a regular user', async () => {
  const before = await jobCount();
  expect((await env.api('GET', '/v1/pitr/plan', { as: null as never })).status).toBe(401);
  expect((await env.api('GET', '/v1/pitr/plan', { as: env.alice })).status).toBe(403);
  for (const kind of ['pitr-enable', 'pitr-disable']) {
    const body = { kind, restart_postgres: true };
    expect((await env.api('POST', '/v1/jobs', { as: env.alice, body })).status).toBe(403);
    expect((await env.api('POST', '/v1/jobs', { as: null as never, body })).status).toBe(401);
  }
  expect(await jobCount()).toBe(before);
});

test('hostile bodies are refused with 400 and start nothing: consent is only the boolean true', async () => {
  const before = await jobCount();
  const state = await pgState();
  for (const body of [
    { kind: 'pitr-enable', restart_postgres: 'true' },
    { kind: 'pitr-enable', restart_postgres: 1 },
    { kind: 'pitr-enable', restart_postgres: null },
    { kind: 'pitr-enable', restart_postgres: true, force: true },
    { kind: 'pitr-disable', restart_postgres: 'yes' },
    { kind: 'pitr-disable', restart_postgres: false, extra: 1 },
  ]) {
    const r = await env.api('POST', '/v1/jobs', { body });
    expect({ body, status: r.status }).toEqual({ body, status: 400 });
    expect(r.body.errors?.length).toBeGreaterThan(0);
  }
  expect(await jobCount()).toBe(before);
  expect(await pgState()).toEqual(state);
});

test('enable without consent: PostgreSQL keeps running, what waits for a restart is named; with consent WAL is archived', async () => {
  const before = await pgState();
  const r = await env.api('POST', '/v1/jobs', { body: { kind: 'pitr-enable' } });
  expect(r.status).toBe(202);
  expect(r.body).toMatchObject({ kind: 'pitr-enable', trigger: 'console', options: { restart_postgres: false } });
  const job = await finished(r.body.id);
  expect({ status: job.status, error: job.error }).toEqual({ status: 'succeeded', error: undefined });
  expect(job.steps.map((s) => s.id)).toEqual(['pitr-check', 'pitr-configure', 'pitr-settings', 'pitr-verify']);
  expect(job.result).toMatchObject({ restarted: false, checked: false, pending_restart: ['archive_mode'] });
  const after = await pgState();
  // Never restarted: the same postmaster; archive_mode is left for the restart, archive_command is ours already.
  expect(after.started).toBe(before.started);
  expect(after.settings.archive_mode).toBe('off');
  expect(after.autoConf).not.toMatch(/archive_mode/);
  expect(after.autoConf).toMatch(/archive_command = .*archive-push/);
  // The page reloads status as soon as the job ends: it already says what waits.
  expect((await env.api('GET', '/v1/status')).body.pitr?.phase).toBe('enabling');
  const plan = await env.api('GET', '/v1/pitr/plan');
  expect(plan.body).toMatchObject({ phase: 'enabling', restart_needed: true });
  expect((plan.body.changes as Array<{ name: string }>).map((c) => c.name)).toEqual(['archive_mode']);
  await env.sidecar.reporter.flushed();
  const post = env.rest.state
    .posts(env.channel.id)
    .find((p) => p.message.startsWith('**Enable point-in-time recovery**'));
  expect(post?.message).toContain('waiting for a PostgreSQL restart: archive\\_mode');

  const r2 = await env.api('POST', '/v1/jobs', { body: { kind: 'pitr-enable', restart_postgres: true } });
  expect(r2.status).toBe(202);
  expect(r2.body.options).toEqual({ restart_postgres: true });
  const job2 = await finished(r2.body.id);
  expect({ status: job2.status, error: job2.error }).toEqual({ status: 'succeeded', error: undefined });
  expect(job2.result).toMatchObject({ restarted: true, checked: true, pending_restart: [] });
  const on = await pgState();
  expect(on.started).not.toBe(before.started);
  expect(on.settings.archive_mode).toBe('on');
  expect(on.settings.archive_command).toContain('archive-push');
  // WAL reaches the repository: a switched segment is archived by pgbackrest.
  await env.pg.query(env.sb.dbName, 'SELECT pg_switch_wal()');
  await eventually(
    async () =>
      Number(
        (
          (await env.pg.query('postgres', 'SELECT archived_count FROM pg_stat_archiver')) as Array<{
            archived_count: string;
          }>
        )[0]?.archived_count,
      ) > 0,
    60_000,
    'a WAL segment archived',
  );
  const plan2 = await env.api('GET', '/v1/pitr/plan');
  expect(plan2.body).toMatchObject({ phase: 'enabled', changes: [], restart_needed: false });
  expect(plan2.body.disable).toMatchObject({ restart_needed: true });
  expect((await env.api('GET', '/v1/status')).body.pitr?.phase).toBe('enabled');
}, 300_000);

test('disable from the API: without consent archiving waits for the restart; with it, the settings are as before', async () => {
  const r = await env.api('POST', '/v1/jobs', { body: { kind: 'pitr-disable', restart_postgres: false } });
  expect(r.status).toBe(202);
  const job = await finished(r.body.id);
  expect({ status: job.status, error: job.error }).toEqual({ status: 'succeeded', error: undefined });
  expect(job.result).toMatchObject({ restarted: false, pending_restart: true });
  expect((await pgState()).settings.archive_mode).toBe('on');
  expect((await env.api('GET', '/v1/pitr/plan')).body.phase).toBe('disabling');

  const r2 = await env.api('POST', '/v1/jobs', { body: { kind: 'pitr-disable', restart_postgres: true } });
  const job2 = await finished(r2.body.id);
  expect({ status: job2.status, error: job2.error }).toEqual({ status: 'succeeded', error: undefined });
  expect(job2.result).toMatchObject({ restarted: true, pending_restart: false });
  const off = await pgState();
  expect(off.settings.archive_mode).toBe('off');
  expect(off.autoConf).not.toMatch(/archive/);
  expect((await env.api('GET', '/v1/pitr/plan')).body).toMatchObject({ phase: 'off', disable: null });
  expect((await env.api('GET', '/v1/status')).body.pitr).toBeUndefined();
}, 300_000);
