/**
 * The same request produces the same job whoever starts it: a backup from the CLI (a real child
 * process), the HTTP API (the System Console), `/backup now` (through Mattermost's command
 * execution, as the stand-in performs it) and the schedule (the Scheduler firing) runs the same
 * steps, its follow-ups included: the off-site copy (a real S3-compatible server) and the prune.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTempDir, removeTempDir, startS3Server, type S3Server } from '@mm-backup/testkit';
import type { JobRecord } from '../../src/jobs/job_record';
import { wholeManifest } from '../../src/manifest/whole_manifest';
import { runCli } from '../support/cli';
import { eventually, setupService, type ServiceEnv } from '../support/service_env';

let env: ServiceEnv;
let s3: S3Server;
let secrets: string;

beforeAll(async () => {
  s3 = await startS3Server();
  secrets = await makeTempDir('same-steps-');
  await writeFile(path.join(secrets, 'key-id'), s3.credentials.accessKeyId, { mode: 0o600 });
  await writeFile(path.join(secrets, 'secret'), s3.credentials.secretAccessKey, { mode: 0o600 });
  env = await setupService({
    config: {
      backup: { mode: 'online' },
      offsite: {
        mode: 'replicate',
        s3: {
          endpoint: s3.endpoint,
          bucket: s3.bucket,
          prefix: 'same-steps',
          forcePathStyle: true,
          accessKeyIdFile: path.join(secrets, 'key-id'),
          secretAccessKeyFile: path.join(secrets, 'secret'),
        },
        retry: { attempts: 3, baseDelayMs: 200, maxDelayMs: 1000 },
      },
    },
  });
  const r = await env.api('POST', '/v1/connect', { body: { admin_token: env.admin.token } });
  expect(r.body.problems).toEqual([]);
}, 240_000);
afterAll(async () => {
  await env?.cleanup();
  await s3?.destroy();
  if (secrets) await removeTempDir(secrets);
});

const finished = (id: string) =>
  eventually(
    async () => {
      const r = await env.api('GET', `/v1/jobs/${id}`);
      return ['succeeded', 'failed', 'cancelled'].includes(r.body.status) ? (r.body as JobRecord) : undefined;
    },
    120_000,
    `job ${id}`,
  );

test('a backup from the CLI, the API, /backup now and the schedule runs the same steps, follow-ups included', async () => {
  const ids: Record<string, string[]> = {};

  const cli = await runCli(['--config', env.cfgFile, '--json', 'backup']);
  expect({ code: cli.code, stderr: cli.stderr }).toMatchObject({ code: 0 });
  ids.cli = (cli.events.find((e) => e.type === 'job.started')?.steps as Array<{ id: string }>).map((s) => s.id);
  expect(cli.summary?.offsite.copied).toContain(cli.summary?.snapshot_id);
  expect(cli.summary?.prune.removed).toEqual([]);

  const api = await env.api('POST', '/v1/jobs', { body: { kind: 'backup' } });
  expect(api.status).toBe(202);
  const fromApi = await finished(api.body.id);

  await env.rest.executeSlashCommand({ userId: env.admin.id, channelId: env.channel.id, text: '/backup now' });
  const ack = env.rest.state.ephemeral(env.admin.id).at(-1)?.message ?? '';
  const slashId = /job `([a-z0-9]{26})`/.exec(ack)?.[1];
  expect(slashId).toBeDefined();
  const fromSlash = await finished(slashId as string);

  const scheduled = await env.sidecar.scheduler.fire('backup');
  expect(scheduled).toBeDefined();
  const fromSchedule = await finished((scheduled as JobRecord).id);

  for (const [name, rec] of Object.entries({ api: fromApi, slash: fromSlash, schedule: fromSchedule })) {
    expect({ name, status: rec.status, error: rec.error, warnings: rec.warnings }).toEqual({
      name,
      status: 'succeeded',
      error: undefined,
      warnings: undefined,
    });
    ids[name] = rec.steps.map((s) => s.id);
    // Every follow-up ran: the snapshot is off-site and the retention policy was applied.
    expect(
      rec.steps
        .filter((s) => s.id.startsWith('offsite-') || s.id.startsWith('prune-'))
        .every((s) => s.status === 'succeeded' || s.status === 'skipped'),
    ).toBe(true);
    expect((rec.result?.offsite as { copied: string[] }).copied).toContain(rec.result?.snapshot_id);
    expect(rec.result?.prune).toMatchObject({ dry_run: false });
  }
  expect(fromSchedule.trigger).toBe('schedule');
  expect(ids.cli).toEqual(
    expect.arrayContaining(['offsite-open', 'offsite-copy', 'offsite-retention', 'prune-snapshots', 'prune-objects']),
  );
  expect(ids.cli?.slice(-2)).toEqual(['prune-snapshots', 'prune-objects']);
  expect(ids.api).toEqual(ids.cli);
  expect(ids.slash).toEqual(ids.cli);
  expect(ids.schedule).toEqual(ids.cli);
}, 600_000);

test('an off-site copy that fails leaves the backup succeeded, with a warning; the prune still runs', async () => {
  await s3.stop();
  try {
    const api = await env.api('POST', '/v1/jobs', { body: { kind: 'backup' } });
    const rec = await finished(api.body.id);
    expect(rec.status).toBe('succeeded');
    expect(rec.error).toBeUndefined();
    expect(rec.result?.snapshot_id).toMatch(/^\d{8}T/);
    // The sidecar opened the bucket before (the first test), so the first request to it fails.
    expect(rec.warnings).toEqual([
      expect.objectContaining({ followUp: 'replicate', step: expect.stringMatching(/^offsite-/) }),
    ]);
    const failedAt = rec.steps.findIndex((s) => s.status === 'failed');
    expect(rec.steps[failedAt]?.id).toBe(rec.warnings?.[0]?.step);
    expect(
      rec.steps
        .slice(failedAt + 1)
        .filter((s) => s.id.startsWith('offsite-'))
        .every((s) => s.status === 'skipped'),
    ).toBe(true);
    // The prune still ran after the failed follow-up; its sweep runs only when a snapshot went.
    const removed = (rec.result?.prune as { removed: string[] }).removed.length;
    expect(rec.steps.find((s) => s.id === 'prune-snapshots')?.status).toBe('succeeded');
    expect(rec.steps.find((s) => s.id === 'prune-objects')?.status).toBe(removed ? 'succeeded' : 'skipped');
    // The snapshot is there, and the post says the backup is done, with what went wrong.
    const snap = await env.api('GET', `/v1/snapshots/${String(rec.result?.snapshot_id)}`);
    expect(snap.status).toBe(200);
    // Its whole manifest, streamed as it is read (manifest_json.ts): the document the stored manifest makes.
    const man = await env.api('GET', `/v1/snapshots/${String(rec.result?.snapshot_id)}/manifest`);
    expect(man.status).toBe(200);
    expect(man.headers.get('content-type')).toMatch(/^application\/json/);
    const whole = await wholeManifest(await env.sidecar.ec().repo.loadSnapshot(String(rec.result?.snapshot_id)));
    expect(man.body).toEqual(JSON.parse(JSON.stringify(whole)));
    expect((man.body as typeof whole).components.some((c) => c.entries.length > 10)).toBe(true);
    // A failure before the first byte is answered with its status, as on any route.
    const missing = await env.api('GET', '/v1/snapshots/20000101T000000Z-abcdef/manifest');
    expect(missing.status).toBe(404);
    expect(await env.sidecar.reporter.flushed()).toBe(true);
    const root = env.rest.state
      .posts(env.channel.id)
      .filter((p) => !p.root_id)
      .at(-1);
    expect(root?.message).toMatch(/⚠️ done with warnings[\s\S]*⚠️ The off-site copy failed: /);

    // The CLI: exit code 0 (the snapshot exists), the warning on stderr.
    const cli = await runCli(['--config', env.cfgFile, 'backup', '--no-prune']);
    expect(cli.code).toBe(0);
    expect(cli.stderr).toMatch(/warning: replicate after the backup failed at offsite-open/);
    expect(cli.stderr).not.toMatch(/Apply the retention policy/);
  } finally {
    await s3.start();
  }
}, 600_000);
