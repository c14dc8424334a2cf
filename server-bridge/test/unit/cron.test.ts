/** Schedules are standard 5-field cron expressions; anything else is refused when the config loads. */
import { checkCron } from '../../src/config/cron';
import { ConfigError } from '../../src/core/errors';

function problem(expr: string): ConfigError | undefined {
  try {
    checkCron(expr, 'Europe/Berlin', 'schedule.backup');
    return undefined;
  } catch (err) {
    return err as ConfigError;
  }
}

test.each(['0 3 * * *', '*/15 * * * *', '30 2 * * 1-5', '  0 3 * * *  ', '0 4 1 */2 sun'])(
  '"%s" is accepted',
  (expr) => {
    expect(problem(expr)).toBeUndefined();
  },
);

test.each([
  ['0 0 3 * * *', 6], // croner would read this as seconds first: hourly at minute 3, not 03:00
  ['0 0 3 * * * 2027', 7],
  ['0 3 * *', 4],
  ['@daily', 1],
  ['', 0],
])('"%s" (%d fields) is refused, naming the key and the count', (expr, n) => {
  const err = problem(expr);
  expect(err).toBeInstanceOf(ConfigError);
  expect(err?.code).toBe('CONFIG_INVALID');
  expect(err?.message).toContain('schedule.backup');
  expect(err?.message).toContain(`has ${n} field`);
  expect(err?.hint).toMatch(/5 fields/);
});

test('five fields that croner cannot read are still refused with its reason', () => {
  const err = problem('61 3 * * *');
  expect(err).toBeInstanceOf(ConfigError);
  expect(err?.message).toMatch(/schedule\.backup: /);
});
