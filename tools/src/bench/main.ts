/**
 * `npm run bench [-- --size small|medium|default|<GB>] [--runs N] [--keep] [--out DIR]`
 *
 * Generates a reference Mattermost install with the sandbox generator on a throwaway PostgreSQL,
 * then measures, as real child processes, the manual procedure (stop, `cp -ra`, `pg_dump -Fc`,
 * start; `pg_restore` + `cp -ra` back) against `mm-backup` (full, incremental, downtime, restore,
 * verify, peak memory at two data sizes, repository size). Prints a markdown table and writes it,
 * with the raw runs and the machine, to bench-results/latest.{md,json}.
 */
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  freePort,
  generateSandbox,
  makeTempDir,
  registerExitCleanup,
  removeTempDir,
  runStandinCommand,
  standinCommands,
  standinUrl,
  startPostgres,
  type PgServer,
  type Sandbox,
} from '@mm-backup/testkit';
import { describeMachine, loadAverage, median, memoryMethod, mustRun, PingWatcher, runProc, treeSize } from './measure';
import { renderMarkdown, type BenchRow } from './report';
import { addChanges } from './changes';

/** The sidecar's command as installed (its package's bin), measured as a real child process. */
const CLI = path.join(
  path.dirname(require.resolve('mattermost-backup-server-bridge/package.json')),
  'bin',
  'mm-backup.js',
);
/** tools/dist/bench (or tools/src/bench) up three: the repository, where bench-results/ lives. */
const REPO_ROOT = path.resolve(__dirname, '../../..');
const MB = 1024 * 1024;

/** A data size for the reference install. */
export interface SizeSpec {
  name: string;
  gb: number;
  users: number;
  teams: number;
  channels: number;
  posts: number;
  attachments: number;
  attachmentBytes: number;
  largeFileRatio: number;
}

/** small ≈ 100 MB / 50k posts, medium ≈ 500 MB / 250k, default ≈ 2 GB / 1 M posts, or a number of GB. */
export function sizeFor(arg: string): SizeSpec {
  const named: Record<string, number> = { tiny: 0.025, small: 0.1, medium: 0.5, default: 2 };
  const gb = named[arg] ?? Number(arg);
  if (!Number.isFinite(gb) || gb <= 0 || gb > 1000) {
    throw new Error(`--size must be small, medium, default or a number of GB, not "${arg}"`);
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

interface Args {
  size: string;
  runs?: number;
  keep: boolean;
  out: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { size: 'default', keep: false, out: path.join(REPO_ROOT, 'bench-results') };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i] as string;
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    if (k === '--size') a.size = v();
    else if (k.startsWith('--size=')) a.size = k.slice(7);
    else if (k === '--runs') a.runs = Number(v());
    else if (k.startsWith('--runs=')) a.runs = Number(k.slice(7));
    else if (k === '--keep') a.keep = true;
    else if (k === '--out') a.out = path.resolve(v());
    else if (k === '--help' || k === '-h') {
      process.stdout.write(
        'usage: npm run bench -- [--size small|medium|default|<GB>] [--runs N] [--keep] [--out DIR]\n',
      );
      process.exit(0);
    } else throw new Error(`unknown option ${k}`);
  }
  if (a.runs !== undefined && (!Number.isInteger(a.runs) || a.runs < 1)) {
    throw new Error('--runs must be a positive integer');
  }
  return a;
}

/** One generated install with its stand-in and mm-backup config files (one per repository). */
interface World {
  tag: string;
  spec: SizeSpec;
  root: string;
  sb: Sandbox;
  url: string;
  commands: { start: string[]; stop: string[] };
  generateMs: number;
  pg: PgServer;
  cfg(repo: string): Promise<string>;
}

