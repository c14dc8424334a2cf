/**
 * Point-in-time recovery from every front end, with real parts: the sandbox's PostgreSQL archiving
 * through the real pgbackrest, the sidecar on a real port, /backup sent through the spec-checked
 * Mattermost stand-in. A physical backup started over the API; the recovery window in `/backup
 * status`, `/backup list` and `mm-backup list`; schedule.pitr_backup through the settings API;
 * a restore to a time T over the API (prepare with `at`, then the token) and a restore to the end
 * of the archive from `/backup restore --at latest … confirm <code>`, each bringing back exactly
 * the rows of its target; refusals and foreign codes start nothing. The hole the restore to T
 * leaves (timeline 1 after T) is named by `/backup status`, `mm-backup status` and `pitr status`.
 */
import { readFile } from 'node:fs/promises';
import { runCli } from '../support/cli';
import { enablePitr, eventually, setupPitrService, type ServiceEnv } from '../support/service_env';
import type { JobRecord } from '../../src/jobs/job_record';
import { escapeMarkdown } from '../../src/status/markdown';

let env: ServiceEnv;
const stanza = `front${process.pid}`;

beforeAll(async () => {
  env = await setupPitrService(stanza, { pitrPollMs: 500 });
  await env.sidecar.started();
  const r = await enablePitr(env);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
}, 180_000);
afterAll(async () => {
  await env?.cleanup();
});
afterEach(() => {
  expect(env.rest.violations).toEqual([]);
});

const slash = async (text: string, userId = env.admin.id) => {
  const t0 = Date.now();
  const r = await env.rest.executeSlashCommand({ userId, channelId: env.channel.id, text });
  expect(r.status).toBe(200);
  return { text: env.rest.state.ephemeral(userId).at(-1)?.message ?? '', ms: Date.now() - t0 };
};
const finished = async (id: string) =>
  eventually(
    async () => {
      const r = await env.api('GET', `/v1/jobs/${id}`);
      return ['succeeded', 'failed', 'cancelled'].includes(r.body.status) ? (r.body as JobRecord) : undefined;
    },
    240_000,
    `job ${id}`,
  );
const jobCount = async () => ((await env.api('GET', '/v1/jobs?limit=500')).body.jobs as unknown[]).length;
const db = () => env.sb.dbName;
const probe = async () =>
  ((await env.pg.query(db(), 'SELECT n FROM pitr_probe ORDER BY n')) as Array<{ n: number }>).map((r) => r.n);
const dbNow = async () =>
  new Date(((await env.pg.query(db(), 'SELECT clock_timestamp() AS t')) as Array<{ t: Date }>)[0]!.t);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('before any physical backup: /backup status says so, and restore --at is refused at the first step', async () => {
  await env.sidecar.pitr.poll();
  const st = await slash('/backup status');
  expect(st.text).toMatch(/Recovery window: none yet/);
  const before = await jobCount();
  const r = await slash('/backup restore --at latest');
  expect(r.text).toMatch(/Could not do that: there is no physical backup yet/);
  expect(await jobCount()).toBe(before);
  const api = await env.api('POST', '/v1/restore/prepare', { body: { at: 'latest' } });
  expect({ status: api.status, message: api.body.message }).toEqual({
    status: 412,
    message: expect.stringMatching(/no physical backup yet/),
  });
}, 60_000);

test('a physical backup over POST /v1/jobs, then the window in /backup status, /backup list and mm-backup list', async () => {
  const bad = await env.api('POST', '/v1/jobs', { body: { kind: 'pitr-backup', type: 'weekly' } });
  expect(bad.status).toBe(400);
  const r = await env.api('POST', '/v1/jobs', { body: { kind: 'pitr-backup', type: 'full' } });
  expect(r.status).toBe(202);
  expect(r.body).toMatchObject({ kind: 'pitr-backup', trigger: 'console', options: { pitr_type: 'full' } });
  const job = await finished(r.body.id);
  expect({ status: job.status, error: job.error }).toEqual({ status: 'succeeded', error: undefined });
  expect(job.result).toMatchObject({ backup_type: 'full', reason: 'asked for' });
  await env.sidecar.reporter.flushed();
  const post = env.rest.state.posts(env.channel.id).find((p) => p.message.startsWith('**Physical backup**'));
  expect(post?.message).toContain(`pgBackRest full backup \`${String(job.result?.label)}\``);

  const pitr = await env.sidecar.pitr.poll();
  const start = String(job.result?.stopped_at);
  expect(pitr?.window?.start).toBe(start);
  const st = await slash('/backup status');
  expect(st.text).toContain(`Recovery window: ${start} … `);
  expect(st.text).toMatch(/WAL archive: ok/);
  const list = await slash('/backup list');
  expect(list.text).toMatch(new RegExp(`^Recovery window: ${start} … .*\\nWAL archive: ok`));

  const cli = await runCli(['--config', env.cfgFile, 'list']);
  expect({ code: cli.code, stderr: cli.stderr }).toEqual({ code: 0, stderr: '' });
  expect(cli.stdout).toMatch(new RegExp(`^Recovery window: ${start} … .*\\nWAL archive: ok`));
  const json = await runCli(['--config', env.cfgFile, '--json', 'list']);
  expect(json.summary?.pitr).toMatchObject({ window: { start }, archive: { state: 'ok' } });
}, 240_000);

