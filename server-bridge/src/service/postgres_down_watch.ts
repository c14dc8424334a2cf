/**
 * The sidecar's retry of a PostgreSQL that a job left down (operations/postgres_down.ts): every
 * `intervalMs` (5 minutes) while the marker beside the signing key is there, it takes the job
 * lock (held by a job: skipped, that job retried before it began) and runs the same repair as
 * before every job. Why 5 minutes: PostgreSQL down means Mattermost down, so it should come back
 * soon after its cause is fixed; a failing start costs a second and one log line (each start is
 * bounded at 180 s, and the status channel hears only of changes), and the lock is held only while
 * an attempt runs.
 */
import { asBridgeError } from '../core/errors';
import type { EngineContext } from '../jobs/context';
import { JobLock } from '../jobs/lock';
import { readPostgresDownMarker } from '../jobs/postgres_down_marker';
import { repairStaleLock } from '../operations';
import type { LockOptions } from '../operations/lock';
import { POSTGRES_RETRY_MINUTES } from '../operations/postgres_down';

export class PostgresDownWatch {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly ec: () => EngineContext,
    private readonly o: Pick<LockOptions, 'log' | 'onRecovery' | 'onPostgres'>,
    private readonly intervalMs = POSTGRES_RETRY_MINUTES * 60_000,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      void this.tick();
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** One attempt now when the marker is there; concurrent calls share it. Never throws. */
  tick(): Promise<void> {
    this.running ??= this.attempt().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async attempt(): Promise<void> {
    const ec = this.ec();
    try {
      if (!(await readPostgresDownMarker(ec.trust.keyFile))) return;
      const { lock, stale } = await JobLock.acquire(ec.lockDir, `postgres-retry-${process.pid}`, 'postgres-retry');
      try {
        // What it could not do is told through onPostgres; the error only refuses a job.
        await repairStaleLock(ec, lock, stale, this.o).catch(() => undefined);
      } finally {
        await lock.release().catch(() => undefined);
      }
    } catch (err) {
      const e = asBridgeError(err);
      // LOCK_HELD: a job runs, and it retried before it began.
      this.o.log(e.code === 'LOCK_HELD' ? 'info' : 'error', `PostgreSQL retry: ${e.message}`);
    }
  }
}
