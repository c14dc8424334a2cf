/**
 * Cron schedules (with time zone) for backups and deep verifications. Jobs never overlap: a run
 * that finds another job holding the lock is reported, not queued. At start-up, a scheduled run
 * that should have happened while the sidecar was down is reported as missed.
 */
import { Cron } from 'croner';
import { asBridgeError } from '../core/errors';
export { checkCron } from '../config/cron';
import type { Config } from '../config/schema';
import type { OperationJobs } from '../operations';
import type { JobRecord } from '../jobs/job_record';
import { escapeMarkdown as md } from '../status/markdown';

export interface SchedulerHooks {
  notice(message: string): void;
  log(level: 'info' | 'warn', msg: string): void;
  /** Posts the summary of the last day's successful jobs (notify.successes "daily"). */
  dailySummary?(): Promise<void>;
}

export class Scheduler {
  private jobs: Cron[] = [];

  constructor(
    private readonly manager: OperationJobs,
    private readonly hooks: SchedulerHooks,
  ) {}

  /** (Re)arms the schedules from the config. */
  apply(cfg: Config): void {
    this.stop();
    const { backup, verify, pitrBackup, timezone } = cfg.schedule;
    if (backup) {
      this.jobs.push(
        new Cron(backup, { timezone, name: 'backup', protect: true }, () => {
          void this.fire('backup');
        }),
      );
    }
    if (verify) {
      this.jobs.push(
        new Cron(verify, { timezone, name: 'verify', protect: true }, () => {
          void this.fire('verify');
        }),
      );
    }
    if (pitrBackup) {
      this.jobs.push(
        new Cron(pitrBackup, { timezone, name: 'pitr-backup', protect: true }, () => {
          void this.fire('pitr-backup');
        }),
      );
    }
    if (cfg.notify.successes === 'daily' && this.hooks.dailySummary) {
      const [hh, mm] = cfg.notify.dailySummaryAt.split(':');
      const summary = this.hooks.dailySummary.bind(this.hooks);
      this.jobs.push(
        new Cron(`${Number(mm)} ${Number(hh)} * * *`, { timezone, name: 'summary' }, () => {
          void summary().catch(() => undefined);
        }),
      );
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
   * Reports each scheduled backup (logical `schedule.backup`, physical `schedule.pitrBackup`)
   * that should have run since the last scheduled one of its kind (the sidecar was down).
   * Returns the missed logical backup's time, if any (every missed run is posted).
   */
  detectMissed(cfg: Config, history: JobRecord[], now = new Date()): Date | undefined {
    const missed = MISSABLE.map((m) => ({ m, at: missedRun(cfg.schedule[m.key], m.kind, cfg, history, now) }));
    for (const { m, at } of missed) {
      if (!at) continue;
      const since = history.find((r) => r.kind === m.kind && r.trigger === 'schedule')?.created_at ?? '';
      this.hooks.notice(
        `⚠️ A scheduled ${m.label} was missed at ${at.toISOString()} (the backup sidecar was not running). The last scheduled ${m.label} ran at ${new Date(since).toISOString()}.`,
      );
    }
    return missed.find((x) => x.m.kind === 'backup')?.at;
  }

  /**
   * Starts the scheduled job (exported for tests: what a cron tick does). A backup's off-site copy
   * and prune are its own follow-ups (operations/backup.ts), as for every other front end.
   */
  async fire(kind: 'backup' | 'verify' | 'pitr-backup'): Promise<JobRecord | undefined> {
    try {
      const rec = await this.manager.start(
        kind === 'verify'
          ? { kind: 'verify', trigger: 'schedule', snapshotId: 'latest', deep: true }
          : { kind, trigger: 'schedule' },
      );
      this.hooks.log('info', `scheduled ${kind} started: job ${rec.id}`);
      return rec;
    } catch (err) {
      const e = asBridgeError(err);
      this.hooks.notice(`⚠️ The scheduled ${kind} did not start: ${md(e.message)}`);
      return undefined;
    }
  }
}

/** The schedules whose missed runs are reported at start-up, with the words of the post. */
const MISSABLE = [
  { kind: 'backup', key: 'backup', label: 'backup' },
  { kind: 'pitr-backup', key: 'pitrBackup', label: 'physical backup (pitr-backup)' },
] as const;

/**
 * The first run of `expr` after the last scheduled job of `kind` when it is over a minute past;
 * undefined without a schedule or a previous scheduled run (nothing to compare against).
 */
function missedRun(
  expr: string | undefined,
  kind: JobRecord['kind'],
  cfg: Config,
  history: JobRecord[],
  now: Date,
): Date | undefined {
  if (!expr) return undefined;
  const last = history.find((r) => r.kind === kind && r.trigger === 'schedule');
  if (!last) return undefined;
  const expected = new Cron(expr, { timezone: cfg.schedule.timezone, paused: true }).nextRun(new Date(last.created_at));
  return expected && expected.getTime() < now.getTime() - 60_000 ? expected : undefined;
}
