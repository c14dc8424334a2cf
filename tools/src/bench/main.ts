/**
 * `npm run bench [-- --size small|medium|default|many|<GB>] [--files N] [--runs N] [--keep] [--out DIR]`
 *
 * Generates a reference Mattermost install with the sandbox generator on a throwaway PostgreSQL
 * (or, with `--size many`, a small install plus a tree of 1,000,000 small attachment files in
 * Mattermost's layout; `--files N` or MM_BENCH_FILES=N for another count), then measures, as real
 * child processes, the manual procedure (stop, `cp -ra`, `pg_dump -Fc`, start; `pg_restore` +
 * `cp -ra` back), `mm-backup` (full, incremental, downtime, Mattermost's ping latency while it runs,
 * restore, verify, peak memory at two data sizes, repository size) and restic on the same tree.
 * Prints a markdown table of ratios within the run and writes it, with the raw runs and the
 * machine, to bench-results/latest.{md,json}.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTempDir, removeTempDir, startPostgres, type PgServer } from '@mm-backup/testkit';
import { addChanges } from './changes';
import { estimateNeeds } from './many_files';
import {
  describeMachine,
  freeSpace,
  idleLatency,
  latencyStats,
  loadAverage,
  median,
  memoryMethod,
  cacheMethod,
  afterRemoval,
  runProc,
  treeSize,
} from './measure';
import { physicalPhase, pitrSkipReason, type PitrFigures } from './pitr_phase';
import { peakSteps, renderMarkdown } from './report';
import { ensureRestic, resticDrop, resticInit, type ResticRepo, type ResticTool } from './restic';
import { buildRows, type Figures } from './rows';
import {
  log,
  manualBackup,
  manualRestore,
  MB,
  mmBackup,
  mmRestore,
  restic,
  runs,
  runService,
  setupWorld,
  type RunRecord,
  type SizeSpec,
  type World,
} from './world';

/** tools/dist/bench (or tools/src/bench) up three: the repository, where bench-results/ lives. */
const REPO_ROOT = path.resolve(__dirname, '../../..');

/**
 * small ≈ 100 MB / 50k posts, medium ≈ 500 MB / 250k, default ≈ 2 GB / 1 M posts, a number of GB,
 * or `many`: a small install (20k posts) plus `files` small attachment files (default 1,000,000).
 */
export function sizeFor(arg: string, files?: number): SizeSpec {
  if (arg === 'many') {
    const n = files ?? 1_000_000;
    if (!Number.isInteger(n) || n < 300 || n > 50_000_000) {
      throw new Error(`--files must be a whole number from 300 to 50,000,000, not "${String(files)}"`);
    }
    return {
      name: 'many',
      gb: 0.01,
      users: 200,
      teams: 4,
      channels: 100,
      posts: 20_000,
      attachments: 50,
      attachmentBytes: 2 * MB,
      largeFileRatio: 0,
      manyFiles: n,
    };
  }
  if (files !== undefined) throw new Error('--files goes with --size many only');
  const named: Record<string, number> = { tiny: 0.025, small: 0.1, medium: 0.5, default: 2 };
  const gb = named[arg] ?? Number(arg);
  if (!Number.isFinite(gb) || gb <= 0 || gb > 1000) {
    throw new Error(`--size must be small, medium, default, many or a number of GB, not "${arg}"`);
  }
  const posts = Math.round(gb * 500_000);
  return {
    name: arg in named ? arg : `${gb}GB`,
    gb,
    users: Math.min(2000, Math.max(50, Math.round(posts / 2000))),
    teams: posts >= 500_000 ? 4 : 2,
    channels: Math.min(200, Math.max(10, Math.round(posts / 8000))),
    posts,
    // about 80 kB of originals+thumbnails+previews per attachment on average; 5% large originals (40x)
    attachments: Math.max(50, Math.round(gb * 12_500)),
    attachmentBytes: Math.round(gb * 1024 * MB),
    largeFileRatio: 0.05,
  };
}

