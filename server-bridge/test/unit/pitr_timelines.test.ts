/**
 * The recovery window along one timeline's history (timelines.ts), from inputs shaped as
 * pgBackRest 2.45 prints them (repo-ls --recurse --output=json names, info's backups with their
 * archive segments and LSNs) and PostgreSQL's history file format.
 */
import type { BackupInfo, StanzaInfo } from '../../src/database/pgbackrest/info';
import { parseRepoLs } from '../../src/database/pgbackrest/pgbackrest';
import type { ArchiverStats } from '../../src/database/pgbackrest/settings';
import {
  applyHistory,
  gapOnHistory,
  historyView,
  holeAt,
  lineageOf,
  parseHistory,
  readListing,
} from '../../src/database/pgbackrest/timelines';

const SHA = 'b'.repeat(40);
const T0 = 1_800_000_000; // Unix seconds
/** A repo-ls JSON listing: segments as [name, time], history files as [tli, time]. */
function listing(segments: Array<[string, number]>, histories: Array<[number, number]> = []) {
  const obj: Record<string, unknown> = { '.': { type: 'path' } };
  for (const [name, time] of segments) {
    obj[name.slice(0, 16)] = { type: 'path' };
    obj[`${name.slice(0, 16)}/${name}-${SHA}.zst`] = { type: 'file', size: 100, time };
  }
  for (const [tli, time] of histories) {
    obj[`${tli.toString(16).toUpperCase().padStart(8, '0')}.history`] = { type: 'file', size: 40, time };
  }
  return readListing('15-1', parseRepoLs(JSON.stringify(obj)));
}
const seg = (tli: number, no: number) =>
  `${tli.toString(16).toUpperCase().padStart(8, '0')}00000000${no.toString(16).toUpperCase().padStart(8, '0')}`;
function backup(label: string, tli: number, startNo: number, stopNo: number, stopSec: number): BackupInfo {
  return {
    label,
    type: 'full',
    timestamp: { start: stopSec - 5, stop: stopSec },
    archive: { start: seg(tli, startNo), stop: seg(tli, stopNo) },
    lsn: {
      start: `0/${(startNo * 0x1000000 + 0x28).toString(16).toUpperCase()}`,
      stop: `0/${(stopNo * 0x1000000 + 0x100).toString(16).toUpperCase()}`,
    },
  };
}
const archiver = (wal: string, sec: number): ArchiverStats => ({
  archived_count: 1,
  last_archived_wal: wal,
  last_archived_time: new Date(sec * 1000).toISOString(),
  failed_count: 0,
  last_failed_wal: null,
  last_failed_time: null,
});
const stanzaOf = (backups: BackupInfo[]) =>
  ({
    name: 'main',
    status: { code: 0, message: 'ok' },
    db: [],
    archive: [{ id: '15-1' }],
    backup: backups,
  }) as StanzaInfo;

test('a history file: parent, switch LSN and reason per line, comments and junk skipped', () => {
  expect(
    parseHistory(
      '1\t0/50000A0\tbefore 2027-01-15 08:00:03.123456+00\n\n# comment\nnot a line\n2\t0/90000D8\tno recovery target specified\n',
    ),
  ).toEqual([
    { parent: 1, switchLsn: '0/50000A0', reason: 'before 2027-01-15 08:00:03.123456+00' },
    { parent: 2, switchLsn: '0/90000D8', reason: 'no recovery target specified' },
  ]);
});

