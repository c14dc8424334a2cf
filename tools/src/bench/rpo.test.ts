// node --test: WAL positions, segment ends and the RPO from a writer's commits and archive samples (run from tools/dist/bench).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLsn, rpoSeries, rpoStats, segmentEnd, type ArchiveSample, type Commit } from './rpo';

const MB16 = 16 * 1024 * 1024;

void describe('WAL positions', () => {
  void it('reads an LSN as bytes', () => {
    assert.equal(parseLsn('0/0'), 0n);
    assert.equal(parseLsn('0/1000000'), BigInt(MB16));
    assert.equal(parseLsn('16/B374D848'), (0x16n << 32n) + 0xb374d848n);
    assert.throws(() => parseLsn('16B374D848'), /not an LSN/);
  });

  void it('ends a segment where the next one starts, for any segment size', () => {
    // segment 3 of log 0: bytes 48 MB .. 64 MB
    assert.equal(segmentEnd('000000010000000000000003', MB16), BigInt(4 * MB16));
    // the last segment of log 0 (0xFF with 16 MB segments) ends where log 1 starts
    assert.equal(segmentEnd('0000000100000000000000FF', MB16), 1n << 32n);
    assert.equal(segmentEnd('000000020000000100000000', MB16), (1n << 32n) + BigInt(MB16));
    // 64 MB segments: 64 per log
    assert.equal(segmentEnd('00000001000000010000003F', 4 * MB16), 2n << 32n);
    assert.equal(segmentEnd('00000002.history', MB16), undefined);
    assert.equal(segmentEnd('000000010000000000000003.partial', MB16), undefined);
  });
});

void describe('RPO', () => {
  // Commits at 0.5, 1.5, …, 9.5 s; each one 1 kB further in segment 1 (bytes 16 MB .. 32 MB).
  const commits: Commit[] = Array.from({ length: 10 }, (_, i) => ({
    atMs: 500 + i * 1000,
    lsn: BigInt(MB16 + (i + 1) * 1024),
  }));
  const sample = (s: number, wal: string | undefined, age?: number): ArchiveSample => ({
    atMs: s * 1000,
    archivedEnd: wal ? segmentEnd(wal, MB16) : undefined,
    insertLsn: commits.filter((c) => c.atMs <= s * 1000).at(-1)?.lsn ?? BigInt(MB16),
    lastArchivedAgeS: age,
  });

  void it('is the age of the oldest commit past the newest archived segment, 0 once that segment is archived', () => {
    const samples = [
      sample(1, '000000010000000000000000'), // segment 0 archived: the commit of 0.5 s is in segment 1, 0.5 s old
      sample(4, '000000010000000000000000'), // still waiting: 3.5 s
      sample(6, '000000010000000000000001'), // segment 1 archived (a timeout switch): nothing waits
      sample(7, '00000002.history'), // a history file does not move the archived position back
      sample(11, '000000010000000000000001'),
    ];
    assert.deepEqual(rpoSeries(commits, samples), [0.5, 3.5, 0, 0, 0]);
  });

  void it('counts every commit as waiting before anything is archived, and none before the first commit', () => {
    assert.deepEqual(rpoSeries(commits, [sample(0.2, undefined), sample(3, undefined)]), [0, 2.5]);
  });

  void it('summarises median, p95, max, the unarchived bytes and the archive age', () => {
    const samples = [
      sample(1, '000000010000000000000000', 5),
      sample(2, '000000010000000000000000', 6),
      sample(3, '000000010000000000000000', 7),
      sample(4, '000000010000000000000001', 0.5),
    ];
    const s = rpoStats(commits, samples);
    assert.equal(s.samples, 4);
    assert.equal(s.commits, 10);
    assert.equal(s.medianS, 1);
    assert.equal(s.p95S, 2.5);
    assert.equal(s.maxS, 2.5);
    // 1, 2, 3 kB past the start of segment 1, then 0 once it is archived
    assert.equal(s.unarchivedMaxBytes, 3 * 1024);
    assert.equal(s.unarchivedMedianBytes, 1.5 * 1024);
    assert.equal(s.archiveAgeMedianS, 5.5);
    assert.equal(s.archiveAgeMaxS, 7);
  });
});
