/**
 * pgbackrest verify's output (2.45, as captured from a real run with a deleted and a corrupted WAL
 * segment and a corrupted backup file), the WAL gaps read from its ranges, what a gap does to the
 * recovery window, and the drill's row-count tolerance.
 */
import type { StanzaInfo } from '../../src/database/pgbackrest/info';
import { parseVerifyOutput, verifyProblems } from '../../src/database/pgbackrest/verify_output';
import { applyGaps, walGaps } from '../../src/database/pgbackrest/wal_gaps';
import { compareDrillCounts } from '../../src/operations/pitr_drill_counts';

const BAD = `2026-12-02 14:08:13.543 P00   INFO: verify command begin 2.45: --config-path=/tmp/pdexp/conf --exec-id=12699-f72aefd2 --log-level-console=detail --output=text --stanza=t
2026-12-02 14:08:28.676 P01   INFO: invalid result 15-1/0000000100000000/000000010000000000000004-3b02eaf0aa690b035b92afc4118ff4ddb11be447.zst: [29] raised from local-1 protocol: zst error: [-20] Data corruption detected
                                    [FormatError] on retry after 0ms
2026-12-02 14:08:28.698 P01   INFO: invalid checksum '20261202-140803F/pg_data/PG_VERSION.zst'
2026-12-02 14:08:28.854 P00 DETAIL: archiveId: 15-1, wal start: 000000010000000000000001, wal stop: 000000010000000000000002
2026-12-02 14:08:28.854 P00 DETAIL: archiveId: 15-1, wal start: 000000010000000000000004, wal stop: 000000010000000000000005
2026-12-02 14:08:28.854 P00   INFO: stanza: t
                                    status: error
                                      archiveId: 15-1, total WAL checked: 4, total valid WAL: 3
                                        missing: 0, checksum invalid: 0, size invalid: 0, other: 1
                                      backup: 20261202-140803F, status: invalid, total files checked: 964, total valid files: 963
                                        missing: 0, checksum invalid: 1, size invalid: 0, other: 0
stanza: t
status: error
  archiveId: 15-1, total WAL checked: 4, total valid WAL: 3
    missing: 0, checksum invalid: 0, size invalid: 0, other: 1
  backup: 20261202-140803F, status: invalid, total files checked: 964, total valid files: 963
    missing: 0, checksum invalid: 1, size invalid: 0, other: 0
2026-12-02 14:08:28.854 P00   INFO: verify command end: completed successfully (15313ms)
`;

const GOOD = `2026-12-02 14:08:11.605 P00 DETAIL: archiveId: 15-1, wal start: 000000010000000000000001, wal stop: 000000010000000000000005
2026-12-02 14:08:11.605 P00 DETAIL: archiveId: 15-1, wal start: 000000020000000000000005, wal stop: 000000020000000000000007
stanza: t
status: ok
  archiveId: 15-1, total WAL checked: 8, total valid WAL: 8
    missing: 0, checksum invalid: 0, size invalid: 0, other: 0
  backup: 20261202-140803F, status: valid, total files checked: 964, total valid files: 964
    missing: 0, checksum invalid: 0, size invalid: 0, other: 0
2026-12-02 14:08:11.605 P00   INFO: verify command end: completed successfully (594ms)
`;

test('a damaged repository: the status, the counts, the files named, a gap in the ranges', () => {
  const r = parseVerifyOutput(BAD);
  expect(r.status).toBe('error');
  expect(r.archives).toEqual([{ archiveId: '15-1', checked: 4, valid: 3, missing: 0, checksum: 0, size: 0, other: 1 }]);
  expect(r.backups).toEqual([
    {
      label: '20261202-140803F',
      status: 'invalid',
      checked: 964,
      valid: 963,
      missing: 0,
      checksum: 1,
      size: 0,
      other: 0,
    },
  ]);
  expect(r.badFiles).toEqual([
    '15-1/0000000100000000/000000010000000000000004-3b02eaf0aa690b035b92afc4118ff4ddb11be447.zst',
    '20261202-140803F/pg_data/PG_VERSION.zst',
  ]);
  expect(r.otherProblems).toEqual([]);
  expect(verifyProblems(r)).toEqual([
    'WAL archive 15-1: 1 of 4 segments are damaged (1 unreadable)',
    'backup 20261202-140803F is invalid: 1 of 964 files damaged (1 with a wrong checksum)',
  ]);
  expect(walGaps(r.ranges)).toEqual([
    { archiveId: '15-1', lastBefore: '000000010000000000000002', firstAfter: '000000010000000000000004' },
  ]);
});