test('a logical dump on demand in physical mode: POST /v1/jobs backup with logical, and /backup now --logical', async () => {
  const backup = async (body: Record<string, unknown>) => {
    const r = await env.api('POST', '/v1/jobs', { body: { kind: 'backup', mode: 'online', ...body } });
    expect(r.status).toBe(202);
    const job = await finished(r.body.id);
    expect({ status: job.status, error: job.error }).toEqual({ status: 'succeeded', error: undefined });
    return job;
  };
  expect((await env.api('POST', '/v1/jobs', { body: { kind: 'backup', logical: 'yes' } })).status).toBe(400);
  // The first snapshot of this install dumps anyway (no dump yet); the next one refers.
  await backup({});
  const referred = await backup({});
  expect(referred.result?.database_reason).toMatch(/^a pgBackRest reference/);
  // Its database step says what it did (a reference), in the job record the page and posts read.
  expect(referred.steps.find((st) => st.id === 'database')?.title).toMatch(
    /^Reference PostgreSQL backup \d{8}-\d{6}F \(pgBackRest\) and the WAL position of Database \(postgres\)$/,
  );
  const asked = await backup({ logical: true });
  expect(asked.options).toMatchObject({ mode: 'online', logical: true });
  expect(asked.result?.database_reason).toBe('a logical dump (--logical)');
  expect(asked.steps.find((st) => st.id === 'database')?.title).toBe('Dump Database (postgres)');
  // With the database left out there is neither a dump nor a reference to explain.
  const without = await backup({ logical: true, exclude: ['database'] });
  expect(without.result).toBeDefined();
  expect(without.result?.database_reason).toBeUndefined();

  const reply = await slash('/backup now --online --logical');
  expect(reply.ms).toBeLessThan(3000);
  expect(reply.text).toMatch(/Backup started \(job `[a-z0-9]{26}`, online, with a logical dump\)/);
  const job = await finished(/job `([a-z0-9]{26})`/.exec(reply.text)?.[1] as string);
  expect({ status: job.status, trigger: job.trigger, options: job.options }).toEqual({
    status: 'succeeded',
    trigger: 'slash',
    options: { mode: 'online', logical: true },
  });
  expect(job.result?.database_reason).toBe('a logical dump (--logical)');
  await env.sidecar.reporter.flushed();
  expect(
    env.rest.state
      .posts(env.channel.id)
      .some((p) => p.message.startsWith('**Backup (online) with a logical dump** by @')),
  ).toBe(true);
  // Without the flag the slash backup refers again.
  const plain = await finished(/job `([a-z0-9]{26})`/.exec((await slash('/backup now --online')).text)?.[1] as string);
  expect(plain.result?.database_reason).toMatch(/^a pgBackRest reference/);
}, 300_000);

