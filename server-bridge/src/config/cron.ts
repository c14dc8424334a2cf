/** Cron expressions and time zones are checked when the config is loaded, not when they fire. */
import { Cron } from 'croner';
import { ConfigError } from '../core/errors';

export function checkCron(expr: string, timezone: string, key: string): void {
  try {
    const c = new Cron(expr, { timezone, paused: true });
    c.nextRun();
    c.stop();
  } catch (err) {
    throw new ConfigError(`invalid config: ${key}: ${(err as Error).message}`, [], { hint: 'use 5 fields (minute hour day month weekday), e.g. "0 3 * * *" for 03:00 every day' });
  }
}
