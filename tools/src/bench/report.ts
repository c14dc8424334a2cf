/** The benchmark's markdown table. */

/** One line of the table. `manual` is the manual procedure's figure the ratio is taken against. */
export interface BenchRow {
  group: string;
  what: string;
  runs: number;
  value: number;
  unit: 's' | 'MB' | '×';
  manual?: number;
  /** Target on the ratio value/manual. */
  max?: number;
  /** Target on the value itself. */
  maxAbs?: number;
  /** The target is on the value itself (e.g. zero downtime) even though a manual figure is shown. */
  absolute?: boolean;
  target?: string;
  ratioLabel?: string;
}

function num(x: number, unit: string): string {
  if (!Number.isFinite(x)) return 'n/a';
  if (unit === '×') return `${x.toFixed(2)}×`;
  const digits = unit === 'MB' ? (x >= 100 ? 0 : 1) : x >= 100 ? 0 : x >= 10 ? 1 : 2;
  return `${x.toFixed(digits)} ${unit}`;
}

/** 'yes' / 'no' / '' for a row. */
export function met(r: BenchRow): string {
  if (r.maxAbs !== undefined) return r.value < r.maxAbs ? 'yes' : 'no';
  if (r.max === undefined) return '';
  if (r.absolute) return r.value <= r.max ? 'yes' : 'no';
  if (r.manual === undefined || r.manual <= 0) return '';
  const ratio = r.value / r.manual;
  return (r.max === 1 ? ratio <= r.max : ratio < r.max) ? 'yes' : 'no';
}

interface ResultHead {
  startedAt: string;
  totalSeconds: number;
  size: { name: string };
  machine: Record<string, any>;
  memoryMethod: string;
  install: {
    generateSeconds: number;
    files: number;
    fileBytes: number;
    counts: { posts?: number; fileinfo?: number };
    databaseBytes: number;
  };
  runsPlanned: Record<string, number>;
}

/** The whole latest.md: machine, install, the table. */
export interface Breakdown {
  what: string;
  wallS: number;
  /** Wall time outside the job: Node start-up, config loading, discovery, the lock. */
  startupS: number;
  peakMB: number[];
  steps: Array<[string, number]>;
}

/** The whole latest.md: machine, install, the table, where the time goes. */
export function renderMarkdown(res: ResultHead, rows: BenchRow[], breakdown: Breakdown[] = []): string {
  const m = res.machine;
  const gb = (b: number) => `${(b / 1024 ** 3).toFixed(1)} GB`;
  const mb = (b: number) => `${(b / 1024 ** 2).toFixed(0)} MB`;
  const disk = m.disk ?? {};
  const lines: string[] = [];
  lines.push(`# mm-backup benchmark: size \`${res.size.name}\``, '');
  lines.push(`- Run: ${res.startedAt}, ${Math.round(res.totalSeconds)} s in total (generation included).`);
  lines.push(
    `- Machine: ${m.cores} cores (${m.cpuModel}), ${gb(m.memoryBytes)} RAM, disk ${disk.device ?? '?'} (${disk.filesystem ?? '?'}${disk.rotational === undefined ? '' : disk.rotational ? ', rotational' : ', SSD'}, ${disk.freeBytes ? gb(disk.freeBytes) : '?'} free), ${m.platform}, Node ${m.node}.`,
  );
  lines.push(
    `- Load average (1/5/15 min): ${m.loadAverageStart.join(' / ')} at start, ${m.loadAverageEnd.join(' / ')} at the end: the machine was ${m.busy ? '**busy** (other work was running; figures are noisy)' : 'quiet'}.`,
  );
  lines.push(
    `- Install: ${res.install.files} files, ${mb(res.install.fileBytes)} of incompressible attachments, ${res.install.counts.posts} posts, ${res.install.counts.fileinfo} fileinfo rows, database ${mb(res.install.databaseBytes)}; generated in ${res.install.generateSeconds} s.`,
  );
  lines.push(
    `- Figures are medians of the runs shown (runs alternate between the procedures); downtime is measured by polling \`system/ping\` every 50 ms; peak memory: ${res.memoryMethod}. Ratios are to the manual procedure of the same run.`,
  );
  lines.push('');
  lines.push('| Measure | Runs | mm-backup | Manual procedure | Ratio | Target | Met |');
  lines.push('| --- | ---: | ---: | ---: | ---: | --- | --- |');
  let group = '';
  for (const r of rows) {
    if (r.group !== group) {
      group = r.group;
      lines.push(`| **${group}** | | | | | | |`);
    }
    const manual = r.manual === undefined ? '' : num(r.manual, r.unit);
    const ratio =
      r.manual !== undefined && r.manual > 0 && !r.absolute
        ? `${(r.value / r.manual).toFixed(r.value / r.manual < 0.1 ? 3 : 2)}${r.ratioLabel ? ` ${r.ratioLabel}` : ''}`
        : '';
    lines.push(
      `| ${r.what} | ${r.runs} | ${num(r.value, r.unit)} | ${manual} | ${ratio} | ${r.target ?? ''} | ${met(r)} |`,
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
        `- ${b.what}: ${b.wallS.toFixed(2)} s = ${b.startupS.toFixed(2)} outside the job + ${b.steps.map(([n, v]) => `${n} ${v.toFixed(2)}`).join(', ')}; peak ${b.peakMB.join(', ')} MB`,
      );
    }
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}