describe('after a restore from timeline 1 onto timeline 2', () => {
  // Timeline 1: segments 1-8 (left in segment 5 at 0/50000A0); timeline 2 from segment 5 on.
  const l = listing(
    [
      ...[1, 2, 3, 4, 5, 6, 7, 8].map((n): [string, number] => [seg(1, n), T0 + n * 60]),
      ...[5, 6, 7].map((n): [string, number] => [seg(2, n), T0 + 1000 + n * 60]),
    ],
    [[2, T0 + 1000]],
  );
  const switches = parseHistory('1\t0/50000A0\tbefore 2027-01-15 08:00:03.5+00\n');
  const b0 = backup('B0', 1, 2, 2, T0 + 130); // before the switch point: on the history
  const b1 = backup('B1', 1, 6, 6, T0 + 370); // on the abandoned part of timeline 1
  const b2 = backup('B2', 2, 6, 6, T0 + 1400);

  test('the abandoned backup is not usable; the hole runs from the switch point to the new timeline', () => {
    const v = historyView([b0, b1], lineageOf(2, switches, l), l);
    expect(v.usable.map((b) => b.label)).toEqual(['B0']);
    expect(v.holes).toEqual([
      { timeline: 1, from: new Date('2027-01-15T08:00:03.500Z'), to: new Date((T0 + 1000) * 1000) },
    ]);
    expect(v.gaps).toEqual([]);
    expect(holeAt(v.holes, new Date('2027-01-15T08:00:03.500Z'))).toBeDefined();
    expect(holeAt(v.holes, new Date((T0 + 1000) * 1000))).toBeUndefined();
    // Without a time in the reason (an LSN target): the time timeline 1's segment 4 reached the repository.
    const byLsn = historyView([b0], lineageOf(2, parseHistory('1\t0/50000A0\tbefore LSN 0/50000A0\n'), l), l);
    expect(byLsn.holes[0]?.from).toEqual(new Date((T0 + 4 * 60) * 1000));
  });

  test('a segment missing on timeline 1 before the switch is a gap of timeline 2 history; one after it on timeline 1 is not', () => {
    const missing4 = listing(
      [
        ...[1, 2, 3, 5, 6, 7, 8].map((n): [string, number] => [seg(1, n), T0 + n * 60]),
        ...[5, 6, 7].map((n): [string, number] => [seg(2, n), T0 + 1000 + n * 60]),
      ],
      [[2, T0 + 1000]],
    );
    const v = historyView([b0, b1], lineageOf(2, switches, missing4), missing4);
    // Timeline 2 holds segment 5 (the switch segment): recovery reads it there.
    expect(v.gaps).toEqual([{ archiveId: '15-1', lastBefore: seg(1, 3), firstAfter: seg(2, 5) }]);
    const e = applyHistory(stanzaOf([b0, b1]), archiver(seg(2, 7), T0 + 1420), v, []);
    // Only B0 is on the history, and it is before the gap: broken, the window ends at B0.
    expect(e.broken).toBe(true);
    expect(e.window?.end).toEqual(new Date((T0 + 130) * 1000));
    // A backup on timeline 2 after the gap mends it.
    const mended = historyView([b0, b1, b2], lineageOf(2, switches, missing4), missing4);
    const e2 = applyHistory(stanzaOf([b0, b1, b2]), archiver(seg(2, 7), T0 + 1420), mended, []);
    expect(e2.broken).toBe(false);
    expect(e2.window?.start).toEqual(new Date((T0 + 1400) * 1000));

    const missing7 = listing(
      [
        ...[1, 2, 3, 4, 5, 6, 8].map((n): [string, number] => [seg(1, n), T0 + n * 60]),
        ...[5, 6, 7].map((n): [string, number] => [seg(2, n), T0 + 1000 + n * 60]),
      ],
      [[2, T0 + 1000]],
    );
    expect(historyView([b0], lineageOf(2, switches, missing7), missing7).gaps).toEqual([]);
    // A gap deep verify found on the abandoned part is not one of this history either.
    const e3 = applyHistory(
      stanzaOf([b0]),
      archiver(seg(2, 7), T0 + 1420),
      historyView([b0], lineageOf(2, switches, missing7), missing7),
      [{ archiveId: '15-1', lastBefore: seg(1, 6), firstAfter: seg(1, 8) }],
    );
    expect(e3.gap).toBeUndefined();
    expect(e3.window?.start).toEqual(new Date((T0 + 130) * 1000));
    // Deep verify's note (pitr_drill.ts) names the gaps off the history with the same test.
    const lineage = lineageOf(2, switches, missing7);
    const gap = (a: string, b: string) => ({ archiveId: '15-1', lastBefore: a, firstAfter: b });
    expect(gapOnHistory(gap(seg(1, 6), seg(1, 8)), lineage)).toBe(false);
    expect(gapOnHistory(gap(seg(1, 2), seg(1, 4)), lineage)).toBe(true);
    expect(gapOnHistory(gap(seg(2, 5), seg(2, 7)), lineage)).toBe(true);
    expect(gapOnHistory(gap(seg(3, 5), seg(3, 7)), lineage)).toBe(false);
  });

  test('timeline 1 alone: no hole, no history file needed, the window as before', () => {
    const v = historyView([b0, b1], lineageOf(1, [], l), l);
    expect(v.usable.map((b) => b.label)).toEqual(['B0', 'B1']);
    expect(v.holes).toEqual([]);
    expect(v.gaps).toEqual([]);
  });
});
