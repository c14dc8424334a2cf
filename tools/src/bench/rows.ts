/**
 * The rows of the benchmark's table from the runs of one bench, with issue 12's targets: full
 * backup ≤ 0.8× the manual procedure, restore ≤ 0.8× the manual restore, verify ≤ 1×, offline
 * downtime of an unchanged backup ≤ 0.1×, peak memory < 200 MB and growing < 1.3× from the small
 * to the large tree; on the many-files tree also files per second ≥ restic's and peak memory ≤ restic's.
 */
import { median, type LatencyStats } from './measure';
import type { PitrFigures } from './pitr_phase';
import type { BenchRow, Target } from './report';
import { MB, type RunRecord } from './world';

/** Everything measured in one bench, by kind of run (restic's lists are empty when restic is absent). */
export interface Figures {
  many: boolean;
  mainLabel: string;
  secondLabel: string;
  manualB: RunRecord[];
  fullOff: RunRecord[];
  fullOn: RunRecord[];
  incrOff: RunRecord[];
  incrOn: RunRecord[];
  chOff: RunRecord[];
  chOn: RunRecord[];
  ver: RunRecord[];
  verDeep: RunRecord[];
  manualR: RunRecord[];
  mmR: RunRecord[];
  second: { full: RunRecord; incremental: RunRecord; resticFirst: RunRecord[] };
  restic: {
    first: RunRecord[];
    unchanged: RunRecord[];
    changed: RunRecord[];
    check: RunRecord[];
    restore: RunRecord[];
  };
  idle?: LatencyStats;
  repo: {
    afterFullBytes: number;
    fullBytes: number;
    afterAllBytes: number;
    snapshotBytes: number[];
    manualBytes: number;
    resticAfterFirstBytes?: number;
    resticAfterAllBytes?: number;
  };
  allRuns: RunRecord[];
  /** The physical-mode phase (absent when it did not run, e.g. on the many-files size). */
  pitr?: PitrFigures;
}

const le = (limit: number, on: Target['on'] = 'manual'): Target => ({ on, op: '≤', limit });
const lt = (limit: number, on: Target['on'] = 'manual'): Target => ({ on, op: '<', limit });
const MEM: Target = lt(200, 'value');

/** Median wall time in s; undefined for no runs (restic absent). */
function wall(xs: RunRecord[]): number | undefined {
  return xs.length ? median(xs.map((x) => x.wallMs)) / 1000 : undefined;
}
/** A row of the median wall time of `xs` (n/a for no runs) against `manual`; `more`: restic's figure, targets. */
function timed(
  group: string,
  what: string,
  xs: RunRecord[],
  manual: number | undefined,
  more: Pick<BenchRow, 'restic' | 'targets'> = {},
): BenchRow {
  return { group, what, runs: xs.length, value: wall(xs) ?? Number.NaN, unit: 's', manual, ...more };
}
function down(xs: RunRecord[]): number {
  return median(xs.map((x) => x.downtimeMs ?? 0)) / 1000;
}
function peak(xs: RunRecord[]): number | undefined {
  const v = xs.map((x) => x.peakRssBytes).filter((x): x is number => x !== undefined);
  return v.length ? Math.max(...v) / MB : undefined;
}
/** Median files per second, each run's own count of files over its wall time. */
function filesPerSecond(xs: RunRecord[], fallbackFiles?: number): number | undefined {
  const v = xs
    .map((x) => (x.files ?? fallbackFiles ?? Number.NaN) / (x.wallMs / 1000))
    .filter((x) => Number.isFinite(x));
  return v.length ? median(v) : undefined;
}
function pingOf(xs: RunRecord[], k: 'medianMs' | 'p99Ms' | 'maxMs'): number | undefined {
  const v = xs.map((x) => x.ping?.[k]).filter((x): x is number => x !== undefined);
  if (!v.length) return undefined;
  return k === 'medianMs' ? median(v) : Math.max(...v);
}

