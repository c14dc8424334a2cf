/**
 * A Mattermost install on real files for job tests that leave the database out, and the job
 * runs such tests repeat: a job under the job lock, a backup read back from the repository.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Discovery } from '../../src/discovery/discover';
import type { EngineContext } from '../../src/jobs/context';
import type { JobEvent } from '../../src/jobs/events';
import { JobLock } from '../../src/jobs/lock';
import { runJob, type Job, type JobResult } from '../../src/jobs/runner';
import type { Manifest } from '../../src/manifest/manifest';
import { planBackup } from '../../src/operations/backup_plan';

/**
 * Writes `install`/config/config.json (creating config/): PostgreSQL on port 1 (nothing listens,
 * so a test must exclude the database) and local files under ./data/. `extra` settings are added
 * at the top level of the config.
 */
export async function writeInstallConfig(install: string, extra: Record<string, unknown> = {}): Promise<void> {
  await mkdir(path.join(install, 'config'), { recursive: true });
  await writeFile(
    path.join(install, 'config', 'config.json'),
    JSON.stringify({
      SqlSettings: { DriverName: 'postgres', DataSource: 'postgres://mm:pw@127.0.0.1:1/mattermost?sslmode=disable' },
      FileSettings: { DriverName: 'local', Directory: './data/' },
      ...extra,
    }),
  );
}

/**
 * Runs the job `make` builds under the job lock of `ec` (released after), its events pushed to
 * `events`; `onEvent` also sees each one as the runner emits it (synchronously, before a step runs).
 */
export async function runLocked(
  ec: EngineContext,
  make: (lock: JobLock) => Job,
  events: JobEvent[] = [],
  onEvent?: (e: JobEvent) => void,
): Promise<JobResult> {
  const { lock } = await JobLock.acquire(ec.lockDir, 'j'.repeat(26), 'test');
  try {
    return await runJob(make(lock), new AbortController().signal, (e) => {
      onEvent?.(e);
      events.push(e);
    });
  } finally {
    await lock.release();
  }
}

/** An online backup by the CLI trigger, which must succeed; its manifest as the job wrote it. */
export async function backupOnline(ec: EngineContext, d: Discovery): Promise<Manifest> {
  let plan: ReturnType<typeof planBackup> | undefined;
  const r = await runLocked(ec, (lock) => {
    plan = planBackup(ec, d, lock, { mode: 'online', trigger: 'cli' });
    return plan.job;
  });
  expect(r.error).toBeUndefined();
  return plan?.result.manifest as Manifest;
}

/**
 * backupOnline, its manifest read back from the repository, as a restore reads it (only a
 * manifest read from the repository is trusted).
 */
export async function backupAndLoad(ec: EngineContext, d: Discovery): Promise<Manifest> {
  return ec.repo.loadSnapshot((await backupOnline(ec, d)).id);
}