test('a sound repository: no problems; a new timeline is no gap', () => {
  const r = parseVerifyOutput(GOOD);
  expect(r.status).toBe('ok');
  expect(verifyProblems(r)).toEqual([]);
  expect(r.ranges).toHaveLength(2);
  expect(walGaps(r.ranges)).toEqual([]);
});

test('no result at all, or a result that is neither archive nor backup, is a problem', () => {
  expect(verifyProblems(parseVerifyOutput('P00 ERROR: something\n'))).toEqual(['pgbackrest verify printed no result']);
  const r = parseVerifyOutput('stanza: t\nstatus: error\n  No usable backup.info file\n');
  expect(verifyProblems(r)).toEqual(['No usable backup.info file']);
  // Names from the repository are made printable before they reach a message.
  expect(parseVerifyOutput("P01 INFO: invalid checksum 'x\u001b[31m'\nstanza: t\nstatus: error\n").badFiles).toEqual([
    'x?[31m',
  ]);
});

const stanza = (backups: Array<[string, number, number, string, string]>): StanzaInfo => ({
  name: 't',
  status: { code: 0, message: 'ok' },
  db: [],
  archive: [],
  backup: backups.map(([label, start, stop, walStart, walStop]) => ({
    label,
    type: 'full',
    timestamp: { start, stop },
    archive: { start: walStart, stop: walStop },
  })),
});
const seg = (n: number) => `0000000100000000000000${n.toString(16).toUpperCase().padStart(2, '0')}`;
const window = { start: new Date(1100_000), end: new Date(9000_000), oldestBackup: 'A', newestBackup: 'B' };

test('a gap after the newest backup breaks the window: it ends at the newest backup before it', () => {
  const s = stanza([
    ['A', 1000, 1100, seg(2), seg(3)],
    ['B', 2000, 2100, seg(6), seg(7)],
  ]);
  const e = applyGaps(window, s, [{ archiveId: '15-1', lastBefore: seg(9), firstAfter: seg(12) }]);
  expect(e.broken).toBe(true);
  expect(e.window).toMatchObject({ start: new Date(1100_000), end: new Date(2100_000), newestBackup: 'B' });
  expect(e.problem).toMatch(/no backup was taken after it.*pitr backup --type full/);
});

test('a gap with a backup after it moves the window start to that backup; a gap before the oldest backup is ignored', () => {
  const s = stanza([
    ['A', 1000, 1100, seg(2), seg(3)],
    ['B', 2000, 2100, seg(12), seg(13)],
  ]);
  const e = applyGaps(window, s, [{ archiveId: '15-1', lastBefore: seg(9), firstAfter: seg(12) }]);
  expect(e.broken).toBe(false);
  expect(e.window).toMatchObject({ start: new Date(2100_000), end: window.end, oldestBackup: 'B' });
  expect(e.problem).toMatch(/the recovery window starts at/);
  const old = applyGaps(window, s, [{ archiveId: '15-1', lastBefore: seg(0), firstAfter: seg(2) }]);
  expect(old).toEqual({ window, broken: false });
});

test('row counts: equal, within 1% + 100, beyond, and a missing table', () => {
  expect(compareDrillCounts({ a: 5, b: 10_000 }, { a: 5, b: 10_000, extra: 3 })).toEqual({
    problems: [],
    differences: [],
  });
  const r = compareDrillCounts({ a: 5, b: 10_000, c: 7 }, { a: 105, b: 10_201 });
  expect(r.differences).toEqual([
    { table: 'a', dump: 5, copy: 105 },
    { table: 'b', dump: 10_000, copy: 10_201 },
    { table: 'c', dump: 7, copy: null },
  ]);
  expect(r.problems).toEqual(['table b: 10201 rows, the dump has 10000', 'table c (7 rows in the dump) is missing']);
});