const log = (s: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}\n`);

async function setupWorld(pg: PgServer, base: string, spec: SizeSpec, tag: string): Promise<World> {
  const root = path.join(base, tag);
  await mkdir(root, { recursive: true });
  const port = await freePort();
  log(
    `generating the ${spec.name} install (${spec.posts} posts, ${spec.attachments} attachments, ${(spec.attachmentBytes / MB).toFixed(0)} MB)`,
  );
  const t0 = performance.now();
  const sb = await generateSandbox({
    root,
    db: pg,
    dbName: `mm_${tag}`,
    port,
    size: {
      users: spec.users,
      teams: spec.teams,
      channels: spec.channels,
      posts: spec.posts,
      attachments: spec.attachments,
      attachmentBytes: spec.attachmentBytes,
      largeFileRatio: spec.largeFileRatio,
    },
  });
  const generateMs = performance.now() - t0;
  log(
    `generated in ${(generateMs / 1000).toFixed(1)} s: ${sb.fileStore.files} files, ${(sb.fileStore.bytes / MB).toFixed(0)} MB, ${sb.counts.posts} posts, ${sb.counts.fileinfo} fileinfo rows`,
  );
  const commands = standinCommands(path.join(root, 'standin'), sb.installDir, { port });
  const url = standinUrl(port);
  const cfgs = new Map<string, string>();
  const cfg = async (repo: string): Promise<string> => {
    const known = cfgs.get(repo);
    if (known) return known;
    const file = path.join(root, `mm-backup-${cfgs.size}.json`);
    await writeFile(
      file,
      JSON.stringify(
        {
          mattermost: { installDir: sb.installDir, url, ...(sb.envFilePath ? { envFile: sb.envFilePath } : {}) },
          service: { stop: commands.stop, start: commands.start, stopTimeoutSeconds: 60, healthTimeoutSeconds: 120 },
          repository: { path: repo },
          database: { adminUrl: pg.adminUrl(sb.dbName), pgBinDir: pg.binDir },
        },
        null,
        2,
      ),
      { mode: 0o600 },
    );
    await chmod(file, 0o600);
    cfgs.set(repo, file);
    return file;
  };
  await runService(commands.start);
  // Interrupted (Ctrl-C): stop the stand-in too (the kit removes the temp dir and the PostgreSQL cluster).
  registerExitCleanup(() => {
    spawnSync(commands.stop[0] as string, commands.stop.slice(1), { stdio: 'ignore' });
  });
  return { tag, spec, root, sb, url, commands, generateMs, pg, cfg };
}

async function runService(argv: readonly string[]): Promise<void> {
  const r = await runStandinCommand(argv);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
}

/** One measured run. */
interface RunRecord {
  what: string;
  wallMs: number;
  downtimeMs?: number;
  reportedDowntimeMs?: number;
  peakRssBytes?: number;
  peakTreeRssBytes?: number;
  snapshot?: Record<string, unknown>;
  /** mm-backup's own job duration (job.finished), without Node start-up and config loading. */
  jobMs?: number;
  /** Duration of each step (step.finished), in ms. */
  steps?: Record<string, number>;
  extra?: Record<string, unknown>;
}

const runs: RunRecord[] = [];

function record(r: RunRecord): RunRecord {
  runs.push(r);
  const parts = [`${(r.wallMs / 1000).toFixed(2)} s`];
  if (r.downtimeMs !== undefined) parts.push(`downtime ${(r.downtimeMs / 1000).toFixed(2)} s`);
  if (r.peakRssBytes !== undefined) parts.push(`peak ${(r.peakRssBytes / MB).toFixed(0)} MB`);
  log(`${r.what}: ${parts.join(', ')}`);
  return r;
}

/** Runs `mm-backup --config <cfg(repo)> --json ...args`, watching ping and peak memory. */
async function mmBackup(
  w: World,
  repo: string,
  what: string,
  args: string[],
): Promise<RunRecord & { summary: Record<string, any> }> {
  const cfgFile = await w.cfg(repo);
  const watch = new PingWatcher(w.url);
  watch.start();
  const r = await runProc([process.execPath, CLI, '--config', cfgFile, '--json', ...args], { measureMemory: true });
  const downtimeMs = await watch.stop();
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('{'));
  let summary: Record<string, any> | undefined;
  let jobMs: number | undefined;
  const steps: Record<string, number> = {};
  for (const l of lines) {
    try {
      const e = JSON.parse(l) as Record<string, any>;
      if (e.type === 'summary') summary = e;
      else if (e.type === 'step.finished' && typeof e.step === 'string') {
        steps[e.step] = Math.round(Number(e.durationMs));
      } else if (e.type === 'job.finished') jobMs = Number(e.durationMs);
    } catch {
      /* not JSON */
    }
  }
  if (r.code !== 0 || !summary?.ok) {
    throw new Error(
      `mm-backup ${args.join(' ')} exited with ${r.code}: ${JSON.stringify(summary?.error ?? {})}\n${r.stderr.slice(-2000)}`,
    );
  }
  const snap =
    summary.snapshot && typeof summary.snapshot === 'object'
      ? (summary.snapshot as Record<string, unknown>)
      : undefined;
  const rec = record({
    what,
    wallMs: r.wallMs,
    downtimeMs,
    peakRssBytes: r.peakRssBytes,
    peakTreeRssBytes: r.peakTreeRssBytes,
    snapshot: snap,
    jobMs,
    steps,
    reportedDowntimeMs: typeof snap?.downtime_ms === 'number' ? snap.downtime_ms : undefined,
  });
  return { ...rec, summary };
}

function pgEnv(w: World): NodeJS.ProcessEnv {
  return { PGPASSWORD: w.sb.dbPassword };
}

function pgArgs(w: World, db: string): string[] {
  return ['-h', '127.0.0.1', '-p', String(w.pg.port), '-U', w.sb.dbUser, '-d', db];
}

/** The official procedure: stop, cp -ra of the install, pg_dump -Fc, start. */
async function manualBackup(w: World, dest: string): Promise<RunRecord> {
  await rm(dest, { recursive: true, force: true });
  await mkdir(dest, { recursive: true });
  const watch = new PingWatcher(w.url);
  watch.start();
  const t0 = performance.now();
  await runService(w.commands.stop);
  await mustRun(['cp', '-ra', w.sb.installDir, path.join(dest, 'mattermost')]);
  await mustRun(
    [path.join(w.pg.binDir, 'pg_dump'), '-Fc', ...pgArgs(w, w.sb.dbName), '-f', path.join(dest, 'mattermost.dump')],
    { env: pgEnv(w) },
  );
  await runService(w.commands.start);
  const wallMs = performance.now() - t0;
  const downtimeMs = await watch.stop();
  const size = await treeSize(dest);
  return record({ what: 'manual backup', wallMs, downtimeMs, extra: { bytes: size.bytes } });
}

/** The official restore: pg_restore into an empty database, cp -ra of the install back. */
async function manualRestore(w: World, backup: string, target: string, db: string): Promise<RunRecord> {
  await rm(target, { recursive: true, force: true });
  await mkdir(target, { recursive: true });
  await w.pg.dropDatabase(db);
  await w.pg.createDatabase(db, w.sb.dbUser);
  const t0 = performance.now();
  await mustRun(
    [
      path.join(w.pg.binDir, 'pg_restore'),
      '--no-owner',
      '--no-privileges',
      ...pgArgs(w, db),
      path.join(backup, 'mattermost.dump'),
    ],
    { env: pgEnv(w) },
  );
  await mustRun(['cp', '-ra', path.join(backup, 'mattermost'), path.join(target, 'mattermost')]);
  const wallMs = performance.now() - t0;
  return record({ what: 'manual restore', wallMs });
}

/** mm-backup restore of a snapshot onto an empty directory and an empty database. */
async function mmRestore(w: World, repo: string, id: string, target: string, db: string): Promise<RunRecord> {
  await rm(target, { recursive: true, force: true });
  await mkdir(target, { recursive: true });
  await w.pg.dropDatabase(db);
  await w.pg.createDatabase(db, w.sb.dbUser);
  const urlFile = path.join(w.root, 'restore-db-url');
  await writeFile(
    urlFile,
    `postgres://${w.sb.dbUser}:${encodeURIComponent(w.sb.dbPassword)}@127.0.0.1:${w.pg.port}/${db}?sslmode=disable\n`,
    { mode: 0o600 },
  );
  const r = await mmBackup(w, repo, 'mm-backup restore', [
    'restore',
    id,
    '--install-dir',
    path.join(target, 'mattermost'),
    '--database-url-file',
    urlFile,
    '--yes',
  ]);
  return r;
}

