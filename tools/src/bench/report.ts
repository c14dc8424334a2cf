/** The benchmark's markdown table. */
import { usageText, type SystemUsage } from './system_usage';

/**
 * A target of a row: the value divided by the manual procedure's figure (`manual`), divided by
 * restic's (`restic`), or the value itself (`value`), compared with `limit`.
 */
export interface Target {
  on: 'manual' | 'restic' | 'value';
  op: '<' | '≤' | '≥';
  limit: number;
}

/**
 * One line of the table. `manual` and `restic` are the figures of the same measure for the manual
 * procedure and for restic in the same run (absent when not measured); the ratios are taken against them.
 */
export interface BenchRow {
  group: string;
  what: string;
  runs: number;
  value: number;
  unit: 's' | 'MB' | '×' | 'ms' | 'files/s';
  manual?: number;
  restic?: number;
  targets?: Target[];
  /** No ratio to the manual figure (e.g. online downtime, where the manual one is only for scale). */
  absolute?: boolean;
  /** Says what the ratio to the manual column means when it is not "of the manual procedure". */
  ratioLabel?: string;
}

function num(x: number | undefined, unit: string): string {
  if (x === undefined) return '';
  if (!Number.isFinite(x)) return 'n/a';
  if (unit === '×') return `${x.toFixed(2)}×`;
  if (unit === 'files/s') return `${Math.round(x).toLocaleString('en-US')} files/s`;
  const digits = unit === 'MB' || unit === 'ms' ? (x >= 100 ? 0 : 1) : x >= 100 ? 0 : x >= 10 ? 1 : 2;
  return `${x.toFixed(digits)} ${unit}`;
}

function ratioText(value: number, base: number | undefined): string {
  if (base === undefined || !(base > 0) || !Number.isFinite(value)) return '';
  const x = value / base;
  return x.toFixed(x < 0.1 ? 3 : 2);
}

/** The target as printed: `≤ 0.8× manual`, `≥ restic`, `< 200 MB`. */
export function targetText(t: Target, unit: string): string {
  if (t.on === 'value') {
    if (t.limit === 0 && t.op === '≤') return `0 ${unit}`;
    return unit === '×' ? `${t.op} ${t.limit}×` : `${t.op} ${num(t.limit, unit)}`;
  }
  return t.limit === 1 ? `${t.op} ${t.on}` : `${t.op} ${t.limit}× ${t.on}`;
}

/** 'yes' / 'no' for one target, '' when what it compares with was not measured. */
export function targetMet(r: BenchRow, t: Target): '' | 'yes' | 'no' {
  let x: number;
  if (t.on === 'value') x = r.value;
  else {
    const base = t.on === 'manual' ? r.manual : r.restic;
    if (base === undefined || !(base > 0)) return '';
    x = r.value / base;
  }
  if (!Number.isFinite(x)) return '';
  const ok = t.op === '<' ? x < t.limit : t.op === '≤' ? x <= t.limit : x >= t.limit;
  return ok ? 'yes' : 'no';
}

/** The "Met" cell: one answer per target, in the order of the "Target" cell. */
export function met(r: BenchRow): string {
  return (r.targets ?? []).map((t) => targetMet(r, t) || 'n/a').join('; ');
}

interface ResultHead {
  startedAt: string;
  totalSeconds: number;
  size: { name: string };
  /** Whether mm-backup's repositories used packs (repository.packs); absent in older results. */
  packs?: boolean;
  machine: Record<string, any>;
  memoryMethod: string;
  /** How each timed run starts (measure.ts cacheMethod); absent in results written before it. */
  cacheMethod?: string;
  install: {
    generateSeconds: number;
    files: number;
    fileBytes: number;
    counts: { posts?: number; fileinfo?: number };
    databaseBytes: number;
  };
  runsPlanned: Record<string, number>;
  restic: { note: string };
  manyFiles?: { files: number; attachments: number; bytes: number; seconds: number; workers: number };
  space?: { neededBytes: number; freeBytes: number; neededInodes: number; freeInodes: number };
  pingIdle?: { probes: number; medianMs: number; p99Ms: number; maxMs: number };
  pitr?: {
    note: string;
    rpo?: {
      seconds: number;
      postsPerSecond: number;
      archiveTimeoutSeconds: number;
      samples: number;
      commits: number;
      unarchivedMedianBytes: number;
      unarchivedMaxBytes: number;
      archiveAgeMedianS?: number;
      archiveAgeMaxS?: number;
    };
  };
}

