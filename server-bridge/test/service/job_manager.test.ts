/** The service's job manager against the real engine: history, lock shared with the CLI, cancel. */
import { mkdir, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { loadConfig } from '../../src/config/load';
import { openContext } from '../../src/jobs/context';
import { JobHistory } from '../../src/jobs/job_history';
import { JobManager } from '../../src/service/job_manager';
import type { JobRecord } from '../../src/jobs/job_record';
import { startCli } from '../support/cli';
import { caught } from '../support/caught';
import { isUp, setupE2E, type E2E } from '../support/e2e_env';

let env: E2E;
beforeAll(async () => {
  env = await setupE2E('postgres');
}, 240_000);
afterAll(async () => {
  await env?.cleanup();
});

async function manager(): Promise<JobManager> {
  const cfg = await loadConfig(env.cfgFile);
  const ec = await openContext(cfg);
  return new JobManager(() => ec, await JobHistory.open(cfg.repository.path));
}

test('a backup started by the manager runs the real engine, streams events, and is kept in the history', async () => {
  const m = await manager();
  const events: string[] = [];
  m.on((_r, e) => events.push(e.type));
  const rec = await m.start({ kind: 'backup', trigger: 'api', requestedBy: 'admin', mode: 'offline' });
  expect(rec.status).toBe('queued');
  await m.idle();
  const done = (await m.get(rec.id)) as JobRecord;
  expect(done.status).toBe('succeeded');
  expect(done.result?.snapshot_id).toMatch(/^\d{8}T/);
  expect(done.steps.find((s) => s.id === 'stop')?.status).toBe('succeeded');
  expect(events[0]).toBe('job.started');
  expect(events.at(-1)).toBe('job.finished');
  expect(await isUp(env.url)).toBe(true);
  // A new manager (a restarted sidecar) sees the same history.
  const again = await manager();
  const listed = await again.list();
  expect(listed.find((r) => r.id === rec.id)).toMatchObject({
    status: 'succeeded',
    trigger: 'api',
    requested_by: 'admin',
  });
  const snap = (await env.cli('show', String(done.result?.snapshot_id))).summary?.manifest;
  expect(snap.trigger).toBe('api');
});

test('the manager and the CLI share one lock: neither starts while the other runs', async () => {
  const bulk = path.join(env.sb.installDir, 'data', 'bulk');
  await mkdir(bulk, { recursive: true });
  for (let i = 0; i < 80; i++) await writeFile(path.join(bulk, `p-${i}.jpg`), randomBytes(1024 * 1024));
  const cli = startCli(['--config', env.cfgFile, '--json', 'backup', '--mode', 'online']);
  await new Promise<void>((resolve) =>
    cli.onEvent((e) => {
      if (e.type === 'step.started' && e.step === 'data') resolve();
    }),
  );
  const m = await manager();
  const err = await caught(m.start({ kind: 'verify', trigger: 'api', snapshotId: 'latest' }));
  expect((err as { code?: string }).code).toBe('LOCK_HELD');
  expect((await cli.done).code).toBe(0);

  // New data, so the manager's backup is still copying when the CLI process checks the lock.
  const fresh = path.join(env.sb.installDir, 'data', 'fresh');
  await mkdir(fresh, { recursive: true });
  for (let i = 0; i < 300; i++) await writeFile(path.join(fresh, `p-${i}.jpg`), randomBytes(1024 * 1024));
  const copying = new Promise<void>((resolve) =>
    m.on((_r, e) => {
      if (e.type === 'step.started' && e.step === 'data') resolve();
    }),
  );
  const rec = await m.start({ kind: 'backup', trigger: 'api', mode: 'online' });
  const second = await caught(m.start({ kind: 'prune', trigger: 'api' }));
  expect((second as { code?: string }).code).toBe('LOCK_HELD');
  await copying;
  const cliWhileManager = await env.cli('prune');
  expect(cliWhileManager.code).toBe(3);
  await m.idle();
  expect((await m.get(rec.id))?.status).toBe('succeeded');
});

test('cancel stops the job, runs its finally steps and restarts Mattermost', async () => {
  const m = await manager();
  const rec = await m.start({ kind: 'backup', trigger: 'api', mode: 'offline' });
  await new Promise<void>((resolve) =>
    m.on((r, e) => {
      if (r.id === rec.id && e.type === 'step.started' && e.step === 'data') resolve();
    }),
  );
  expect(m.cancel(rec.id)).toBe(true);
  await m.idle();
  const done = await m.get(rec.id);
  expect(done?.status).toBe('cancelled');
  expect(done?.error?.message).toMatch(/cancelled by request/);
  expect(done?.steps.find((s) => s.id === 'ensure-started')?.status).toBe('succeeded');
  expect(await isUp(env.url)).toBe(true);
});
