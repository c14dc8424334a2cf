/**
 * /backup as Mattermost really sends it (through the REST stand-in's command execution), status
 * posts while Mattermost is stopped, the two-step restore, schedule, missed runs, history.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { eventually, setupService, type ServiceEnv } from '../support/service_env';
import type { JobRecord } from '../../src/jobs/job_record';

let env: ServiceEnv;
beforeAll(async () => {
  env = await setupService();
  const r = await env.api('POST', '/v1/connect', { body: { admin_token: env.admin.token } });
  expect(r.body.problems).toEqual([]);
}, 120_000);
afterAll(async () => {
  await env?.cleanup();
});
afterEach(() => {
  expect(env.rest.violations).toEqual([]);
});

const slash = (text: string, userId = env.admin.id) =>
  env.rest.executeSlashCommand({ userId, channelId: env.channel.id, text });
const lastEphemeral = (userId = env.admin.id) => env.rest.state.ephemeral(userId).at(-1)?.message ?? '';
const finished = async (id: string) =>
  eventually(
    async () => {
      const r = await env.api('GET', `/v1/jobs/${id}`);
      return ['succeeded', 'failed', 'cancelled'].includes(r.body.status) ? (r.body as JobRecord) : undefined;
    },
    60_000,
    `job ${id}`,
  );

test('/backup now --offline: quick ephemeral answer, a root post edited in place, posts queued while Mattermost is down arrive in order', async () => {
  const downSeen: boolean[] = [];
  const watch = setInterval(() => downSeen.push(env.rest.down), 50);
  const t0 = Date.now();
  const r = await slash('/backup now --offline');
  expect(Date.now() - t0).toBeLessThan(3000);
  expect(r.status).toBe(200);
  const ack = lastEphemeral();
  expect(ack).toMatch(/Backup started \(job `([a-z0-9]{26})`, offline\)/);
  const jobId = /job `([a-z0-9]{26})`/.exec(ack)?.[1] as string;
  const job = await finished(jobId);
  clearInterval(watch);
  expect(job.status).toBe('succeeded');
  expect(downSeen).toContain(true); // the stand-in really was down in the middle
  expect(env.rest.down).toBe(false);
  expect(await env.sidecar.reporter.flushed()).toBe(true);

  const posts = env.rest.state.posts(env.channel.id);
  const root = posts.find((p) => !p.root_id && p.message.includes('Backup (offline)'));
  expect(root).toBeDefined();
  expect(root?.message).toMatch(/✅ done in .*\nSnapshot `\d{8}T\d{6}Z-[0-9a-f]{6}` · .* new\) · downtime/);
  expect(root?.message).toContain(String(job.result?.snapshot_id));
  // It was edited in place while running (first "⏳ …", last "✅ …"), not re-posted.
  expect(root?.history?.length ?? 0).toBeGreaterThan(0);
  expect(root?.history?.[0]?.message).toMatch(/⏳/);
  const replies = posts.filter((p) => p.root_id === root?.id).map((p) => p.message);
  expect(replies[0]).toMatch(/Mattermost is being stopped/);
  // Posted by the bot, never by the invoking admin.
  expect(new Set(posts.filter((p) => p.root_id === root?.id || p.id === root?.id).map((p) => p.user_id)).size).toBe(1);
  expect(posts.some((p) => p.message.includes(env.sb.dbPassword))).toBe(false);
});

test('a failing job posts the step, the error and what to do', async () => {
  await env.api('PUT', '/v1/settings', { body: { backup: { exclude: [] } } });
  const r = await env.api('POST', '/v1/jobs', { body: { kind: 'verify', snapshot_id: '20200101T000000Z-abcdef' } });
  expect({ status: r.status, body: r.body }).toMatchObject({ status: 202 });
  const job = await finished(r.body.id);
  expect(job.status).toBe('failed');
  await env.sidecar.reporter.flushed();
  const posts = env.rest.state.posts(env.channel.id);
  const root = posts.filter((p) => !p.root_id).at(-1);
  expect(root?.message).toMatch(/Verification.*❌ failed/);
  const reply = posts.find((p) => p.root_id === root?.id);
  expect(reply?.message).toMatch(/\*\*Error:\*\* snapshot 20200101T000000Z-abcdef does not exist/);
  expect(reply?.message).toMatch(/\*\*What to do:\*\*/);
});