/** Where the time of one kind of run goes. */
export interface Breakdown {
  what: string;
  wallS: number;
  /** Wall time outside the job: Node start-up, config loading, discovery, the lock. */
  startupS: number;
  peakMB: number[];
  steps: Array<[string, number]>;
  /** The steps that raised the peak (the highest run's peak as each step ended, in MB), in order; absent before 2026-12-07. */
  peakSteps?: Array<[string, number]>;
}

/** How the physical-mode rows were measured (or why they are absent). */
export function pitrLines(res: Pick<ResultHead, 'pitr'>): string[] {
  const p = res.pitr;
  if (!p) return [];
  if (!p.rpo) return [`- Physical mode: ${p.note}.`];
  const r = p.rpo;
  const kb = (b: number) => (Number.isFinite(b) ? `${Math.round(b / 1024)} kB` : 'n/a');
  const s = (x: number | undefined) => (x === undefined ? 'n/a' : `${x.toFixed(1)} s`);
  return [
    "- Physical mode, after the logical phases on the same cluster and repository: `pitr enable --restart-postgres --yes` (pgBackRest and pg_ctl run as postgres; pgBackRest's repository in the bench's repository), one `pitr backup --type full`, then backups with nothing changed (each checked to hold a pgBackRest reference, not a dump). `restore --at T` runs in place, T taken in a quiet gap after the write load; the bench checks that exactly the posts committed before T are there afterwards.",
    `- RPO: a writer commits ${r.postsPerSecond} posts a second for ${r.seconds} s (one transaction each, the WAL insert position read after each commit) while \`pg_stat_archiver\` and the insert position are sampled every second (${r.samples} samples, ${r.commits} commits). A commit is archived once the newest archived segment ends at or after its position; the RPO at a sample is the age of the oldest commit not yet archived (0 when all are): what a crash at that moment would lose. When the load writes less than a segment (16 MB) per \`archive_timeout\` (${r.archiveTimeoutSeconds} s), segments are switched by that timeout and the RPO is a saw-tooth up to about it. WAL written but not archived: median ${kb(r.unarchivedMedianBytes)}, max ${kb(r.unarchivedMaxBytes)}; age of the last archived segment (the \`mm_backup_wal_archive_age_seconds\` metric): median ${s(r.archiveAgeMedianS)}, max ${s(r.archiveAgeMaxS)}.`,
  ];
}