/** The second, smaller size for the memory growth: 50k files for 1M (a twentieth), `small` or `tiny` otherwise. */
export function secondSizeFor(spec: SizeSpec): SizeSpec {
  if (spec.manyFiles) return sizeFor('many', Math.max(1000, Math.round(spec.manyFiles / 20)));
  return sizeFor(spec.gb > 0.15 ? 'small' : 'tiny');
}

interface Args {
  size?: string;
  files?: number;
  runs?: number;
  keep: boolean;
  out: string;
  /** Seconds of steady writes for the RPO (physical mode). */
  rpoSeconds: number;
  /** Leave out the physical-mode phase. */
  noPitr: boolean;
  /** mm-backup's repositories store small files in packs (repository.packs, the default; --no-packs turns it off). */
  packs: boolean;
  /** The online full backup before the offline one in each round (to tell the order's effect from the mode's). */
  onlineFirst: boolean;
}

function parseArgs(argv: string[], env: NodeJS.ProcessEnv): Args {
  const a: Args = {
    keep: false,
    out: path.join(REPO_ROOT, 'bench-results'),
    rpoSeconds: 150,
    noPitr: false,
    packs: true,
    onlineFirst: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i] as string;
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    if (k === '--size') a.size = v();
    else if (k.startsWith('--size=')) a.size = k.slice(7);
    else if (k === '--files') a.files = Number(v());
    else if (k.startsWith('--files=')) a.files = Number(k.slice(8));
    else if (k === '--runs') a.runs = Number(v());
    else if (k.startsWith('--runs=')) a.runs = Number(k.slice(7));
    else if (k === '--keep') a.keep = true;
    else if (k === '--rpo-seconds') a.rpoSeconds = Number(v());
    else if (k === '--no-pitr') a.noPitr = true;
    else if (k === '--packs') a.packs = true;
    else if (k === '--no-packs') a.packs = false;
    else if (k === '--online-first') a.onlineFirst = true;
    else if (k === '--out') a.out = path.resolve(v());
    else if (k === '--help' || k === '-h') {
      process.stdout.write(
        'usage: npm run bench -- [--size small|medium|default|many|<GB>] [--files N] [--runs N] [--keep] [--out DIR]\n' +
          '                        [--rpo-seconds N] [--no-pitr] [--no-packs] [--online-first]\n' +
          '  --size many: a small install plus 1,000,000 small attachment files (--files N or MM_BENCH_FILES=N for N)\n' +
          '  --rpo-seconds N: the steady write load of the physical-mode RPO measure (default 150)\n' +
          '  --no-pitr: leave out physical mode (pgBackRest: root and /usr/bin/pgbackrest needed)\n' +
          '  --no-packs: mm-backup stores one object file per small file (repository.packs: false; packs are the default)\n' +
          '  --online-first: the online full backup runs before the offline one (after the manual backup in the first round)\n',
      );
      process.exit(0);
    } else throw new Error(`unknown option ${k}`);
  }
  if (a.files === undefined && env.MM_BENCH_FILES) a.files = Number(env.MM_BENCH_FILES);
  if (a.files !== undefined) a.size ??= 'many';
  if (a.runs !== undefined && (!Number.isInteger(a.runs) || a.runs < 1)) {
    throw new Error('--runs must be a positive integer');
  }
  if (!Number.isInteger(a.rpoSeconds) || a.rpoSeconds < 10) {
    throw new Error('--rpo-seconds must be a whole number ≥ 10');
  }
  return a;
}

/**
 * Runs per measurement kind: `full` for full backups, the manual procedure and restores, `cheap` for
 * incrementals with nothing changed, `changed` for incrementals after 1% new data, `verify` and
 * `deep` for verify and verify --deep. At the default size the budget is 10 minutes on 2 cores; the
 * many-files size runs everything once and skips `verify --deep` (its database is small, so it
 * would be `verify` again).
 */
