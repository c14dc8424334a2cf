/**
 * Runs a job under the repository lock with SIGINT/SIGTERM wired to its AbortSignal. A stale
 * lock whose holder had stopped Mattermost (killed mid-backup) is repaired first: Mattermost
 * is started again and the admin is told.
 */
import { BridgeError } from '../core/errors';
import type { EngineContext } from '../jobs/context';
import { JobLock } from '../jobs/lock';
import { runJob, type Job, type JobResult } from '../jobs/runner';
import type { Output } from './render';

export async function withLock<T>(ec: EngineContext, kind: string, out: Output, fn: (lock: JobLock) => Promise<T>): Promise<T> {
  const { lock, stale } = await JobLock.acquire(ec.lockDir, `pending-${process.pid}`, kind);
  try {
    if (stale) {
      out.info(`found a stale lock from ${stale.info.kind} ${stale.info.jobId} (pid ${stale.info.pid}, started ${stale.info.startedAt}); that process is gone`);
      if (stale.info.mattermostStopped) {
        out.info('it had stopped Mattermost: starting Mattermost again');
        await lock.update({ mattermostStopped: true });
        await ec.service.start();
        await lock.update({ mattermostStopped: false });
        out.info('Mattermost is running and healthy again');
      }
    }
    return await fn(lock);
  } finally {
    await lock.release();
  }
}

/** Runs `job`, aborting it on SIGINT/SIGTERM so undo and finally steps still run. */
export async function runCliJob(job: Job, lock: JobLock, out: Output): Promise<JobResult> {
  await lock.update({ jobId: job.id, kind: job.kind });
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    out.info(`received ${sig}: cancelling; Mattermost will be started again if it was stopped`);
    ac.abort(new BridgeError('CANCELLED', `cancelled by ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await runJob(job, ac.signal, out.emit);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
