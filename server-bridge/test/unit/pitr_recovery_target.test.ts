/** restore --at's time (its offset required), the backup set that reaches it, and the timestamp given to pgBackRest. */
import { UsageError } from '../../src/core/errors';
import type { BackupInfo } from '../../src/database/pgbackrest/info';
import { pgTimestamp } from '../../src/database/pgbackrest/pgbackrest';
import { chooseBackupSet, parseRecoveryTarget } from '../../src/database/pgbackrest/recovery_target';

const at = (text: string) => {
  const r = parseRecoveryTarget(text);
  if (r.kind !== 'time') throw new Error('not a time');
  return r.at.toISOString();
};

test('times with every offset form are read exactly; "latest" is the end of the archive', () => {
  expect(at('2026-12-01 14:31:00+01:00')).toBe('2026-12-01T13:31:00.000Z');
  expect(at('2026-12-01T14:31:00+0100')).toBe('2026-12-01T13:31:00.000Z');
  expect(at('2026-12-01 14:31+01')).toBe('2026-12-01T13:31:00.000Z');
  expect(at('2026-12-01T13:31:00.250Z')).toBe('2026-12-01T13:31:00.250Z');
  expect(at('2026-12-01 08:31:00 -05:00')).toBe('2026-12-01T13:31:00.000Z');
  expect(parseRecoveryTarget(' Latest ')).toEqual({ kind: 'latest' });
});

test('a time without its offset, or not a time, is a usage error', () => {
  for (const bad of ['2026-12-01 14:31:00', 'yesterday', '2026-13-45 99:00:00Z', '']) {
    expect(() => parseRecoveryTarget(bad)).toThrow(UsageError);
  }
});

test('the backup set: the newest one consistent (stopped) at or before the time; the newest for latest', () => {
  const b = (label: string, stop: number): BackupInfo => ({
    label,
    type: 'full',
    timestamp: { start: stop - 60, stop },
    prior: null,
  });
  const backups = [b('c', 3000), b('a', 1000), b('b', 2000)];
  expect(chooseBackupSet(backups, new Date(2_500_000))?.label).toBe('b');
  expect(chooseBackupSet(backups, new Date(2_000_000))?.label).toBe('b');
  expect(chooseBackupSet(backups, new Date(1_999_999))?.label).toBe('a');
  expect(chooseBackupSet(backups, new Date(999_000))).toBeUndefined();
  expect(chooseBackupSet(backups, undefined)?.label).toBe('c');
});

test('the target is written in UTC with its offset, to the millisecond', () => {
  expect(pgTimestamp(new Date('2026-12-01T13:31:00.250Z'))).toBe('2026-12-01 13:31:00.250+00');
});

test('a date or time that does not exist is refused, never rolled over to another one', () => {
  // new Date() reads 2026-02-30 as 2026-03-02 and 24:00 as the next day: a restore to a time nobody asked for.
  for (const bad of [
    '2026-02-30 10:00:00Z',
    '2026-02-29 10:00:00Z',
    '2026-04-31T10:00:00+02:00',
    '2026-12-01 24:00:00Z',
    '2026-12-01 23:59:60Z',
    '2026-12-01 10:00:00+24:00',
    '2026-12-01 10:00:00+05:60',
  ]) {
    expect(() => parseRecoveryTarget(bad)).toThrow(UsageError);
  }
  expect(at('2028-02-29 10:00:00Z')).toBe('2028-02-29T10:00:00.000Z');
  expect(at('2026-12-31 23:59:59.999-12:00')).toBe('2027-01-01T11:59:59.999Z');
});

test('a huge text is refused with a message that does not repeat it', () => {
  const huge = `2026-12-01 10:00:00${'Z'.repeat(100_000)}`;
  let msg = '';
  try {
    parseRecoveryTarget(huge);
  } catch (err) {
    msg = (err as Error).message;
  }
  expect(msg).toMatch(/not a time/);
  expect(msg.length).toBeLessThan(300);
});
