/**
 * Runs a job under the repository lock with SIGINT/SIGTERM wired to its AbortSignal. A stale
 * lock (its holder was killed outright) is repaired first by the same function the sidecar
 * uses (jobs/recover_stale_lock.ts): a half-done restore rolled back, Mattermost started again,
 * the killed job marked interrupted and posted.
 */
import { BridgeError } from '../core/errors';
import type { EngineContext } from '../jobs/context';
import { JobLock } from '../jobs/lock';
import { recoverStaleLock } from '../jobs/recover_stale_lock';
import { runJob, type Job, type JobResult } from '../jobs/runner';
import { postNotice } from '../status/post_notice';
import type { Output } from './render';

export async function withLock<T>(ec: EngineContext, kind: string, out: Output, fn: (lock: JobLock) => Promise<T>): Promise<T> {
  const { lock, stale } = await JobLock.acquire(ec.lockDir, `pending-${process.pid}`, kind);
  try {
    if (stale) {
      const r = await recoverStaleLock(ec, lock, stale, { log: (level, message) => out.emit({ type: 'log', jobId: lock.current.jobId, level, message }) });
      // Best effort: the status channel hears it as from the sidecar; a CLI run never waits long for it.
      if (r.mattermostRunning) await postNotice(ec.cfg, r.message).catch(() => false);
      if (r.error && !r.mattermostRunning) {
        throw new BridgeError(r.error.code as BridgeError['code'], r.error.message, { hint: r.error.hint });
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
