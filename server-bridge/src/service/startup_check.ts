/**
 * `serve` checks the job lock at start exactly as every job does: a stale lock (its holder was
 * killed) is repaired by the same function as before every job (operations/lock.ts), and history records of
 * jobs whose process is gone (a sidecar killed mid-job) are marked interrupted; a PostgreSQL an
 * earlier job left down is started again (operations/postgres_down.ts). It runs after
 * the API listens, so a Mattermost that will not come back never keeps the API from answering.
 */
import { asBridgeError } from '../core/errors';
import type { EngineContext } from '../jobs/context';
import { JobLock } from '../jobs/lock';
import { repairStaleLock } from '../operations';
import type { Recovery } from '../operations/recover_stale_lock';
import type { PostgresDownRetry } from '../operations/postgres_down';
import { readPostgresDownMarker } from '../jobs/postgres_down_marker';
import type { JobHistory } from '../jobs/job_history';
import { markInterrupted } from '../jobs/job_record';

export interface StartupCheckDeps {
  ec: EngineContext;
  history: JobHistory;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** The repair's outcome, to log, post and show. */
  onRecovery: (r: Recovery) => void;
  /** A PostgreSQL left down by an earlier job: started again, or still down. */
  onPostgres: (r: PostgresDownRetry) => void;
  /** A status-channel notice (queued until Mattermost answers). */
  notice(message: string): void;
  signal: AbortSignal;
}

/** Never throws: what it cannot do is logged, and the next job tries again. */
export async function checkLockAtStart(d: StartupCheckDeps): Promise<void> {
  // Records of this sidecar's own jobs are created after this instant; older unfinished ones lost their process.
  const startedAt = new Date().toISOString();
  try {
    const cur = await JobLock.inspect(d.ec.lockDir);
    // Only a stale lock, or a free one with PostgreSQL left down, is taken: otherwise a free one is
    // left free, so an API job right after start is never refused.
    const pgDown = !cur && !!(await readPostgresDownMarker(d.ec.trust.keyFile));
    if ((cur && !cur.alive) || pgDown) {
      const { lock, stale } = await JobLock.acquire(d.ec.lockDir, `startup-${process.pid}`, 'startup-check');
      try {
        // The same repair as before every job (operations/lock.ts); what it could not do is reported
        // through onRecovery, and the next job or start tries again.
        await repairStaleLock(d.ec, lock, stale, {
          log: d.log,
          signal: d.signal,
          onRecovery: d.onRecovery,
          onPostgres: d.onPostgres,
        }).catch(() => undefined);
      } finally {
        await lock.release().catch(() => undefined);
      }
    }
  } catch (err) {
    // A job took the lock first (LOCK_HELD): it repairs the stale lock itself, with the same function.
    const e = asBridgeError(err);
    d.log(e.code === 'LOCK_HELD' ? 'info' : 'error', `start-up lock check: ${e.message}`);
  }
  try {
    for (const rec of await d.history.list()) {
      if ((rec.status !== 'queued' && rec.status !== 'running') || rec.created_at >= startedAt) continue;
      const msg = `⚠️ ${rec.kind} job ${rec.id} was interrupted: the process running it is gone (the sidecar was killed or restarted).`;
      markInterrupted(rec, msg);
      await d.history.save(rec);
      d.log('warn', msg);
      d.notice(msg);
    }
  } catch (err) {
    d.log('error', `start-up history check: ${asBridgeError(err).message}`);
  }
}