/** Runs per measurement kind for a size (all of them = --runs when given). */
/**
 * Runs per measurement kind: `full` for full backups, the manual procedure and restores, `cheap` for
 * incrementals with nothing changed, `changed` for incrementals after 1% new data, `verify` and
 * `deep` for verify and verify --deep. At the default size the budget is 10 minutes on 2 cores.
 */
function plannedRuns(
  spec: SizeSpec,
  override?: number,
): { full: number; cheap: number; changed: number; verify: number; deep: number } {
  if (override) return { full: override, cheap: override, changed: override, verify: override, deep: override };
  if (spec.gb <= 0.6) return { full: 2, cheap: 3, changed: 2, verify: 3, deep: 2 };
  return { full: 1, cheap: 2, changed: 1, verify: 1, deep: 1 };
}

async function bench(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const spec = sizeFor(args.size);
  const spec2 = sizeFor(spec.gb > 0.15 ? 'small' : 'tiny');
  const plan = plannedRuns(spec, args.runs);
  const started = new Date();
  const loadStart = loadAverage();
  const t0 = performance.now();
  log(`size ${spec.name}, runs ${JSON.stringify(plan)}, load average ${loadStart.join(' ')}`);
  const pg = await startPostgres({ name: 'bench' });
  const base = await makeTempDir('mm-backup-bench-', { keep: args.keep });
  const machine = await describeMachine(base);
  const worlds: World[] = [];
  try {
    // --- Second data point for peak memory: a smaller install, one full + one incremental backup.
    const w2 = await setupWorld(pg, base, spec2, 'second');
    worlds.push(w2);
    const repo2 = path.join(w2.root, 'repo');
    const mem2Full = await mmBackup(w2, repo2, `[${spec2.name}] mm-backup backup offline full`, [
      'backup',
      '--mode',
      'offline',
    ]);
    const mem2Incr = await mmBackup(w2, repo2, `[${spec2.name}] mm-backup backup offline incremental`, [
      'backup',
      '--mode',
      'offline',
    ]);
    await runService(w2.commands.stop);
    worlds.pop();
    await rm(w2.root, { recursive: true, force: true });
    await pg.dropDatabase(w2.sb.dbName);

    // --- The reference install.
    const w = await setupWorld(pg, base, spec, 'main');
    worlds.push(w);
    const manualDir = path.join(w.root, 'manual-backup');
    const repo = path.join(w.root, 'repo');

    // Phase 1: full backups, alternating with the manual procedure.
    const manualB: RunRecord[] = [];
    const fullOff: RunRecord[] = [];
    const fullOn: RunRecord[] = [];
    // Set by the last full backup's step (a closure), read after the loop.
    const full = { id: '', bytes: 0 };
    for (let r = 0; r < plan.full; r++) {
      const last = r === plan.full - 1;
      const steps: Array<() => Promise<void>> = [
        async () => {
          manualB.push(await manualBackup(w, manualDir));
        },
        async () => {
          const target = last ? repo : path.join(w.root, `repo-off-${r}`);
          const x = await mmBackup(w, target, 'mm-backup backup offline full', ['backup', '--mode', 'offline']);
          fullOff.push(x);
          if (last) {
            full.id = String(x.snapshot?.id);
            full.bytes = Number(x.snapshot?.bytes);
          } else await rm(target, { recursive: true, force: true });
        },
        async () => {
          const target = path.join(w.root, `repo-on-${r}`);
          fullOn.push(await mmBackup(w, target, 'mm-backup backup online full', ['backup', '--mode', 'online']));
          await rm(target, { recursive: true, force: true });
        },
      ];
      // rotate the order so that no kind always runs first (cold caches, background load)
      for (let k = 0; k < steps.length; k++) await (steps[(k + r) % steps.length] as () => Promise<void>)();
    }
    const repoAfterFull = await treeSize(repo);
    const manualBytes = Number(manualB.at(-1)?.extra?.bytes ?? 0);

    // Phase 2: incremental, nothing changed.
    const incrOff: RunRecord[] = [];
    const incrOn: RunRecord[] = [];
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
      incrOff.push(a);
      incrOn.push(b);
      snapshotBytes.push(Number(a.snapshot?.bytes), Number(b.snapshot?.bytes));
    }

    // Phase 3: incremental after 1% new attachments and 1% new posts.
    const chOff: RunRecord[] = [];
    const chOn: RunRecord[] = [];
    const changes: Array<{ posts: number; files: number; bytes: number }> = [];
    for (let r = 0; r < plan.changed; r++) {
      changes.push(await addChanges(w, 0.01));
      const a = await mmBackup(w, repo, 'mm-backup backup offline incremental (1% new)', [
        'backup',
        '--mode',
        'offline',
      ]);
      changes.push(await addChanges(w, 0.01));
      const b = await mmBackup(w, repo, 'mm-backup backup online incremental (1% new)', ['backup', '--mode', 'online']);
      chOff.push(a);
      chOn.push(b);
      snapshotBytes.push(Number(a.snapshot?.bytes), Number(b.snapshot?.bytes));
    }
    const repoAfterIncr = await treeSize(repo);

    // Phase 4: verify.
    const ver: RunRecord[] = [];
    const verDeep: RunRecord[] = [];
    for (let r = 0; r < plan.verify; r++) ver.push(await mmBackup(w, repo, 'mm-backup verify', ['verify', full.id]));
    for (let r = 0; r < plan.deep; r++) {
      verDeep.push(await mmBackup(w, repo, 'mm-backup verify --deep', ['verify', full.id, '--deep']));
    }

    // Phase 5: restore of the full snapshot vs the manual restore of the manual backup taken in the same state.
    const manualR: RunRecord[] = [];
    const mmR: RunRecord[] = [];
    const target = path.join(w.root, 'restore-target');
    for (let r = 0; r < plan.full; r++) {
      const steps: Array<() => Promise<void>> = [
        async () => {
          manualR.push(await manualRestore(w, manualDir, target, 'restore_manual'));
        },
        async () => {
          mmR.push(await mmRestore(w, repo, full.id, target, 'restore_mmb'));
        },
      ];
      for (let k = 0; k < steps.length; k++) await (steps[(k + r) % steps.length] as () => Promise<void>)();
      await rm(target, { recursive: true, force: true });
    }
    await pg.dropDatabase('restore_manual');
    await pg.dropDatabase('restore_mmb');

    const loadEnd = loadAverage();
    const totalMs = performance.now() - t0;

    // --- Figures.
    const wall = (xs: RunRecord[]) => median(xs.map((x) => x.wallMs)) / 1000;
    const down = (xs: RunRecord[]) => median(xs.map((x) => x.downtimeMs ?? 0)) / 1000;
    const peak = (xs: RunRecord[]) => Math.max(...xs.map((x) => x.peakRssBytes ?? 0)) / MB;
    const mB = wall(manualB);
    const mD = down(manualB);
    const mR = wall(manualR);
    const onlineDowntimes = [...fullOn, ...incrOn, ...chOn].map((x) => x.downtimeMs ?? 0);
    const peakBig = peak([...fullOff, ...fullOn]);
    const peakSmall = peak([mem2Full]);
    const peakAll = peak(runs.filter((x) => x.peakRssBytes !== undefined));
    const rows: BenchRow[] = [
      {
        group: 'Backup time',
        what: 'Manual procedure: stop, `cp -ra`, `pg_dump -Fc`, start',
        runs: manualB.length,
        value: mB,
        unit: 's',
        manual: mB,
      },
      {
        group: 'Backup time',
        what: 'Full backup, offline (empty repository)',
        runs: fullOff.length,
        value: wall(fullOff),
        unit: 's',
        manual: mB,
        target: '≤ 1',
        max: 1,
      },
      {
        group: 'Backup time',
        what: 'Full backup, online (empty repository)',
        runs: fullOn.length,
        value: wall(fullOn),
        unit: 's',
        manual: mB,
        target: '≤ 1',
        max: 1,
      },
      {
        group: 'Backup time',
        what: 'Incremental, nothing changed, offline',
        runs: incrOff.length,
        value: wall(incrOff),
        unit: 's',
        manual: mB,
        target: '< 0.05',
        max: 0.05,
      },
      {
        group: 'Backup time',
        what: 'Incremental, nothing changed, online',
        runs: incrOn.length,
        value: wall(incrOn),
        unit: 's',
        manual: mB,
        target: '< 0.05',
        max: 0.05,
      },
      {
        group: 'Backup time',
        what: 'Incremental, 1% new attachments and posts, offline',
        runs: chOff.length,
        value: wall(chOff),
        unit: 's',
        manual: mB,
      },
      {
        group: 'Backup time',
        what: 'Incremental, 1% new attachments and posts, online',
        runs: chOn.length,
        value: wall(chOn),
        unit: 's',
        manual: mB,
      },
      { group: 'Downtime', what: 'Manual procedure', runs: manualB.length, value: mD, unit: 's', manual: mD },
      {
        group: 'Downtime',
        what: 'Full backup, offline',
        runs: fullOff.length,
        value: down(fullOff),
        unit: 's',
        manual: mD,
      },
      {
        group: 'Downtime',
        what: 'Incremental, nothing changed, offline',
        runs: incrOff.length,
        value: down(incrOff),
        unit: 's',
        manual: mD,
        target: '< 0.2',
        max: 0.2,
      },
      {
        group: 'Downtime',
        what: 'Incremental, 1% new, offline',
        runs: chOff.length,
        value: down(chOff),
        unit: 's',
        manual: mD,
        target: '< 0.2',
        max: 0.2,
      },
      {
        group: 'Downtime',
        what: 'Online backups (full and incremental), worst run',
        runs: onlineDowntimes.length,
        value: Math.max(...onlineDowntimes) / 1000,
        unit: 's',
        manual: mD,
        target: '0 s',
        max: 0,
        absolute: true,
      },
      {
        group: 'Restore',
        what: 'Manual restore: `pg_restore` into an empty database, `cp -ra` back',
        runs: manualR.length,
        value: mR,
        unit: 's',
        manual: mR,
      },
      {
        group: 'Restore',
        what: 'mm-backup restore of the full snapshot (new dir, empty database)',
        runs: mmR.length,
        value: wall(mmR),
        unit: 's',
        manual: mR,
        target: '≤ 1',
        max: 1,
      },
      {
        group: 'Verify',
        what: '`verify` (re-hash every object, read the dump through)',
        runs: ver.length,
        value: wall(ver),
        unit: 's',
        manual: mB,
      },
      {
        group: 'Verify',
        what: '`verify --deep` (plus a restore drill into a throwaway database)',
        runs: verDeep.length,
        value: wall(verDeep),
        unit: 's',
        manual: mB,
      },
      {
        group: 'Peak memory',
        what: `Full backup, ${spec.name} (${(w.sb.fileStore.bytes / MB).toFixed(0)} MB, ${w.sb.counts.posts} posts)`,
        runs: fullOff.length + fullOn.length,
        value: peakBig,
        unit: 'MB',
        target: '< 200 MB',
        maxAbs: 200,
      },
      {
        group: 'Peak memory',
        what: `Full backup, ${spec2.name} (${(w2.sb.fileStore.bytes / MB).toFixed(0)} MB, ${w2.sb.counts.posts} posts)`,
        runs: 1,
        value: peakSmall,
        unit: 'MB',
        target: '< 200 MB',
        maxAbs: 200,
      },
      {
        group: 'Peak memory',
        what: `Growth: ${spec.name} / ${spec2.name} (data ×${(w.sb.fileStore.bytes / Math.max(1, w2.sb.fileStore.bytes)).toFixed(1)})`,
        runs: 2,
        value: peakBig / peakSmall,
        unit: '×',
        target: 'flat (< 1.5×)',
        maxAbs: 1.5,
      },
      {
        group: 'Peak memory',
        what: 'Any mm-backup run (backup, verify, restore)',
        runs: runs.filter((x) => x.peakRssBytes !== undefined).length,
        value: peakAll,
        unit: 'MB',
        target: '< 200 MB',
        maxAbs: 200,
      },
      {
        group: 'Repository size',
        what: 'After the full backup, against the bytes it backed up',
        runs: 1,
        value: repoAfterFull.bytes / MB,
        unit: 'MB',
        manual: full.bytes / MB,
        ratioLabel: 'of backed-up',
      },
      {
        group: 'Repository size',
        what: `After all ${snapshotBytes.length} snapshots, against the sum of what they backed up`,
        runs: 1,
        value: repoAfterIncr.bytes / MB,
        unit: 'MB',
        manual: snapshotBytes.reduce((a, b) => a + b, 0) / MB,
        ratioLabel: 'of backed-up',
      },
      {
        group: 'Repository size',
        what: 'Manual backup (install copy + `pg_dump -Fc`), for comparison',
        runs: 1,
        value: manualBytes / MB,
        unit: 'MB',
        manual: full.bytes / MB,
        ratioLabel: 'of backed-up',
      },
    ];

    const result = {
      startedAt: started.toISOString(),
      finishedAt: new Date().toISOString(),
      totalSeconds: Math.round(totalMs / 100) / 10,
      size: spec,
      secondSize: spec2,
      runsPlanned: plan,
      machine: {
        ...machine,
        loadAverageStart: loadStart,
        loadAverageEnd: loadEnd,
        busy: Math.max(loadStart[0] ?? 0, loadEnd[0] ?? 0) > 0.5 * Number(machine.cores),
      },
      memoryMethod: memoryMethod(),
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
      },
      changesPerIncremental: changes,
      repository: { afterFull: repoAfterFull, afterIncrementals: repoAfterIncr, snapshotBytes },
      rows: rows.map((r) => ({
        ...r,
        ratio: r.manual !== undefined && r.manual > 0 && !r.absolute ? r.value / r.manual : undefined,
      })),
      runs,
    };
    const breakdown = (
      [
        ['Full backup, offline', fullOff],
        ['Full backup, online', fullOn],
        ['Incremental, nothing changed, offline', incrOff],
        ['Incremental, nothing changed, online', incrOn],
        ['Incremental, 1% new, offline', chOff],
        ['mm-backup restore', mmR],
        ['verify --deep', verDeep],
      ] as Array<[string, RunRecord[]]>
    ).map(([what, xs]) => {
      const names = [...new Set(xs.flatMap((x) => Object.keys(x.steps ?? {})))];
      return {
        what,
        wallS: wall(xs),
        startupS: median(xs.map((x) => x.wallMs - (x.jobMs ?? x.wallMs))) / 1000,
        peakMB: xs.map((x) => Math.round((x.peakRssBytes ?? 0) / MB)),
        steps: names
          .map((n) => [n, median(xs.map((x) => x.steps?.[n] ?? 0)) / 1000] as [string, number])
          .filter(([, v]) => v >= 0.05),
      };
    });
    const md = renderMarkdown(result, rows, breakdown);
    await mkdir(args.out, { recursive: true });
    await writeFile(path.join(args.out, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
    await writeFile(path.join(args.out, 'latest.md'), md);
    process.stdout.write(md);
    log(`done in ${(totalMs / 1000).toFixed(0)} s; wrote ${path.join(args.out, 'latest.md')} and latest.json`);
  } finally {
    for (const w of worlds) await runProc(w.commands.stop).catch(() => undefined);
    await pg.destroy();
    if (args.keep) log(`kept ${base}`);
    else await removeTempDir(base);
  }
}

bench().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
