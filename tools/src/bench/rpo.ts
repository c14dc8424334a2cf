/**
 * The recovery point of physical mode under a steady write load, from two series taken in the
 * same run: the writer's commits (local time after each commit, and the WAL insert position just
 * after it) and samples of the archive (local time, `pg_stat_archiver.last_archived_wal`, the
 * insert position). A commit is archived once the newest archived segment ends at or after its
 * position; what a crash at sample time t loses is every commit after the oldest unarchived one,
 * so the RPO at t is t minus that commit's time (0 when every commit so far is archived).
 */
import { median, percentile } from './measure';

/** A PostgreSQL LSN (`16/B374D848`) as a byte position. */
export function parseLsn(lsn: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn.trim());
  if (!m) throw new Error(`not an LSN: "${lsn}"`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

/**
 * The byte position just past the WAL segment `name` (24 hex digits: timeline, log, segment) for
 * segments of `segmentBytes`; undefined for anything else (a `.history` or `.partial` file, which
 * does not move the archived position of the timeline being written).
 */
export function segmentEnd(name: string, segmentBytes: number): bigint | undefined {
  const m = /^[0-9A-F]{8}([0-9A-F]{8})([0-9A-F]{8})$/.exec(name);
  if (!m) return undefined;
  const size = BigInt(segmentBytes);
  const perLog = 0x100000000n / size;
  const segno = BigInt(`0x${m[1]}`) * perLog + BigInt(`0x${m[2]}`);
  return (segno + 1n) * size;
}

/** One of the writer's commits. */
export interface Commit {
  atMs: number;
  lsn: bigint;
}

/** One sample of the archive; `archivedEnd` is undefined until a segment of this timeline was archived. */
export interface ArchiveSample {
  atMs: number;
  archivedEnd?: bigint;
  insertLsn: bigint;
  /** now() − pg_stat_archiver.last_archived_time, in s, as PostgreSQL reports it. */
  lastArchivedAgeS?: number;
}

/** What the report shows of one write load. */
export interface RpoStats {
  samples: number;
  commits: number;
  /** Seconds of commits not yet archived at each sample: median, 95th percentile, max. */
  medianS: number;
  p95S: number;
  maxS: number;
  /** WAL bytes written but not archived (insert position − end of the newest archived segment): median, max. */
  unarchivedMedianBytes: number;
  unarchivedMaxBytes: number;
  /** The age of the last archived segment (what `mm_backup_wal_archive_age_seconds` shows): median, max. */
  archiveAgeMedianS?: number;
  archiveAgeMaxS?: number;
}

/**
 * RPO at each sample (see the file comment), in s. `commits` must be in commit order. The archived
 * end used at a sample is the highest seen up to it (pg_stat_archiver names the newest file
 * archived, which can be a `.history` file after a promotion).
 */
export function rpoSeries(commits: readonly Commit[], samples: readonly ArchiveSample[]): number[] {
  const out: number[] = [];
  let archived: bigint | undefined;
  let oldest = 0; // index of the oldest commit not known to be archived
  for (const s of [...samples].sort((a, b) => a.atMs - b.atMs)) {
    if (s.archivedEnd !== undefined && (archived === undefined || s.archivedEnd > archived)) archived = s.archivedEnd;
    const end = archived ?? -1n;
    while (oldest < commits.length && (commits[oldest] as Commit).lsn <= end) oldest++;
    const c = commits[oldest];
    out.push(c && c.atMs <= s.atMs ? (s.atMs - c.atMs) / 1000 : 0);
  }
  return out;
}

/** The summary of one write load; NaN figures when there were no samples. */
export function rpoStats(commits: readonly Commit[], samples: readonly ArchiveSample[]): RpoStats {
  const rpo = rpoSeries(commits, samples);
  let archived: bigint | undefined;
  const unarchived: number[] = [];
  for (const s of [...samples].sort((a, b) => a.atMs - b.atMs)) {
    if (s.archivedEnd !== undefined && (archived === undefined || s.archivedEnd > archived)) archived = s.archivedEnd;
    if (archived !== undefined) unarchived.push(Math.max(0, Number(s.insertLsn - archived)));
  }
  const ages = samples.map((s) => s.lastArchivedAgeS).filter((x): x is number => x !== undefined);
  return {
    samples: samples.length,
    commits: commits.length,
    medianS: median(rpo),
    p95S: percentile(rpo, 95),
    maxS: rpo.length ? Math.max(...rpo) : Number.NaN,
    unarchivedMedianBytes: median(unarchived),
    unarchivedMaxBytes: unarchived.length ? Math.max(...unarchived) : Number.NaN,
    archiveAgeMedianS: ages.length ? median(ages) : undefined,
    archiveAgeMaxS: ages.length ? Math.max(...ages) : undefined,
  };
}