test('schedule.pitr_backup through the settings API: validated like schedule.backup, written as schedule.pitrBackup', async () => {
  const five = await env.api('PUT', '/v1/settings', { body: { schedule: { pitr_backup: 'every night' } } });
  expect(five.status).toBe(400);
  expect(five.body.errors).toEqual([{ path: 'schedule.pitr_backup', message: expect.stringMatching(/5 fields/) }]);
  // Five fields the sidecar's cron check refuses: named by its API path.
  const never = await env.api('PUT', '/v1/settings', { body: { schedule: { pitr_backup: '61 * * * *' } } });
  expect(never.status).toBe(400);
  expect(never.body.errors).toEqual([{ path: 'schedule.pitr_backup', message: expect.any(String) }]);
  expect((await env.api('GET', '/v1/settings')).body.schedule.pitr_backup).toBeNull();

  const ok = await env.api('PUT', '/v1/settings', { body: { schedule: { pitr_backup: '15 2 * * *' } } });
  expect(ok.status).toBe(200);
  expect(ok.body.schedule.pitr_backup).toBe('15 2 * * *');
  expect((await env.api('GET', '/v1/settings')).body.schedule.pitr_backup).toBe('15 2 * * *');
  const file = JSON.parse(await readFile(env.cfgFile, 'utf8')) as { schedule: Record<string, unknown> };
  expect(file.schedule.pitrBackup).toBe('15 2 * * *');
  expect(env.sidecar.config().schedule.pitrBackup).toBe('15 2 * * *');

  const off = await env.api('PUT', '/v1/settings', { body: { schedule: { pitr_backup: null } } });
  expect(off.body.schedule.pitr_backup).toBeNull();
  const after = JSON.parse(await readFile(env.cfgFile, 'utf8')) as { schedule: Record<string, unknown> };
  expect(after.schedule).not.toHaveProperty('pitrBackup');
}, 60_000);

