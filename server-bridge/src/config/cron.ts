/** Cron expressions and time zones are checked when the config is loaded, not when they fire. */
import { Cron } from 'croner';
import { ConfigError } from '../core/errors';

const HINT = 'use 5 fields (minute hour day month weekday), e.g. "0 3 * * *" for 03:00 every day';

/** Throws ConfigError unless `expr` is a standard 5-field cron expression that can fire in `timezone`. */
export function checkCron(expr: string, timezone: string, key: string): void {
  // croner also takes seconds (6 fields) and years (7): "0 3 * * * *" would then mean every hour at
  // minute 3, second 0, not what the admin meant. Only the standard form is accepted.
  const fields = expr.trim().split(/\s+/).filter(Boolean);
  if (fields.length !== 5) {
    throw new ConfigError(
      `invalid config: ${key}: "${expr}" has ${fields.length} field${fields.length === 1 ? '' : 's'}, a schedule has exactly 5`,
      [],
      {
        hint: HINT,
        fields: [
          {
            path: key,
            message: `has ${fields.length} field${fields.length === 1 ? '' : 's'}, a schedule has exactly 5`,
          },
        ],
      },
    );
  }
  try {
    const c = new Cron(expr, { timezone, paused: true });
    c.nextRun();
    c.stop();
  } catch (err) {
    throw new ConfigError(`invalid config: ${key}: ${(err as Error).message}`, [], {
      hint: HINT,
      fields: [{ path: key, message: (err as Error).message }],
    });
  }
}
