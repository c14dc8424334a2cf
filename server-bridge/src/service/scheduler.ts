/**
 * Cron schedules (with time zone) for backups and deep verifications. Jobs never overlap: a run
 * that finds another job holding the lock is reported, not queued. At start-up, a scheduled run
 * that should have happened while the sidecar was down is reported as missed.
 */
import { Cron } from 'croner';
import { asBridgeError } from '../core/errors';
export { checkCron } from '../config/cron';
import type { Config } from '../config/schema';
import type { JobManager } from './job_manager';
import type { JobRecord } from '../jobs/job_record';

export interface SchedulerHooks {
  notice(message: string): void;
  log(level: 'info' | 'warn', msg: string): void;
  /** Posts the summary of the last day's successful jobs (notify.successes "daily"). */
  dailySummary?(): Promise<void>;
}

export class Scheduler {
  private jobs: Cron[] = [];

  constructor(private readonly manager: JobManager, private readonly hooks: SchedulerHooks) {}

  /** (Re)arms the schedules from the config. */
  apply(cfg: Config): void {
    this.stop();
    const { backup, verify, timezone } = cfg.schedule;
    if (backup) {
      this.jobs.push(new Cron(backup, { timezone, name: 'backup', protect: true }, () => this.fire('backup', cfg)));
    }
    if (verify) {
      this.jobs.push(new Cron(verify, { timezone, name: 'verify', protect: true }, () => this.fire('verify', cfg)));
    }
    if (cfg.notify.successes === 'daily' && this.hooks.dailySummary) {
      const [hh, mm] = cfg.notify.dailySummaryAt.split(':');
      const summary = this.hooks.dailySummary.bind(this.hooks);
      this.jobs.push(new Cron(`${Number(mm)} ${Number(hh)} * * *`, { timezone, name: 'summary' }, () => void summary().catch(() => undefined)));
    }
  }

  nextBackup(): Date | undefined {
    return this.jobs.find((j) => j.name === 'backup')?.nextRun() ?? undefined;
  }

  stop(): void {
    for (const j of this.jobs) j.stop();
    this.jobs = [];
  }

  /**
   * Reports a scheduled backup that should have run since the last one (the sidecar was down).
   * Returns the missed time, if any.
   */
  detectMissed(cfg: Config, history: JobRecord[], now = new Date()): Date | undefined {
    if (!cfg.schedule.backup) return undefined;
    const last = history.find((r) => r.kind === 'backup' && r.trigger === 'schedule');
    const since = last ? new Date(last.created_at) : undefined;
    if (!since) return undefined;
    const expected = new Cron(cfg.schedule.backup, { timezone: cfg.schedule.timezone, paused: true }).nextRun(since);
    if (expected && expected.getTime() < now.getTime() - 60_000) {
      this.hooks.notice(`⚠️ A scheduled backup was missed at ${expected.toISOString()} (the backup sidecar was not running). The last scheduled backup ran at ${since.toISOString()}.`);
      return expected;
    }
    return undefined;
  }

  private async fire(kind: 'backup' | 'verify', cfg: Config): Promise<void> {
    try {
      const rec = await this.manager.start(kind === 'backup'
        ? { kind: 'backup', trigger: 'schedule' }
        : { kind: 'verify', trigger: 'schedule', snapshotId: 'latest', deep: true });
      this.hooks.log('info', `scheduled ${kind} started: job ${rec.id}`);
      if (kind !== 'backup') return;
      await this.manager.idle();
      if ((await this.manager.get(rec.id))?.status !== 'succeeded') return;
      // The off-site copy first (so a prune never races it), then local retention.
      if (cfg.offsite?.mode === 'replicate' && cfg.offsite.replicateAfterBackup) {
        await this.manager.start({ kind: 'replicate', trigger: 'schedule' });
        await this.manager.idle();
      }
      if (cfg.schedule.pruneAfterBackup) await this.manager.start({ kind: 'prune', trigger: 'schedule' });
    } catch (err) {
      const e = asBridgeError(err);
      this.hooks.notice(`⚠️ The scheduled ${kind} did not start: ${e.message}`);
    }
  }
}