test('status, list, help, a non-admin and a forged command token', async () => {
  await slash('/backup status');
  expect(lastEphemeral()).toMatch(/Last backup: `\d{8}T/);
  await slash('/backup list');
  expect(lastEphemeral()).toMatch(/\| snapshot \| mode \|/);
  await slash('/backup frobnicate');
  expect(lastEphemeral()).toMatch(/unknown subcommand "frobnicate"[\s\S]*\/backup now/);
  await slash('/backup now', env.alice.id);
  expect(lastEphemeral(env.alice.id)).toBe('Only system admins can manage backups.');
  expect(env.sidecar.jobs.current).toBeUndefined();
  const forged = await fetch(`${env.sidecarUrl}/v1/slash`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Token ${'x'.repeat(26)}` },
    body: new URLSearchParams({
      token: 'x'.repeat(26),
      user_id: env.admin.id,
      text: 'now',
      team_id: env.team.id,
      channel_id: env.channel.id,
      command: '/backup',
    }),
  });
  expect(forged.status).toBe(200);
  expect((await forged.json()).text).toMatch(/unknown command token/);
  expect(env.sidecar.jobs.current).toBeUndefined();
  // A real token presented for another (unknown) team is refused.
  const token = env.rest.state.commands(env.team.id).find((c) => c.trigger === 'backup')?.token as string;
  const wrongTeam = await fetch(`${env.sidecarUrl}/v1/slash`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Token ${token}` },
    body: new URLSearchParams({
      token,
      user_id: env.admin.id,
      text: 'now',
      team_id: 'u'.repeat(26),
      channel_id: env.channel.id,
      command: '/backup',
    }),
  });
  expect((await wrongTeam.json()).text).toMatch(/unknown command token/);
  expect(env.sidecar.jobs.current).toBeUndefined();
  const garbage = await fetch(`${env.sidecarUrl}/v1/slash`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: '%%%&&&==',
  });
  expect(garbage.status).toBe(200);
});

test('restore needs two steps: the first answer says what will be overwritten and how to confirm', async () => {
  const snap = (await env.api('GET', '/v1/snapshots')).body.snapshots[0].id as string;
  await slash(`/backup restore ${snap}`);
  const first = lastEphemeral();
  expect(first).toMatch(/will overwrite:/);
  expect(first).toMatch(/database: the whole database/);
  expect(first).toMatch(/Version check: ok/);
  const confirm = /`(\/backup restore \S+ confirm [0-9a-f]{8})`/.exec(first)?.[1] as string;
  expect(confirm).toBeDefined();
  expect(env.sidecar.jobs.current).toBeUndefined(); // nothing started by the first request
  await slash(`/backup restore ${snap} confirm 00000000`);
  expect(lastEphemeral()).toMatch(/unknown, expired or for another snapshot/);
  await slash(confirm, env.alice.id);
  expect(lastEphemeral(env.alice.id)).toBe('Only system admins can manage backups.');
  await slash(confirm);
  const jobId = /job `([a-z0-9]{26})`/.exec(lastEphemeral())?.[1] as string;
  const job = await finished(jobId);
  expect(job.status).toBe('succeeded');
  expect(job.result?.safety_snapshot_id).toMatch(/^\d{8}T/);
  // A confirmation works once.
  await slash(confirm);
  expect(lastEphemeral()).toMatch(/unknown, expired/);
});

test('the API restore: prepare then confirm; one request alone cannot start it', async () => {
  const snap = (await env.api('GET', '/v1/snapshots')).body.snapshots.find(
    (s: { trigger: string }) => s.trigger !== 'safety',
  ).id as string;
  const p = await env.api('POST', '/v1/restore/prepare', { body: { snapshot_id: snap, components: ['config'] } });
  expect(p.status).toBe(200);
  expect(p.body).toMatchObject({
    snapshot_id: snap,
    safety_snapshot: true,
    overwrites: [expect.stringMatching(/^config: .* is made identical/)],
  });
  const other = await env.api('POST', '/v1/jobs', {
    as: env.rest.state.login('sysadmin'),
    body: { kind: 'restore', confirmation_token: p.body.confirmation_token },
  });
  expect(other.status).toBe(202); // same admin user, another session: allowed
  await finished(other.body.id);
  const again = await env.api('POST', '/v1/jobs', {
    body: { kind: 'restore', confirmation_token: p.body.confirmation_token },
  });
  expect(again.status).toBe(412);
});

test('SSE streams a job until it finishes', async () => {
  const start = await env.api('POST', '/v1/jobs', { body: { kind: 'backup', mode: 'online' } });
  const res = await fetch(`${env.sidecarUrl}/v1/jobs/${start.body.id}/events`, {
    headers: { Authorization: `Bearer ${env.admin.token}` },
  });
  expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
  const text = await res.text(); // ends when the job finishes
  const events = [...text.matchAll(/^event: (\S+)$/gm)].map((m) => m[1]);
  expect(events[0]).toBe('snapshot');
  expect(events).toContain('step.started');
  expect(events.at(-1)).toBe('job.finished');
  const last = JSON.parse(
    text
      .trim()
      .split('\n')
      .at(-1)
      ?.replace(/^data: /, '') ?? '{}',
  );
  expect(last.status).toBe('succeeded');
});

test('a schedule fires, retention runs after it, and the history survives a restart', async () => {
  const before = (await env.api('GET', '/v1/jobs')).body.jobs.length as number;
  // Schedules have exactly 5 fields (minute resolution), so the real scheduler fires within a minute.
  await env.api('PUT', '/v1/settings', {
    body: {
      schedule: { backup: '* * * * *', timezone: 'UTC', prune_after_backup: true },
      backup: { mode: 'online' },
      retention: { keep_last: 2, keep_daily: 0, keep_weekly: 0, keep_monthly: 0 },
    },
  });
  // Retention is a follow-up of the backup itself (backup.pruneAfter), a step of the same job.
  const backup = await eventually(
    async () => {
      const jobs = (await env.api('GET', '/v1/jobs')).body.jobs as JobRecord[];
      return jobs.find(
        (j) => j.kind === 'backup' && j.trigger === 'schedule' && j.status === 'succeeded' && j.result?.prune,
      );
    },
    100_000,
    'a scheduled backup followed by a prune',
  );
  await env.api('PUT', '/v1/settings', { body: { schedule: { backup: null } } });
  await env.sidecar.jobs.idle();
  const jobs = (await env.api('GET', '/v1/jobs')).body.jobs as JobRecord[];
  expect(jobs.some((j) => j.kind === 'backup' && j.trigger === 'schedule' && j.status === 'succeeded')).toBe(true);
  // The sweep of objects runs only when the retention removed a snapshot (prune_plan.ts).
  const removed = (backup.result?.prune as { removed: string[] }).removed.length;
  expect(backup.steps.slice(-2).map((st) => [st.id, st.status])).toEqual([
    ['prune-snapshots', 'succeeded'],
    ['prune-objects', removed ? 'succeeded' : 'skipped'],
  ]);
  expect((backup.result?.prune as { kept: number }).kept).toBeGreaterThanOrEqual(2);
  await env.restart();
  const after = (await env.api('GET', '/v1/jobs')).body.jobs as JobRecord[];
  expect(after.length).toBeGreaterThan(before);
  expect(after.map((j) => j.id)).toEqual(jobs.map((j) => j.id));
}, 180_000);

test('a scheduled run missed while the sidecar was down is reported after a restart', async () => {
  // The history says the last scheduled backup ran two days ago; the schedule is daily.
  const jobsDir = `${JSON.parse(await readFile(env.cfgFile, 'utf8')).repository.path}/jobs`;
  const old: JobRecord = {
    id: 'z'.repeat(26),
    kind: 'backup',
    trigger: 'schedule',
    options: {},
    status: 'succeeded',
    created_at: new Date(Date.now() + 86_400_000).toISOString().replace(/^\d{4}/, '2020'),
    steps: [],
    log_tail: [],
  };
  old.created_at = new Date(Date.now() - 2 * 86_400_000).toISOString();
  const all = (await env.api('GET', '/v1/jobs')).body.jobs as JobRecord[];
  for (const j of all.filter((x) => x.trigger === 'schedule' && x.kind === 'backup')) {
    await writeFile(
      `${jobsDir}/${j.id}.json`,
      JSON.stringify({ ...j, created_at: new Date(Date.now() - 3 * 86_400_000).toISOString() }),
    );
  }
  await writeFile(`${jobsDir}/${old.id}.json`, JSON.stringify(old));
  await env.api('PUT', '/v1/settings', { body: { schedule: { backup: '0 3 * * *', timezone: 'UTC' } } });
  await env.restart();
  await env.sidecar.reporter.flushed();
  const posts = env.rest.state.posts(env.channel.id);
  expect(posts.at(-1)?.message).toMatch(/A scheduled backup was missed at/);
  await env.api('PUT', '/v1/settings', { body: { schedule: { backup: null } } });
});

test('jobs can be filtered by snapshot: the backup that made it, and what worked on it', async () => {
  const snap = (await env.api('GET', '/v1/snapshots')).body.snapshots.find(
    (s: { trigger: string }) => s.trigger !== 'safety',
  ).id as string;
  const r = await env.api('GET', `/v1/jobs?snapshot_id=${snap}`);
  expect(r.status).toBe(200);
  expect(r.body.jobs.length).toBeGreaterThan(0);
  expect(r.body.jobs.every((j: JobRecord) => j.result?.snapshot_id === snap || j.options.snapshot_id === snap)).toBe(
    true,
  );
  expect((await env.api('GET', '/v1/jobs?snapshot_id=../../x')).status).toBe(400);
});
