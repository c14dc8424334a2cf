/**
 * `serve` checks the job lock at start exactly as every job does: a stale lock (its holder was
 * killed) is repaired by the same function (jobs/recover_stale_lock.ts), and history records of
 * jobs whose process is gone (a sidecar killed mid-job) are marked interrupted. It runs after
 * the API listens, so a Mattermost that will not come back never keeps the API from answering.
 */
import { asBridgeError } from '../core/errors';
import type { EngineContext } from '../jobs/context';
import { JobLock } from '../jobs/lock';
import { recoverStaleLock, type Recovery } from '../jobs/recover_stale_lock';
import type { JobHistory } from './job_history';
import { markInterrupted } from './job_record';

export interface StartupCheckDeps {
  ec: EngineContext;
  history: JobHistory;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  /** The repair's outcome, to log, post and show. */
  onRecovery(r: Recovery): void;
  /** A status-channel notice (queued until Mattermost answers). */
  notice(message: string): void;
  signal: AbortSignal;
}

/** Never throws: what it cannot do is logged, and the next job tries again. */
export async function checkLockAtStart(d: StartupCheckDeps): Promise<void> {
  let acquired: Awaited<ReturnType<typeof JobLock.acquire>>;
  try {
    acquired = await JobLock.acquire(d.ec.lockDir, `startup-${process.pid}`, 'startup-check');
  } catch (err) {
    // A live job (a CLI run) holds it: its own process restarts Mattermost if it stopped it.
    const e = asBridgeError(err);
    d.log(e.code === 'LOCK_HELD' ? 'info' : 'warn', `start-up lock check skipped: ${e.message}`);
    return;
  }
  const { lock, stale } = acquired;
  try {
    if (stale) d.onRecovery(await recoverStaleLock(d.ec, lock, stale, { log: d.log, signal: d.signal }));
    // We hold the lock, so no job runs anywhere: a record still queued or running lost its process.
    for (const rec of await d.history.list()) {
      if (rec.status !== 'queued' && rec.status !== 'running') continue;
      const msg = `⚠️ ${rec.kind} job ${rec.id} was interrupted: the process running it is gone (the sidecar was killed or restarted).`;
      markInterrupted(rec, msg);
      await d.history.save(rec);
      d.log('warn', msg);
      d.notice(msg);
    }
  } catch (err) {
    d.log('error', `start-up lock check failed: ${asBridgeError(err).message}`);
  } finally {
    await lock.release().catch(() => undefined);
  }
}
