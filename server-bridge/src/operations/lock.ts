/**
 * The one way every job takes the repository lock, in the foreground (CLI) or the background
 * (sidecar): a stale lock (its holder was killed outright) is repaired first by
 * recoverStaleLock: a half-done restore rolled back, Mattermost started again, the killed job
 * marked interrupted. When Mattermost could not be brought back, the lock is not taken. Then a
 * PostgreSQL that an earlier job left down (postgres_down.ts) is started again; while it stays
 * down, a job that needs the database (needs_database.ts) does not take its work.
 */
import { BridgeError } from '../core/errors';
import type { EngineContext } from '../jobs/context';
import { JobLock, type StaleLock } from '../jobs/lock';
import { retryPostgresDown, type PostgresDownRetry } from './postgres_down';
import { recoverStaleLock, type Recovery } from './recover_stale_lock';

export interface LockOptions {
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
  signal?: AbortSignal;
  /** Told about a repair before the job goes on (to post and show it). */
  onRecovery?(r: Recovery): void | Promise<void>;
  /** Told when PostgreSQL had been left down: started again, found running, or still down. */
  onPostgres?(r: PostgresDownRetry): void | Promise<void>;
  /**
   * false: the job does not touch the database (needs_database.ts), so it goes on while
   * PostgreSQL stays down. Default true: refused then.
   */
  needsDatabase?: boolean;
}

/** Takes the lock for `jobId` and repairs a stale one; throws LOCK_HELD, or the repair's error when it left Mattermost or PostgreSQL down. */
export async function takeJobLock(ec: EngineContext, jobId: string, kind: string, o: LockOptions): Promise<JobLock> {
  const { lock, stale } = await JobLock.acquire(ec.lockDir, jobId, kind);
  try {
    await repairStaleLock(ec, lock, stale, o);
    return lock;
  } catch (err) {
    await lock.release().catch(() => undefined);
    throw err;
  }
}

/**
 * The repair half, for a caller that took the lock itself (the sidecar answers LOCK_HELD at once
 * and repairs in the background). Throws when Mattermost or PostgreSQL could not be brought back;
 * the caller releases the lock.
 */
export async function repairStaleLock(
  ec: EngineContext,
  lock: JobLock,
  stale: StaleLock | undefined,
  o: LockOptions,
): Promise<void> {
  if (stale) {
    const r = await recoverStaleLock(ec, lock, stale, { log: o.log, signal: o.signal });
    await o.onRecovery?.(r);
    if (r.error && !r.mattermostRunning) {
      throw new BridgeError(r.error.code as BridgeError['code'], r.error.message, { hint: r.error.hint });
    }
  }
  const pg = await retryPostgresDown(ec, o.log);
  if (!pg) return;
  await o.onPostgres?.(pg);
  if (pg.outcome === 'down') {
    // A backup, a restore or a pitr job needs the database: refused, saying why. An off-site copy,
    // a prune or a plain verify only needs the repository: it goes on (during an outage the copy
    // off-site of what is there matters most).
    if (o.needsDatabase !== false) throw new BridgeError('PROCESS_FAILED', pg.message, { cause: pg.error });
    o.log('warn', 'this job does not use the database: it goes on while PostgreSQL is down');
  }
}