test('restore to T over the API (prepare with at, confirm with the token): exactly the rows of T come back', async () => {
  const backup = await env.api('POST', '/v1/jobs', { body: { kind: 'backup', mode: 'online' } });
  expect(backup.status).toBe(202);
  const snap = await finished(backup.body.id);
  expect(snap.status).toBe('succeeded');
  const snapshotId = String(snap.result?.snapshot_id);

  await env.pg.exec(
    db(),
    'CREATE TABLE pitr_probe (n int); GRANT SELECT ON pitr_probe TO PUBLIC; INSERT INTO pitr_probe SELECT generate_series(1, 5)',
  );
  await sleep(1100);
  const t = await dbNow();
  await sleep(1100);
  await env.pg.exec(db(), 'INSERT INTO pitr_probe SELECT generate_series(6, 9)');
  expect(await probe()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // T written with an offset of +01:00, as an admin east of UTC would send it.
  const atText = new Date(t.getTime() + 3_600_000).toISOString().replace('Z', '+01:00');

  const naive = await env.api('POST', '/v1/restore/prepare', { body: { at: atText.replace('+01:00', '') } });
  expect({ status: naive.status, message: naive.body.message }).toEqual({
    status: 400,
    message: expect.stringMatching(/not a time with its offset/),
  });
  const both = await env.api('POST', '/v1/restore/prepare', { body: { at: atText, snapshot_id: snapshotId } });
  expect(both.status).toBe(400);
  const early = await env.api('POST', '/v1/restore/prepare', { body: { at: '2020-01-01T00:00:00Z' } });
  expect({ status: early.status, message: early.body.message }).toEqual({
    status: 412,
    message: expect.stringMatching(/outside the recovery window/),
  });
  const alice = await env.api('POST', '/v1/restore/prepare', { as: env.alice, body: { at: atText } });
  expect(alice.status).toBe(403);

  const prepared = await env.api('POST', '/v1/restore/prepare', { body: { at: atText } });
  expect(prepared.status).toBe(200);
  expect(prepared.body).toMatchObject({
    at: t.toISOString(),
    snapshot_id: snapshotId,
    safety_snapshot: true,
    warnings: [],
  });
  expect(prepared.body.overwrites[0]).toMatch(
    new RegExp(`^the PostgreSQL cluster in .*: replaced by its state at ${t.toISOString()}`),
  );
  const token = prepared.body.confirmation_token as string;
  // The /backup confirmation of a snapshot restore cannot spend this point-in-time code.
  const crossed = await slash(`/backup restore ${snapshotId} confirm ${token.slice(0, 8)}`);
  expect(crossed.text).toMatch(/unknown, expired or for another snapshot/);
  expect(env.sidecar.jobs.current).toBeUndefined();

  const r = await env.api('POST', '/v1/jobs', { body: { kind: 'restore', confirmation_token: token } });
  expect(r.status).toBe(202);
  expect(r.body).toMatchObject({ kind: 'restore', trigger: 'console', options: { at: t.toISOString() } });
  const job = await finished(r.body.id);
  expect({ status: job.status, error: job.error }).toEqual({ status: 'succeeded', error: undefined });
  // The CLI's restore --at result, field for field.
  expect(job.result).toMatchObject({
    target: t.toISOString(),
    files_snapshot_id: snapshotId,
    put_back: false,
    rolled_back: false,
  });
  expect(await probe()).toEqual([1, 2, 3, 4, 5]);
  expect(env.rest.down).toBe(false);
  // Used once.
  const again = await env.api('POST', '/v1/jobs', { body: { kind: 'restore', confirmation_token: token } });
  expect(again.status).toBe(412);
  await env.sidecar.reporter.flushed();
  const root = env.rest.state
    .posts(env.channel.id)
    .find((p) => p.message.startsWith(`**Restore to ${t.toISOString()}** by @sysadmin`));
  expect(root?.message).toContain(`Database restored to ${t.toISOString()} (pgBackRest backup `);

  // Timeline 1 after T is abandoned now: a hole, which /backup status and the CLI's status name.
  await env.pg.query(db(), 'SELECT pg_switch_wal()');
  const view = await eventually(
    async () => {
      const p = await env.sidecar.pitr.poll();
      return p?.holes?.length ? p : undefined;
    },
    120_000,
    'the hole the restore left',
  );
  const hole = view.holes![0]!;
  expect(hole).toMatchObject({ timeline: 1, problem: expect.stringMatching(/was on timeline 1 after the point/) });
  expect((await slash('/backup status')).text).toContain(`⚠️ ${escapeMarkdown(hole.problem)}`);
  for (const args of [['status'], ['pitr', 'status']]) {
    const cli = await runCli(['--config', env.cfgFile, ...args]);
    expect({ code: cli.code, stderr: cli.stderr }).toEqual({ code: 0, stderr: '' });
    expect(cli.stdout).toContain(`⚠️ ${hole.problem}`);
  }
}, 540_000);

test('/backup restore --at latest: two steps, the admin and the target bound to the code', async () => {
  await env.pg.exec(db(), 'INSERT INTO pitr_probe VALUES (42)');
  // A file snapshot after the first restore, so that latest finds files at or before it.
  const backup = await env.api('POST', '/v1/jobs', { body: { kind: 'backup', mode: 'online' } });
  const snap = await finished(backup.body.id);
  expect({ status: snap.status, error: snap.error }).toEqual({ status: 'succeeded', error: undefined });

  const naive = await slash('/backup restore --at 2026-12-01 14:31:00');
  expect(naive.text).toMatch(/not a time with its offset/);
  const nonAdmin = await slash('/backup restore --at latest', env.alice.id);
  expect(nonAdmin.text).toMatch(/Only system admins/);

  const first = await slash('/backup restore --at latest');
  expect(first.text).toMatch(
    /^\*\*Restoring the database to the end of the archived WAL \(latest\) will overwrite:\*\*/,
  );
  expect(first.text).toMatch(/- the PostgreSQL cluster in /);
  // The restore to T kept the old data directory beside it: said before confirming.
  expect(first.text).toMatch(/⚠️ earlier restores left .*before-restore-/);
  const code = /`\/backup restore --at latest confirm ([a-f0-9]{8})`/.exec(first.text)?.[1] as string;
  expect(code).toBeDefined();
  expect(first.ms).toBeLessThan(3000); // Mattermost's slash-command budget

  const before = await jobCount();
  const otherTarget = await slash(`/backup restore --at 2026-12-01T00:00:00Z confirm ${code}`);
  expect(otherTarget.text).toMatch(/unknown, expired or for another target/);
  const wrong = await slash(`/backup restore --at latest confirm ${code === '00000000' ? '11111111' : '00000000'}`);
  expect(wrong.text).toMatch(/unknown, expired or for another target/);
  expect(await jobCount()).toBe(before);

  const go = await slash(`/backup restore --at latest confirm ${code}`);
  const jobId = /job `([a-z0-9]{26})`/.exec(go.text)?.[1] as string;
  expect(go.text).toMatch(/^Restore of the database to latest started/);
  const job = await finished(jobId);
  expect({ status: job.status, error: job.error }).toEqual({ status: 'succeeded', error: undefined });
  expect(job).toMatchObject({ kind: 'restore', trigger: 'slash', requested_by: 'sysadmin', options: { at: 'latest' } });
  expect(job.result).toMatchObject({ target: 'latest', put_back: false });
  expect(await probe()).toEqual([1, 2, 3, 4, 5, 42]);
  expect(env.rest.down).toBe(false);
  const spent = await slash(`/backup restore --at latest confirm ${code}`);
  expect(spent.text).toMatch(/unknown, expired or for another target/);
}, 420_000);