function plannedRuns(
  spec: SizeSpec,
  override?: number,
): { full: number; cheap: number; changed: number; verify: number; deep: number } {
  if (override) return { full: override, cheap: override, changed: override, verify: override, deep: override };
  if (spec.manyFiles) return { full: 1, cheap: 1, changed: 1, verify: 1, deep: 0 };
  if (spec.gb <= 0.6) return { full: 2, cheap: 3, changed: 2, verify: 3, deep: 2 };
  return { full: 1, cheap: 2, changed: 1, verify: 1, deep: 1 };
}

/** Refuses to start when the disk cannot hold the run (better now than after an hour of it). */
async function checkSpace(base: string, spec: SizeSpec, spec2: SizeSpec) {
  const need = estimateNeeds({
    manyFiles: spec.manyFiles,
    attachmentBytes: spec.attachmentBytes,
    secondManyFiles: spec2.manyFiles,
  });
  const free = await freeSpace(base);
  const gb = (b: number) => `${(b / 1024 ** 3).toFixed(1)} GB`;
  const space = { neededBytes: need.bytes, freeBytes: free.bytes, neededInodes: need.inodes, freeInodes: free.inodes };
  log(
    `disk: about ${gb(need.bytes)} and ${need.inodes} inodes needed at most; ${gb(free.bytes)} and ${free.inodes} free in ${base}`,
  );
  if (free.bytes < need.bytes || free.inodes < need.inodes) {
    throw new Error(
      `not enough disk for size ${spec.name}${spec.manyFiles ? ` (${spec.manyFiles} files)` : ''}: about ${gb(need.bytes)} and ${need.inodes} inodes needed, ${gb(free.bytes)} and ${free.inodes} free in ${base}; choose a smaller size${spec.manyFiles ? ' (--files N)' : ''} or set TMPDIR to a larger disk`,
    );
  }
  return space;
}

/** Runs restic steps until one fails; after a failure restic is left out of the rest and the note says why. */
class ResticSide {
  ok: boolean;
  constructor(readonly tool: ResticTool) {
    this.ok = tool.bin !== undefined;
  }
  get bin(): (ResticTool & { bin: string }) | undefined {
    return this.ok && this.tool.bin ? { ...this.tool, bin: this.tool.bin } : undefined;
  }
  async step(fn: (tool: ResticTool & { bin: string }) => Promise<void>): Promise<void> {
    const t = this.bin;
    if (!t) return;
    try {
      await fn(t);
    } catch (e) {
      this.ok = false;
      this.tool.note += `; failed during the run, its figures are partial: ${(e as Error).message.slice(0, 300)}`;
      log(`restic failed, leaving it out from here: ${(e as Error).message}`);
    }
  }
}