/** The table's rows; rows of kinds that did not run (e.g. `verify --deep` on the many-files size) are left out. */
export function buildRows(f: Figures): BenchRow[] {
  const mB = wall(f.manualB) ?? Number.NaN;
  const mD = down(f.manualB);
  const mR = wall(f.manualR) ?? Number.NaN;
  const r = f.restic;
  const onRestic = (t: Target) => (f.many ? [t] : []);
  const rows: BenchRow[] = [
    {
      group: 'Backup time',
      what: 'Manual procedure: stop, `cp -ra`, `pg_dump -Fc`, start',
      runs: f.manualB.length,
      value: mB,
      unit: 's',
      manual: mB,
    },
    timed('Backup time', 'Full backup, offline (empty repository)', f.fullOff, mB, {
      restic: wall(r.first),
      targets: [le(0.8)],
    }),
    timed('Backup time', 'Full backup, online (empty repository)', f.fullOn, mB, {
      restic: wall(r.first),
      targets: [le(0.8)],
    }),
    timed('Backup time', 'Incremental, nothing changed, offline', f.incrOff, mB, {
      restic: wall(r.unchanged),
      targets: [lt(0.05)],
    }),
    timed('Backup time', 'Incremental, nothing changed, online', f.incrOn, mB, {
      restic: wall(r.unchanged),
      targets: [lt(0.05)],
    }),
    timed('Backup time', 'Incremental, 1% new attachments and posts, offline', f.chOff, mB, {
      restic: wall(r.changed),
    }),
    timed('Backup time', 'Incremental, 1% new attachments and posts, online', f.chOn, mB, { restic: wall(r.changed) }),
  ];
  if (f.many) {
    // The manual procedure's count is the files of its copy of the install.
    const manualFiles = f.manualB.at(-1)?.files;
    const mFps = filesPerSecond(f.manualB, manualFiles);
    const fps = (what: string, xs: RunRecord[], rs: RunRecord[]): BenchRow => ({
      group: 'Files per second (many-files tree)',
      what,
      runs: xs.length,
      value: filesPerSecond(xs) ?? Number.NaN,
      unit: 'files/s',
      manual: mFps,
      restic: filesPerSecond(rs),
      targets: [{ on: 'restic', op: '≥', limit: 1 }],
    });
    rows.push(
      fps('Full backup, offline (restic: first backup)', f.fullOff, r.first),
      fps('Full backup, online (restic: first backup)', f.fullOn, r.first),
      fps('Incremental, nothing changed, offline (restic: unchanged backup)', f.incrOff, r.unchanged),
      fps('Incremental, nothing changed, online (restic: unchanged backup)', f.incrOn, r.unchanged),
    );
  }
  const onlineDowntimes = [...f.fullOn, ...f.incrOn, ...f.chOn].map((x) => x.downtimeMs ?? 0);
  rows.push(
    { group: 'Downtime', what: 'Manual procedure', runs: f.manualB.length, value: mD, unit: 's', manual: mD },
    {
      group: 'Downtime',
      what: 'Full backup, offline',
      runs: f.fullOff.length,
      value: down(f.fullOff),
      unit: 's',
      manual: mD,
    },
    {
      group: 'Downtime',
      what: 'Incremental, nothing changed, offline',
      runs: f.incrOff.length,
      value: down(f.incrOff),
      unit: 's',
      manual: mD,
      targets: [le(0.1)],
    },
    {
      group: 'Downtime',
      what: 'Incremental, 1% new, offline',
      runs: f.chOff.length,
      value: down(f.chOff),
      unit: 's',
      manual: mD,
      targets: [lt(0.2)],
    },
    {
      group: 'Downtime',
      what: 'Online backups (full and incremental), worst run',
      runs: onlineDowntimes.length,
      value: Math.max(...onlineDowntimes) / 1000,
      unit: 's',
      manual: mD,
      absolute: true,
      targets: [le(0, 'value')],
    },
  );
  const idle = f.idle;
  const ping = (what: string, xs: RunRecord[], k: 'medianMs' | 'p99Ms' | 'maxMs', rs: RunRecord[]): BenchRow => ({
    group: 'Mattermost ping latency (`system/ping` every 50 ms; manual column: idle)',
    what,
    runs: xs.length,
    value: pingOf(xs, k) ?? Number.NaN,
    unit: 'ms',
    manual: idle?.[k],
    ratioLabel: 'of idle',
    restic: pingOf(rs, k),
  });
  rows.push(
    ping('During online full backups, median', f.fullOn, 'medianMs', r.first),
    ping('During online full backups, p99 (worst run)', f.fullOn, 'p99Ms', r.first),
    ping('During online full backups, max', f.fullOn, 'maxMs', r.first),
    ping('During online unchanged backups, median', f.incrOn, 'medianMs', r.unchanged),
    ping('During online unchanged backups, p99 (worst run)', f.incrOn, 'p99Ms', r.unchanged),
  );
  rows.push(
    {
      group: 'Restore',
      what: 'Manual restore: `pg_restore` into an empty database, `cp -ra` back',
      runs: f.manualR.length,
      value: mR,
      unit: 's',
      manual: mR,
    },
    timed(
      'Restore',
      'mm-backup restore of the full snapshot (new dir, empty database; restic: files only)',
      f.mmR,
      mR,
      { restic: wall(r.restore), targets: [le(0.8)] },
    ),
  );
  if (f.ver.length) {
    rows.push(
      timed(
        'Verify',
        '`verify` (re-hash every object, read the dump through; restic: `check --read-data`)',
        f.ver,
        mB,
        {
          restic: wall(r.check),
          targets: [le(1)],
        },
      ),
    );
  }
  if (f.verDeep.length) {
    rows.push(timed('Verify', '`verify --deep` (plus a restore drill into a throwaway database)', f.verDeep, mB));
  }
  const peakBig = peak([...f.fullOff, ...f.fullOn]) ?? Number.NaN;
  const peakSmall = peak([f.second.full]) ?? Number.NaN;
  const rBig = peak(r.first);
  const rSmall = peak(f.second.resticFirst);
  const measured = f.allRuns.filter((x) => x.peakRssBytes !== undefined && !x.what.startsWith('restic'));
  rows.push(
    {
      group: 'Peak memory',
      what: `Full backup, ${f.mainLabel} (restic: first backup)`,
      runs: f.fullOff.length + f.fullOn.length,
      value: peakBig,
      unit: 'MB',
      restic: rBig,
      targets: [MEM, ...onRestic(le(1, 'restic'))],
    },
    {
      group: 'Peak memory',
      what: `Full backup, ${f.secondLabel} (restic: first backup)`,
      runs: 1,
      value: peakSmall,
      unit: 'MB',
      restic: rSmall,
      targets: [MEM],
    },
    {
      group: 'Peak memory',
      what: `Growth: ${f.mainLabel} / ${f.secondLabel}`,
      runs: 2,
      value: peakBig / peakSmall,
      unit: '×',
      restic: rBig !== undefined && rSmall ? rBig / rSmall : undefined,
      targets: [lt(1.3, 'value')],
    },
    {
      group: 'Peak memory',
      what: `Incremental, nothing changed, ${f.mainLabel} (restic: unchanged backup)`,
      runs: f.incrOff.length + f.incrOn.length,
      value: peak([...f.incrOff, ...f.incrOn]) ?? Number.NaN,
      unit: 'MB',
      restic: peak(r.unchanged),
      targets: [MEM, ...onRestic(le(1, 'restic'))],
    },
    {
      group: 'Peak memory',
      what: 'Restore (restic: restore)',
      runs: f.mmR.length,
      value: peak(f.mmR) ?? Number.NaN,
      unit: 'MB',
      restic: peak(r.restore),
      targets: [MEM, ...onRestic(le(1, 'restic'))],
    },
    {
      group: 'Peak memory',
      what: 'Any mm-backup run (backup, verify, restore)',
      runs: measured.length,
      value: peak(measured) ?? Number.NaN,
      unit: 'MB',
      targets: [MEM],
    },
  );
  if (f.pitr) rows.push(...pitrRows(f, mB, mR));
  const repo = f.repo;
  rows.push(
    {
      group: 'Repository size',
      what: 'After the full backup, against the bytes it backed up (restic: after its first backup)',
      runs: 1,
      value: repo.afterFullBytes / MB,
      unit: 'MB',
      manual: repo.fullBytes / MB,
      ratioLabel: 'of backed-up',
      restic: mb(repo.resticAfterFirstBytes),
    },
    {
      group: 'Repository size',
      what: `After all ${repo.snapshotBytes.length} snapshots, against the sum of what they backed up (restic: after all its backups)`,
      runs: 1,
      value: repo.afterAllBytes / MB,
      unit: 'MB',
      manual: repo.snapshotBytes.reduce((a, b) => a + b, 0) / MB,
      ratioLabel: 'of backed-up',
      restic: mb(repo.resticAfterAllBytes),
    },
    {
      group: 'Repository size',
      what: 'Manual backup (install copy + `pg_dump -Fc`), for comparison',
      runs: 1,
      value: repo.manualBytes / MB,
      unit: 'MB',
      manual: repo.fullBytes / MB,
      ratioLabel: 'of backed-up',
    },
  );
  return rows;
}

