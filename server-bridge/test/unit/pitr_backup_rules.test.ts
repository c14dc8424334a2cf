/** The schedule rule for the backup type, pitr.window as pgBackRest retention, and the recovery window's bounds. */
import { chooseBackupType, retentionFor } from '../../src/database/pgbackrest/backup_schedule';
import type { BackupInfo } from '../../src/database/pgbackrest/info';
import { archiveHealth, recoveryWindow } from '../../src/database/pgbackrest/recovery_window';

const DAY = 86_400;
const now = new Date('2026-12-10T12:00:00Z');
const t = (daysAgo: number) => Math.floor(now.getTime() / 1000) - daysAgo * DAY;
const backup = (
  label: string,
  type: string,
  startDaysAgo: number,
  walStop = '000000010000000000000010',
): BackupInfo => ({
  label,
  type,
  timestamp: { start: t(startDaysAgo), stop: t(startDaysAgo) + 60 },
  archive: { start: walStop, stop: walStop },
  prior: null,
});
const archiver = (o: Partial<Record<string, unknown>> = {}) => ({
  archived_count: 10,
  last_archived_wal: '000000010000000000000020',
  last_archived_time: new Date(now.getTime() - 30_000).toISOString(),
  failed_count: 0,
  last_failed_wal: null,
  last_failed_time: null,
  ...o,
});

test('full when none exists or the newest full is fullEveryDays old; incr otherwise', () => {
  expect(chooseBackupType([], now, 7)).toBe('full');
  expect(chooseBackupType([backup('a', 'full', 8)], now, 7)).toBe('full');
  expect(chooseBackupType([backup('a', 'full', 7)], now, 7)).toBe('full');
  expect(chooseBackupType([backup('a', 'full', 8), backup('b', 'full', 2), backup('c', 'incr', 1)], now, 7)).toBe(
    'incr',
  );
  // An incr alone is not a full: the newest full counts.
  expect(chooseBackupType([backup('a', 'full', 9), backup('b', 'incr', 1)], now, 7)).toBe('full');
});

test('pitr.window becomes whole days of full-backup retention, hours rounded up', () => {
  expect(retentionFor('7d')).toEqual({ fullDays: 7 });
  expect(retentionFor('36h')).toEqual({ fullDays: 2 });
  expect(retentionFor('24h')).toEqual({ fullDays: 1 });
  expect(retentionFor('1h')).toEqual({ fullDays: 1 });
});

test('the window runs from the oldest backup stop to the last archived segment', () => {
  const stanza = {
    name: 's',
    status: { code: 0, message: 'ok' },
    db: [],
    archive: [],
    backup: [backup('b', 'incr', 1), backup('a', 'full', 3)],
  };
  const w = recoveryWindow(stanza, archiver());
  expect(w?.start.getTime()).toBe((t(3) + 60) * 1000);
  expect(w?.end.toISOString()).toBe(new Date(now.getTime() - 30_000).toISOString());
  expect(w?.oldestBackup).toBe('a');
  // A last archived segment from before the newest backup's end: the backup's stop is the end.
  const w2 = recoveryWindow(stanza, archiver({ last_archived_wal: '00000001000000000000000F' }));
  expect(w2?.end.getTime()).toBe((t(1) + 60) * 1000);
  expect(recoveryWindow({ ...stanza, backup: [] }, archiver())).toBeUndefined();
});

test('archive health: failing when the latest attempt failed, stalled when a segment waits too long', () => {
  const none = { count: 0, oldestSeconds: 0 };
  expect(archiveHealth(archiver(), none, 60, now).state).toBe('ok');
  const failing = archiveHealth(
    archiver({ failed_count: 3, last_failed_wal: 'X', last_failed_time: new Date(now.getTime() - 1000).toISOString() }),
    { count: 2, oldestSeconds: 5 },
    60,
    now,
  );
  expect(failing).toMatchObject({ state: 'failing', failedCount: 3, waitingSegments: 2 });
  expect(failing.problem).toMatch(/failing.*X/);
  // Older failures followed by a success are history, not a problem.
  const healed = archiver({ failed_count: 3, last_failed_time: new Date(now.getTime() - 60_000).toISOString() });
  expect(archiveHealth(healed, none, 60, now).state).toBe('ok');
  // A segment waiting longer than 3 × archive_timeout is a stall, however recent the last success.
  const stalled = archiveHealth(archiver(), { count: 1, oldestSeconds: 181 }, 60, now);
  expect(stalled.state).toBe('stalled');
  expect(stalled.problem).toMatch(/oldest for 181 s .*180 s/);
  // After a quiet hour the last archived segment is old, but the one just completed is no stall;
  // nor is a first segment waiting on a fresh cluster that never archived one.
  const quiet = archiver({ last_archived_time: new Date(now.getTime() - 3_600_000).toISOString() });
  expect(archiveHealth(quiet, { count: 1, oldestSeconds: 1 }, 60, now).state).toBe('ok');
  const fresh = archiver({ last_archived_wal: null, last_archived_time: null });
  expect(archiveHealth(fresh, { count: 1, oldestSeconds: 1 }, 60, now).state).toBe('ok');
});