async function bench(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), process.env);
  const spec = sizeFor(args.size ?? 'default', args.files);
  const spec2 = secondSizeFor(spec);
  const plan = plannedRuns(spec, args.runs);
  const started = new Date();
  const loadStart = loadAverage();
  const t0 = performance.now();
  log(
    `size ${spec.name}${spec.manyFiles ? ` (${spec.manyFiles} files; second size ${spec2.manyFiles ?? 0})` : ''}, runs ${JSON.stringify(plan)}, load average ${loadStart.join(' ')}`,
  );
  const rs = new ResticSide(await ensureRestic(log));
  log(`restic: ${rs.tool.note}`);
  const base = await makeTempDir('mm-backup-bench-', { keep: args.keep });
  const pitrSkip = pitrSkipReason(spec, args.noPitr, process.getuid?.(), existsSync('/usr/bin/pgbackrest'));
  log(`physical mode: ${pitrSkip ?? 'measured after the logical phases'}`);
  // postgres (pgBackRest, archive_command) must traverse to the repository and its config directory.
  if (!pitrSkip) await chmod(base, 0o711);
  let pg: PgServer | undefined;
  const worlds: World[] = [];
  try {
    const space = await checkSpace(base, spec, spec2);
    pg = await startPostgres({ name: 'bench' });
    const machine = await describeMachine(base);
    const label = (s: SizeSpec, w: World) =>
      s.manyFiles
        ? `${w.sb.fileStore.files} files`
        : `${s.name} (${(w.sb.fileStore.bytes / MB).toFixed(0)} MB, ${w.sb.counts.posts} posts)`;

    // --- Second data point for peak memory: a smaller install, one full + one incremental backup (and restic's first).
    const w2 = await setupWorld(pg, base, spec2, 'second', { packs: args.packs });
    worlds.push(w2);
    const repo2 = path.join(w2.root, 'repo');
    const secondLabel = label(spec2, w2);
    const mem2Full = await mmBackup(w2, repo2, `[${secondLabel}] mm-backup backup offline full`, [
      'backup',
      '--mode',
      'offline',
    ]);
    const mem2Incr = await mmBackup(w2, repo2, `[${secondLabel}] mm-backup backup offline incremental`, [
      'backup',
      '--mode',
      'offline',
    ]);
    const resticFirst2: RunRecord[] = [];
    await rs.step(async (tool) => {
      const rr = await resticInit(tool, path.join(w2.root, 'restic-repo'));
      resticFirst2.push(await restic(w2, rr, `[${secondLabel}] restic backup (first)`, 'backup'));
      await resticDrop(rr);
    });
    await runService(w2.commands.stop);
    worlds.pop();
    await rm(w2.root, { recursive: true, force: true });
    await pg.dropDatabase(w2.sb.dbName);

    // --- The reference install.
    const w = await setupWorld(pg, base, spec, 'main', { packs: args.packs });
    worlds.push(w);
    const mainLabel = label(spec, w);
    const manualDir = path.join(w.root, 'manual-backup');
    const repo = path.join(w.root, 'repo');
    log('ping latency of the idle stand-in, 10 s');
    const idle = latencyStats(await idleLatency(w.url, 10_000));

    // Phase 1: full backups, alternating with the manual procedure and restic's first backup.
    const manualB: RunRecord[] = [];
    const fullOff: RunRecord[] = [];
    const fullOn: RunRecord[] = [];
    const rFirst: RunRecord[] = [];
    // Set by the last run's restic step (a closure), read after the loop.
    const kept: { resticRepo?: ResticRepo } = {};
    // Set by the last full backup's step (a closure), read after the loop.
    const full = { id: '', bytes: 0 };
    const onlineRepos: string[] = [];
    // Every full backup starts cold, as every restore does: with warm caches, whichever ran right
    // after the manual backup (whose copy evicted the tree) read it from disk and the others did not
    // (run 27: the online backup first, 1846 MB read, 63 s; the offline one next, 170 MB, 45 s).
    const COLD = { cold: true };
    for (let r = 0; r < plan.full; r++) {
      const last = r === plan.full - 1;
      const steps: Array<() => Promise<void>> = [
        async () => {
          manualB.push(await manualBackup(w, manualDir, COLD));
        },
        async () => {
          const target = last ? repo : path.join(w.root, `repo-off-${r}`);
          const x = await mmBackup(w, target, 'mm-backup backup offline full', ['backup', '--mode', 'offline'], COLD);
          fullOff.push(x);
          if (last) {
            full.id = String(x.snapshot?.id);
            full.bytes = Number(x.snapshot?.bytes);
          } else await rm(target, { recursive: true, force: true });
        },
        async () => {
          const target = path.join(w.root, `repo-on-${r}`);
          fullOn.push(await mmBackup(w, target, 'mm-backup backup online full', ['backup', '--mode', 'online'], COLD));
          // Removed after the round when it runs first: the offline backup next must not pay for the removal.
          if (args.onlineFirst) onlineRepos.push(target);
          else await rm(target, { recursive: true, force: true });
        },
        () =>
          rs.step(async (tool) => {
            const rr = await resticInit(tool, path.join(w.root, `restic-repo-${r}`));
            rFirst.push(await restic(w, rr, 'restic backup (first)', 'backup', undefined, COLD));
            if (last) kept.resticRepo = rr;
            else await resticDrop(rr);
          }),
      ];
      if (args.onlineFirst) steps.splice(1, 2, steps[2] as () => Promise<void>, steps[1] as () => Promise<void>);
      // rotate the order so that no kind always runs first (cold caches, background load)
      for (let k = 0; k < steps.length; k++) await (steps[(k + r) % steps.length] as () => Promise<void>)();
    }
    for (const t of onlineRepos.splice(0)) await rm(t, { recursive: true, force: true });
    const repoAfterFull = await treeSize(repo);
    const resticAfterFirst = kept.resticRepo && rs.ok ? (await treeSize(kept.resticRepo.dir)).bytes : undefined;
    const manualBytes = Number(manualB.at(-1)?.extra?.bytes ?? 0);
    const resticRun = async (what: string, into: RunRecord[], op: 'backup' | 'check' = 'backup') => {
      const rr = kept.resticRepo;
      if (!rr) return;
      await rs.step(async () => {
        into.push(await restic(w, rr, what, op));
      });
    };

    // Phase 2: incremental, nothing changed.
    const incrOff: RunRecord[] = [];
    const incrOn: RunRecord[] = [];
    const rUnchanged: RunRecord[] = [];
    const snapshotBytes: number[] = [full.bytes];
    for (let r = 0; r < plan.cheap; r++) {
      const a = await mmBackup(w, repo, 'mm-backup backup offline incremental (no change)', [
        'backup',
        '--mode',
        'offline',
      ]);
      const b = await mmBackup(w, repo, 'mm-backup backup online incremental (no change)', [
        'backup',
        '--mode',
        'online',
      ]);
      await resticRun('restic backup (unchanged)', rUnchanged);
      incrOff.push(a);
      incrOn.push(b);
      snapshotBytes.push(Number(a.snapshot?.bytes), Number(b.snapshot?.bytes));
    }

    // Phase 3: incremental after 1% new attachments and 1% new posts (restic after each, seeing the same 1%).
    const chOff: RunRecord[] = [];
    const chOn: RunRecord[] = [];
    const rChanged: RunRecord[] = [];
    const changes: Array<{ posts: number; files: number; bytes: number }> = [];
    for (let r = 0; r < plan.changed; r++) {
      changes.push(await addChanges(w, 0.01));
      const a = await mmBackup(w, repo, 'mm-backup backup offline incremental (1% new)', [
        'backup',
        '--mode',
        'offline',
      ]);
      await resticRun('restic backup (1% new)', rChanged);
      changes.push(await addChanges(w, 0.01));
      const b = await mmBackup(w, repo, 'mm-backup backup online incremental (1% new)', ['backup', '--mode', 'online']);
      await resticRun('restic backup (1% new)', rChanged);
      chOff.push(a);
      chOn.push(b);
      snapshotBytes.push(Number(a.snapshot?.bytes), Number(b.snapshot?.bytes));
    }
    const repoAfterIncr = await treeSize(repo);
    const resticAfterAll = kept.resticRepo && rs.ok ? (await treeSize(kept.resticRepo.dir)).bytes : undefined;

    // Phase 4: verify (restic: check --read-data).
    const ver: RunRecord[] = [];
    const verDeep: RunRecord[] = [];
    const rCheck: RunRecord[] = [];
    for (let r = 0; r < plan.verify; r++) {
      ver.push(await mmBackup(w, repo, 'mm-backup verify', ['verify', full.id]));
      await resticRun('restic check --read-data', rCheck, 'check');
    }
    for (let r = 0; r < plan.deep; r++) {
      verDeep.push(await mmBackup(w, repo, 'mm-backup verify --deep', ['verify', full.id, '--deep']));
    }

    // Phase 5: restore of the full snapshot vs the manual restore of the manual backup taken in the
    // same state (restic restores its latest snapshot, the files after the 1% changes).
    const manualR: RunRecord[] = [];
    const mmR: RunRecord[] = [];
    const rRestore: RunRecord[] = [];
    // Each restore writes into a directory of its own, and the three are removed together after
    // the round: a restore that followed the removal of the one before it paid for that removal
    // (on ext4 without a journal, inodes freed in the last minute are skipped one by one when new
    // ones are allocated: 8% of all CPU samples in a profile), which biased every earlier run
    // against whichever restore came second.
    const targets = ['manual', 'mmb', 'restic'].map((n) => path.join(w.root, `restore-target-${n}`));
    const [manualTarget, mmTarget, resticTarget] = targets as [string, string, string];
    for (let r = 0; r < plan.full; r++) {
      const steps: Array<() => Promise<void>> = [
        async () => {
          manualR.push(await manualRestore(w, manualDir, manualTarget, 'restore_manual'));
        },
        async () => {
          mmR.push(await mmRestore(w, repo, full.id, mmTarget, 'restore_mmb'));
        },
        async () => {
          const rr = kept.resticRepo;
          if (!rr) return;
          await rs.step(async () => {
            rRestore.push(await restic(w, rr, 'restic restore', 'restore', resticTarget));
          });
        },
      ];
      for (let k = 0; k < steps.length; k++) await (steps[(k + r) % steps.length] as () => Promise<void>)();
      for (const t of targets) await rm(t, { recursive: true, force: true });
      if (r < plan.full - 1) await afterRemoval(log);
    }
    await pg.dropDatabase('restore_manual');
    await pg.dropDatabase('restore_mmb');

    // Phase 6: physical mode on the same cluster and repository (last: it changes the cluster for good).
    let pitr: PitrFigures | undefined;
    if (!pitrSkip) {
      pitr = await physicalPhase(w, repo, { cheapRuns: plan.cheap, rpoSeconds: args.rpoSeconds, postsPerSecond: 10 });
    }

    const loadEnd = loadAverage();
    const totalMs = performance.now() - t0;

    // --- Figures.
    const figures: Figures = {
      many: !!spec.manyFiles,
      mainLabel,
      secondLabel,
      manualB,
      fullOff,
      fullOn,
      incrOff,
      incrOn,
      chOff,
      chOn,
      ver,
      verDeep,
      manualR,
      mmR,
      second: { full: mem2Full, incremental: mem2Incr, resticFirst: resticFirst2 },
      restic: { first: rFirst, unchanged: rUnchanged, changed: rChanged, check: rCheck, restore: rRestore },
      idle,
      repo: {
        afterFullBytes: repoAfterFull.bytes,
        fullBytes: full.bytes,
        afterAllBytes: repoAfterIncr.bytes,
        snapshotBytes,
        manualBytes,
        resticAfterFirstBytes: resticAfterFirst,
        resticAfterAllBytes: resticAfterAll,
      },
      allRuns: runs,
      pitr,
    };
    const rows = buildRows(figures);
    const result = {
      startedAt: started.toISOString(),
      finishedAt: new Date().toISOString(),
      totalSeconds: Math.round(totalMs / 100) / 10,
      size: spec,
      secondSize: spec2,
      packs: args.packs,
      runsPlanned: plan,
      machine: {
        ...machine,
        loadAverageStart: loadStart,
        loadAverageEnd: loadEnd,
        busy: Math.max(loadStart[0] ?? 0, loadEnd[0] ?? 0) > 0.5 * Number(machine.cores),
      },
      memoryMethod: memoryMethod(),
      cacheMethod: cacheMethod(),
      space,
      restic: { version: rs.tool.version, note: rs.tool.note },
      pingIdle: idle,
      manyFiles: w.many
        ? {
            files: w.many.files,
            attachments: w.many.attachments,
            bytes: w.many.bytes,
            seconds: Math.round(w.many.ms / 100) / 10,
            workers: w.many.workers,
          }
        : undefined,
      install: {
        generateSeconds: Math.round(w.generateMs / 100) / 10,
        files: w.sb.fileStore.files,
        fileBytes: w.sb.fileStore.bytes,
        counts: { posts: w.sb.counts.posts, fileinfo: w.sb.counts.fileinfo },
        databaseBytes: Number(
          (await pg.query(w.sb.dbName, 'SELECT pg_database_size(current_database()) AS n'))[0]?.n ?? 0,
        ),
      },
      secondInstall: {
        files: w2.sb.fileStore.files,
        fileBytes: w2.sb.fileStore.bytes,
        posts: w2.sb.counts.posts,
        peakFull: mem2Full.peakRssBytes,
        peakIncremental: mem2Incr.peakRssBytes,
        resticPeakFirst: resticFirst2[0]?.peakRssBytes,
      },
      changesPerIncremental: changes,
      pitr: pitr
        ? { note: 'measured', rpo: pitr.rpo, restoreAtDatabaseMs: pitr.restoreAt.map((x) => x.dbMs) }
        : { note: pitrSkip ?? 'not measured' },
      repository: { afterFull: repoAfterFull, afterIncrementals: repoAfterIncr, snapshotBytes },
      rows: rows.map((r) => ({
        ...r,
        ratio: r.manual !== undefined && r.manual > 0 && !r.absolute ? r.value / r.manual : undefined,
        ratioToRestic: r.restic !== undefined && r.restic > 0 ? r.value / r.restic : undefined,
      })),
      runs,
    };
    const wall = (xs: RunRecord[]) => median(xs.map((x) => x.wallMs)) / 1000;
    const breakdown = (
      [
        ['Full backup, offline', fullOff],
        ['Full backup, online', fullOn],
        ['Incremental, nothing changed, offline', incrOff],
        ['Incremental, nothing changed, online', incrOn],
        ['Incremental, 1% new, offline', chOff],
        ['mm-backup restore', mmR],
        ['verify --deep', verDeep],
        ['Physical mode: full physical backup', pitr ? [pitr.fullPhysical] : []],
        ['Physical mode: nothing changed, offline', pitr?.off ?? []],
        ['Physical mode: nothing changed, online', pitr?.on ?? []],
        ['Physical mode: restore --at, in place', pitr?.restoreAt ?? []],
      ] as Array<[string, RunRecord[]]>
    )
      .filter(([, xs]) => xs.length > 0)
      .map(([what, xs]) => {
        const names = [...new Set(xs.flatMap((x) => Object.keys(x.steps ?? {})))];
        return {
          what,
          wallS: wall(xs),
          startupS: median(xs.map((x) => x.wallMs - (x.jobMs ?? x.wallMs))) / 1000,
          peakMB: xs.map((x) => Math.round((x.peakRssBytes ?? 0) / MB)),
          steps: names
            .map((n) => [n, median(xs.map((x) => x.steps?.[n] ?? 0)) / 1000] as [string, number])
            .filter(([, v]) => v >= 0.05),
          peakSteps: peakSteps(xs, names),
        };
      });
    const md = renderMarkdown(result, rows, breakdown, runs);
    await mkdir(args.out, { recursive: true });
    await writeFile(path.join(args.out, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
    await writeFile(path.join(args.out, 'latest.md'), md);
    process.stdout.write(md);
    log(`done in ${(totalMs / 1000).toFixed(0)} s; wrote ${path.join(args.out, 'latest.md')} and latest.json`);
  } finally {
    for (const w of worlds) await runProc(w.commands.stop).catch(() => undefined);
    await pg?.destroy();
    if (args.keep) log(`kept ${base}`);
    else await removeTempDir(base);
  }
}

bench().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