/** The whole latest.md: machine, install, the table, where the time goes. */
export function renderMarkdown(
  res: ResultHead,
  rows: BenchRow[],
  breakdown: Breakdown[] = [],
  timed: ReadonlyArray<{ what: string; wallMs: number; system?: SystemUsage }> = [],
): string {
  const m = res.machine;
  const gb = (b: number) => `${(b / 1024 ** 3).toFixed(1)} GB`;
  const mb = (b: number) => `${(b / 1024 ** 2).toFixed(0)} MB`;
  const disk = m.disk ?? {};
  const lines: string[] = [];
  lines.push(`# mm-backup benchmark: size \`${res.size.name}\``, '');
  lines.push(`- Run: ${res.startedAt}, ${Math.round(res.totalSeconds)} s in total (generation included).`);
  if (res.packs !== undefined) {
    lines.push(
      `- mm-backup's repository: ${res.packs ? 'small files in packs (`repository.packs: true`, the default)' : 'one object file per distinct content (`repository.packs: false`)'}.`,
    );
  }
  lines.push(
    `- Machine: ${m.cores} cores (${m.cpuModel}), ${gb(m.memoryBytes)} RAM, disk ${disk.device ?? '?'} (${disk.filesystem ?? '?'}${disk.rotational === undefined ? '' : disk.rotational ? ', rotational' : ', SSD'}, ${disk.freeBytes ? gb(disk.freeBytes) : '?'} free), ${m.platform}, Node ${m.node}.`,
  );
  lines.push(
    `- Load average (1/5/15 min): ${m.loadAverageStart.join(' / ')} at start, ${m.loadAverageEnd.join(' / ')} at the end: the machine was ${m.busy ? '**busy** (other work was running; figures are noisy)' : 'quiet'}.`,
  );
  lines.push(
    `- Install: ${res.install.files} files, ${mb(res.install.fileBytes)} of incompressible attachments, ${res.install.counts.posts} posts, ${res.install.counts.fileinfo} fileinfo rows, database ${mb(res.install.databaseBytes)}; generated in ${res.install.generateSeconds} s.`,
  );
  if (res.manyFiles) {
    const f = res.manyFiles;
    lines.push(
      `- Many-files tree: ${f.files} small files (${f.attachments} attachments × original, \`_thumb.jpg\`, \`_preview.jpg\`; ${mb(f.bytes)}) in Mattermost's layout, each attachment with its \`fileinfo\` row; written in ${f.seconds.toFixed(1)} s by ${f.workers} worker threads (${Math.round(f.files / Math.max(0.001, f.seconds))} files/s).`,
    );
  }
  if (res.space) {
    lines.push(
      `- Disk check before generating: about ${gb(res.space.neededBytes)} and ${res.space.neededInodes} inodes needed at most, ${gb(res.space.freeBytes)} and ${res.space.freeInodes} free.`,
    );
  }
  lines.push(
    `- restic: ${res.restic.note.replace(/\s+/g, ' ').replace(/\|/g, '/')}. It backs up the install directory (the files; no database) while Mattermost runs, into a throwaway local repository; its restore goes to a new directory.`,
  );
  if (res.pingIdle) {
    const p = res.pingIdle;
    lines.push(
      `- Ping latency of the idle stand-in (${p.probes} probes): median ${p.medianMs} ms, p99 ${p.p99Ms} ms, max ${p.maxMs} ms.`,
    );
  }
  lines.push(...pitrLines(res));
  lines.push(
    `- Figures are medians of the runs shown (runs alternate between the procedures); downtime and latency are measured by polling \`system/ping\` every 50 ms; peak memory: ${res.memoryMethod}. Ratios are to the manual procedure and to restic in the same run.`,
  );
  if (res.cacheMethod) lines.push(`- Caches: ${res.cacheMethod}.`);
  lines.push('');
  lines.push('| Measure | Runs | mm-backup | Manual procedure | Ratio | restic | Ratio to restic | Target | Met |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |');
  let group = '';
  for (const r of rows) {
    if (r.group !== group) {
      group = r.group;
      lines.push(`| **${group}** | | | | | | | | |`);
    }
    const ratio = r.absolute ? '' : ratioText(r.value, r.manual);
    const target = (r.targets ?? []).map((t) => targetText(t, r.unit)).join('; ');
    lines.push(
      `| ${r.what} | ${r.runs} | ${num(r.value, r.unit)} | ${num(r.manual, r.unit)} | ${ratio && r.ratioLabel ? `${ratio} ${r.ratioLabel}` : ratio} | ${num(r.restic, r.unit)} | ${ratioText(r.value, r.restic)} | ${target} | ${met(r)} |`,
    );
  }
  lines.push('');
  if (breakdown.length) {
    lines.push(
      'Where the time goes (medians, seconds; "outside the job" is Node start-up, config loading, discovery and the lock; peak memory of each run in MB):',
      '',
    );
    for (const b of breakdown) {
      lines.push(
        `- ${b.what}: ${b.wallS.toFixed(2)} s = ${b.startupS.toFixed(2)} outside the job + ${b.steps.map(([n, v]) => `${n} ${v.toFixed(2)}`).join(', ')}; peak ${b.peakMB.join(', ')} MB${b.peakSteps?.length ? ` (raised by ${b.peakSteps.map(([n, v]) => `${n} to ${v}`).join(', ')})` : ''}`,
      );
    }
    lines.push('');
  }
  const measured = timed.filter((r) => r.system);
  if (measured.length) {
    lines.push(
      'What the machine did during each run, in the order they ran (per second of the run, over all CPUs: busy, waiting for I/O, stolen by the host; the disk holding the bench):',
      '',
      ...measured.map((r) => `- ${r.what}: ${(r.wallMs / 1000).toFixed(1)} s; ${usageText(r.system as SystemUsage)}`),
      '',
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The steps that raised the peak resident set, in the run with the highest peak: each step's
 * peak as it ended, kept where it rose by 1 MB or more (the first step's always), in MB.
 */
export function peakSteps(
  xs: ReadonlyArray<{ peakRssBytes?: number; stepPeaks?: Record<string, number> }>,
  names: readonly string[],
): Array<[string, number]> {
  const top = xs.reduce<(typeof xs)[number] | undefined>(
    (a, x) => ((x.peakRssBytes ?? 0) > (a?.peakRssBytes ?? -1) ? x : a),
    undefined,
  );
  const out: Array<[string, number]> = [];
  let last = 0;
  for (const n of names) {
    const mb = Math.round((top?.stepPeaks?.[n] ?? 0) / (1024 * 1024));
    if (mb >= last + 1) out.push([n, mb]);
    last = Math.max(last, mb);
  }
  return out;
}