/** The manual `pg_restore` alone (no `cp -ra`), median in s; undefined when not recorded. */
function pgRestoreS(xs: RunRecord[]): number | undefined {
  const v = xs.map((x) => x.extra?.pgRestoreMs).filter((x): x is number => typeof x === 'number');
  return v.length ? median(v) / 1000 : undefined;
}

/**
 * Issue 13's targets: with physical mode on, a nothing-changed backup ≤ 0.05× the manual procedure
 * and a point-in-time restore's database part ≤ 1× the manual `pg_restore`; the RPO under a steady
 * write load is reported without a target (archive_timeout bounds it on a quiet server).
 */
export function pitrRows(f: Figures, mB: number, mR: number): BenchRow[] {
  const p = f.pitr;
  if (!p) return [];
  const group = 'Physical mode (pgBackRest; the database part of a snapshot is a reference)';
  const pgR = pgRestoreS(f.manualR);
  const rows: BenchRow[] = [
    timed(group, 'Full physical backup (`pitr backup --type full`), for scale', [p.fullPhysical], mB),
    timed(group, 'Backup with nothing changed, offline', p.off, mB, { targets: [le(0.05)] }),
    timed(group, 'Backup with nothing changed, online', p.on, mB, { targets: [le(0.05)] }),
    {
      group,
      what: 'Downtime, backup with nothing changed, offline',
      runs: p.off.length,
      value: down(p.off),
      unit: 's',
      manual: down(f.manualB),
    },
    {
      group,
      what: '`restore --at T` in place, database part (WAL switch, PostgreSQL stopped, data dir moved aside, pgBackRest restore and WAL replay to T, started); manual: `pg_restore` alone',
      runs: p.restoreAt.length,
      value: p.restoreAt.length ? median(p.restoreAt.map((x) => x.dbMs)) / 1000 : Number.NaN,
      unit: 's',
      manual: pgR,
      ratioLabel: 'of `pg_restore`',
      targets: [le(1)],
    },
    timed(
      group,
      '`restore --at T` in place, whole job (also Mattermost stopped, safety snapshot, files put back, attachments checked); manual: `pg_restore` + `cp -ra`',
      p.restoreAt,
      mR,
    ),
  ];
  const load = `${p.rpo.postsPerSecond} posts/s for ${p.rpo.seconds} s, archive_timeout ${p.rpo.archiveTimeoutSeconds} s`;
  const rpo = (what: string, value: number): BenchRow => ({
    group,
    what: `RPO, ${what} (${load}; sampled every second)`,
    runs: 1,
    value,
    unit: 's',
    absolute: true,
  });
  rows.push(rpo('median', p.rpo.medianS), rpo('95th percentile', p.rpo.p95S), rpo('max', p.rpo.maxS));
  return rows;
}

function mb(b: number | undefined): number | undefined {
  return b === undefined ? undefined : b / MB;
}
