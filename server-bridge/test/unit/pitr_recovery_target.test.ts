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
