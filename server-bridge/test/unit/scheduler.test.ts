import { Scheduler } from '../../src/service/scheduler';
import { parseConfig } from '../../src/config/load';
import type { JobRecord } from '../../src/jobs/job_record';
import type { JobManager } from '../../src/service/job_manager';
import { caught } from '../support/caught';

const base = {
  mattermost: { installDir: '/opt/mattermost' },
  service: { preset: 'none' },
  repository: { path: '/tmp/x' },
};

function rec(created: string, kind: JobRecord['kind'] = 'backup'): JobRecord {
  return {
    id: 'a'.repeat(26),
    kind,
    trigger: 'schedule',
    options: {},
    status: 'succeeded',
    created_at: created,
    steps: [],
    log_tail: [],
  };
}

test('a scheduled backup missed while the sidecar was down is reported once, with its time', () => {
  const notices: string[] = [];
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- detectMissed never uses the job manager
  const s = new Scheduler({} as JobManager, { notice: (m) => notices.push(m), log: () => undefined });
  const cfg = parseConfig({ ...base, schedule: { backup: '0 3 * * *', timezone: 'Europe/Berlin' } }, 'x');
  const missed = s.detectMissed(cfg, [rec('2026-01-01T02:00:00.000Z')], new Date('2026-01-03T12:00:00Z'));
  expect(missed?.toISOString()).toBe('2026-01-02T02:00:00.000Z'); // 03:00 Berlin = 02:00 UTC in winter
  expect(notices).toHaveLength(1);
  expect(notices[0]).toMatch(/missed at 2026-01-02T02:00:00.000Z/);
  expect(s.detectMissed(cfg, [rec('2026-01-03T02:00:00.000Z')], new Date('2026-01-03T12:00:00Z'))).toBeUndefined();
});

test('a missed physical backup (schedule.pitrBackup) is reported on its own, by its own history', () => {
  const notices: string[] = [];
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- detectMissed never uses the job manager
  const s = new Scheduler({} as JobManager, { notice: (m) => notices.push(m), log: () => undefined });
  const cfg = parseConfig(
    { ...base, schedule: { backup: '0 3 * * *', pitrBackup: '30 1 * * *', timezone: 'UTC' } },
    'x',
  );
  const now = new Date('2026-01-03T12:00:00Z');
  // The logical backup ran on time; the physical one last ran two days ago.
  const history = [rec('2026-01-03T03:00:00.000Z'), rec('2026-01-01T01:30:00.000Z', 'pitr-backup')];
  expect(s.detectMissed(cfg, history, now)).toBeUndefined();
  expect(notices).toEqual([
    '⚠️ A scheduled physical backup (pitr-backup) was missed at 2026-01-02T01:30:00.000Z (the backup sidecar was not running). The last scheduled physical backup (pitr-backup) ran at 2026-01-01T01:30:00.000Z.',
  ]);
  // Both on time: nothing; a manual (cli) pitr-backup does not count as the scheduled one.
  notices.length = 0;
  const onTime = [rec('2026-01-03T03:00:00.000Z'), rec('2026-01-03T01:30:00.000Z', 'pitr-backup')];
  expect(s.detectMissed(cfg, onTime, now)).toBeUndefined();
  expect(notices).toEqual([]);
  const manual = { ...rec('2026-01-03T05:00:00.000Z', 'pitr-backup'), trigger: 'cli' as const };
  s.detectMissed(cfg, [manual, ...history], now);
  expect(notices).toHaveLength(1);
  // Without schedule.pitrBackup, pitr-backup history is never reported.
  notices.length = 0;
  const noPitr = parseConfig({ ...base, schedule: { backup: '0 3 * * *', timezone: 'UTC' } }, 'x');
  expect(s.detectMissed(noPitr, history, now)).toBeUndefined();
  expect(notices).toEqual([]);
});

test('invalid cron expressions and time zones are config errors naming the key', async () => {
  const bad = caught(
    Promise.resolve().then(() => parseConfig({ ...base, schedule: { backup: 'every day at 3' } }, 'x')),
  );
  expect((await bad).message).toMatch(/schedule\.backup/);
  const tz = caught(
    Promise.resolve().then(() =>
      parseConfig({ ...base, schedule: { backup: '0 3 * * *', timezone: 'Mars/Olympus' } }, 'x'),
    ),
  );
  expect((await tz).message).toMatch(/schedule\.timezone: must be an IANA time zone/);
});
