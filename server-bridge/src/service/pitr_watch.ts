/**
 * The sidecar's eye on physical mode: reads the recovery window and the WAL archive's health
 * every `intervalMs` (reading costs a few psql and pgbackrest runs, so GET /v1/status and
 * /metrics answer from the last reading), and says in the status channel once when archiving
 * starts failing or stalls (failed_count rising counts too), and once when it is healthy again.
 */
import type { PitrStatus as PitrStatusView } from '@mm-backup/api';
import type { Config } from '../config/schema';
import { readPitrView, type PitrView } from '../operations/pitr_view';
import { plural } from '../core/units';
import { escapeMarkdown as md } from '../status/markdown';

export interface PitrWatchHooks {
  notice(message: string): void;
  log(level: 'info' | 'warn', msg: string): void;
}

export class PitrWatch {
  private last?: PitrStatusView;
  private timer?: NodeJS.Timeout;
  private reading?: Promise<void>;
  private readonly abort = new AbortController();
  /** The problem already posted, while it lasts. */
  private posted?: string;
  private lastFailedCount?: number;

  constructor(
    private readonly cfg: () => Config,
    private readonly hooks: PitrWatchHooks,
    private readonly intervalMs = 60_000,
  ) {}

  /** The last reading; undefined when physical mode is off or nothing was read yet. */
  get current(): PitrStatusView | undefined {
    return this.last;
  }

  start(): void {
    void this.poll();
    this.timer = setInterval(() => {
      void this.poll();
    }, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.abort.abort();
  }

  /** A reading started after this call (one in flight may predate a change: it is awaited, not shared). */
  async fresh(): Promise<PitrStatusView | undefined> {
    if (this.reading) await this.reading;
    return this.poll();
  }

  /** One reading now (also what each tick does); concurrent calls share it. */
  async poll(): Promise<PitrStatusView | undefined> {
    this.reading ??= this.read().finally(() => {
      this.reading = undefined;
    });
    await this.reading;
    return this.last;
  }

  private async read(): Promise<void> {
    let v: PitrView | undefined;
    try {
      v = await readPitrView(this.cfg(), this.abort.signal);
    } catch (err) {
      this.hooks.log('warn', `physical mode status: ${(err as Error).message}`);
      return;
    }
    this.last = v && { ...v, checked_at: new Date().toISOString() };
    if (!v) return;
    this.judge(v);
  }

  private judge(v: PitrView): void {
    const a = v.archive;
    const before = this.lastFailedCount;
    if (a.state !== 'unknown') this.lastFailedCount = a.failed_count;
    const rising = before !== undefined && a.failed_count > before;
    const problem =
      a.problem ??
      (rising ? `WAL archiving failed ${plural(a.failed_count - before, 'time')} since the last check` : undefined);
    if (problem && !this.posted) {
      this.posted = problem;
      this.hooks.log('warn', problem);
      this.hooks.notice(
        `⚠️ ${md(problem)}. Point-in-time recovery cannot reach past ${a.last_archived_at ?? 'the last archived segment'} until it works again. \`mm-backup pitr status\` shows more; pgBackRest's log is in /var/log/pgbackrest.`,
      );
    } else if (!problem && this.posted && a.state === 'ok') {
      this.posted = undefined;
      this.hooks.notice('✅ WAL archiving works again: the recovery window grows as before.');
    }
  }
}
