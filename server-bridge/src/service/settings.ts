/**
 * Settings the API may read and change. Reads never include secrets; writes are validated with
 * the same schema as the file (plus cron checks), then written atomically (0600) and applied.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { z } from 'zod';
import { parseConfig } from '../config/load';
import type { Config } from '../config/schema';
import type { settingsBody } from '../http/schemas';

export function readSettings(cfg: Config): Record<string, unknown> {
  return {
    schedule: { backup: cfg.schedule.backup ?? null, verify: cfg.schedule.verify ?? null, timezone: cfg.schedule.timezone, prune_after_backup: cfg.backup.pruneAfter },
    retention: { keep_last: cfg.retention.keepLast, keep_daily: cfg.retention.keepDaily, keep_weekly: cfg.retention.keepWeekly, keep_monthly: cfg.retention.keepMonthly },
    backup: { mode: cfg.backup.mode, exclude: cfg.backup.exclude },
    notify: { successes: cfg.notify.successes, daily_summary_at: cfg.notify.dailySummaryAt },
    status_channel: cfg.mattermost.statusChannel ?? null,
    mattermost_url: cfg.mattermost.url,
    listen: { public_url: cfg.listen.publicUrl ?? null, allowed_origins: cfg.listen.allowedOrigins },
  };
}

/** Applies `patch` to the config file and returns the new, validated config. */
export async function writeSettings(cfg: Config, patch: z.infer<typeof settingsBody>): Promise<Config> {
  const raw = JSON.parse(await readFile(cfg.configFile, 'utf8')) as Record<string, Record<string, unknown>>;
  const section = (k: string) => (raw[k] ??= {});
  const set = (obj: Record<string, unknown>, key: string, v: unknown) => {
    if (v === null) delete obj[key];
    else if (v !== undefined) obj[key] = v;
  };
  if (patch.schedule) {
    const s = section('schedule');
    set(s, 'backup', patch.schedule.backup);
    set(s, 'verify', patch.schedule.verify);
    set(s, 'timezone', patch.schedule.timezone);
    // A follow-up of every backup now (backup.pruneAfter); the page still sends it with the schedule.
    if (patch.schedule.prune_after_backup !== undefined) {
      delete s.pruneAfterBackup;
      set(section('backup'), 'pruneAfter', patch.schedule.prune_after_backup);
    }
  }
  if (patch.retention) {
    const r = section('retention');
    set(r, 'keepLast', patch.retention.keep_last);
    set(r, 'keepDaily', patch.retention.keep_daily);
    set(r, 'keepWeekly', patch.retention.keep_weekly);
    set(r, 'keepMonthly', patch.retention.keep_monthly);
  }
  if (patch.backup) {
    const b = section('backup');
    set(b, 'mode', patch.backup.mode);
    set(b, 'exclude', patch.backup.exclude);
  }
  if (patch.notify) {
    const n = section('notify');
    set(n, 'successes', patch.notify.successes);
    set(n, 'dailySummaryAt', patch.notify.daily_summary_at);
  }
  if (patch.status_channel !== undefined) set(section('mattermost'), 'statusChannel', patch.status_channel);
  const next = parseConfig(raw, cfg.configFile);
  const tmp = `${cfg.configFile}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(raw, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, cfg.configFile);
  // Secrets resolved from files at load time are carried over; the file itself never held them.
  return { ...next, mattermost: { ...next.mattermost, botToken: next.mattermost.botToken ?? cfg.mattermost.botToken }, database: { ...next.database, adminUrl: next.database.adminUrl ?? cfg.database.adminUrl } };
}
