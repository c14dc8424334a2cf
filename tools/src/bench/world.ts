/**
 * The benchmark's installs and the procedures measured on them, each a real child process: the
 * manual procedure (stop, `cp -ra`, `pg_dump -Fc`, start; `pg_restore` + `cp -ra` back), the
 * `mm-backup` command (its `--json` summary read back) and restic. Every run is recorded in `runs`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  freePort,
  generateSandbox,
  reapStandinAtExit,
  runStandinCommand,
  standinCommands,
  standinUrl,
  type PgServer,
  type Sandbox,
} from '@mm-backup/testkit';
import { addManyFiles, type ManyFilesResult } from './many_files';
import {
  afterRemoval,
  latencyStats,
  mustRun,
  PingWatcher,
  runProc,
  settle,
  treeSize,
  type LatencyStats,
} from './measure';
import { resticBackup, resticCheck, resticRestore, type ResticRepo, type ResticRun } from './restic';
import { sampleSystem, usageBetween, type SystemUsage } from './system_usage';

/** The sidecar's command as installed (its package's bin), measured as a real child process. */
const CLI = path.join(
  path.dirname(require.resolve('mattermost-backup-server-bridge/package.json')),
  'bin',
  'mm-backup.js',
);
/**
 * The command's `#!/usr/bin/env -S [NAME=value ...] node [flags]` line: the environment it sets
 * and Node's flags, which the bench passes on to run the command as installed.
 */
export function launcherLine(file: string): { env: Record<string, string>; flags: string[] } {
  const first = readFileSync(file, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\S*env(?: -S)?((?: [A-Z_][A-Z0-9_]*=[\w.-]+)*) node((?: --?[\w=.-]+)*)\s*$/.exec(first);
  if (!m) throw new Error(`${file}: not a #!/usr/bin/env -S node launcher: ${first}`);
  const env: Record<string, string> = {};
  for (const a of (m[1] ?? '').split(' ').filter(Boolean)) {
    const eq = a.indexOf('=');
    env[a.slice(0, eq)] = a.slice(eq + 1);
  }
  return { env, flags: (m[2] ?? '').split(' ').filter(Boolean) };
}
const LAUNCHER = launcherLine(CLI);
export const MB = 1024 * 1024;

/** A data size for the reference install; `manyFiles` adds that many small attachment files. */
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
  manyFiles?: number;
}

/** One generated install with its stand-in and mm-backup config files (one per repository). */
export interface World {
  tag: string;
  spec: SizeSpec;
  root: string;
  sb: Sandbox;
  url: string;
  commands: { start: string[]; stop: string[] };
  generateMs: number;
  many?: ManyFilesResult;
  pg: PgServer;
  cfg(repo: string): Promise<string>;
  /**
   * The same config plus a `pitr` section (physical mode: pgBackRest's config beside it, the
   * stanza `mmbench`, PostgreSQL stopped and started with `pg_ctl` as postgres, as the e2e tests do).
   */
  pitrCfg(repo: string): Promise<string>;
}

/** pgBackRest's stanza of the bench's cluster. */
export const BENCH_STANZA = 'mmbench';

export const log = (s: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
};

/** Generates the install of `spec` (and its many-files tree), writes its stand-in commands and starts it. */
export async function setupWorld(
  pg: PgServer,
  base: string,
  spec: SizeSpec,
  tag: string,
  opts: { packs?: boolean } = {},
): Promise<World> {
  const root = path.join(base, tag);
  await mkdir(root, { recursive: true });
  const port = await freePort();
  log(
    `generating the ${spec.name} install (${spec.posts} posts, ${spec.attachments} attachments, ${(spec.attachmentBytes / MB).toFixed(0)} MB${spec.manyFiles ? `, then ${spec.manyFiles} small files` : ''})`,
  );
  const t0 = performance.now();
  let sb = await generateSandbox({
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
  let many: ManyFilesResult | undefined;
  if (spec.manyFiles) {
    let next = 0.1;
    const total = spec.manyFiles;
    many = await addManyFiles({ pg, sb }, total, (n) => {
      if (n < next * total) return;
      log(`  ${n} of ${total} files written`);
      while (n >= next * total) next += 0.1;
    });
    log(
      `many-files tree: ${many.files} files in ${many.attachments} attachment dirs, ${(many.bytes / MB).toFixed(0)} MB, written in ${(many.ms / 1000).toFixed(1)} s (${Math.round(many.files / (many.ms / 1000))} files/s, ${many.workers} workers)`,
    );
    sb = {
      ...sb,
      fileStore: { files: sb.fileStore.files + many.files, bytes: sb.fileStore.bytes + many.bytes },
      counts: { ...sb.counts, fileinfo: (sb.counts.fileinfo ?? 0) + many.attachments },
    };
  }
  const generateMs = performance.now() - t0;
  log(
    `generated in ${(generateMs / 1000).toFixed(1)} s: ${sb.fileStore.files} files, ${(sb.fileStore.bytes / MB).toFixed(0)} MB, ${sb.counts.posts} posts, ${sb.counts.fileinfo} fileinfo rows`,
  );
  const commands = standinCommands(path.join(root, 'standin'), sb.installDir, { port });
  const url = standinUrl(port);
  const cfgs = new Map<string, string>();
  const installSb = sb;
  const writeCfg = async (repo: string, pitr: boolean): Promise<string> => {
    const key = `${pitr ? 'pitr:' : ''}${repo}`;
    const known = cfgs.get(key);
    if (known) return known;
    const file = path.join(root, `mm-backup-${cfgs.size}${pitr ? '-pitr' : ''}.json`);
    await writeFile(
      file,
      JSON.stringify(
        {
          mattermost: {
            installDir: installSb.installDir,
            url,
            ...(installSb.envFilePath ? { envFile: installSb.envFilePath } : {}),
          },
          service: { stop: commands.stop, start: commands.start, stopTimeoutSeconds: 60, healthTimeoutSeconds: 120 },
          repository: { path: repo, packs: opts.packs ?? true },
          database: { adminUrl: pg.adminUrl(installSb.dbName), pgBinDir: pg.binDir },
          // Every snapshot stays: verify and restore use the first full one, and physical mode needs
          // a recent logical dump among them (the default keepLast 7 dropped the full one at --size small).
          retention: { keepLast: 1000 },
          ...(pitr
            ? {
                pitr: {
                  stanza: BENCH_STANZA,
                  configDir: path.join(root, 'pgbackrest-conf'),
                  postgresService: { preset: 'pg_ctl', binDir: pg.binDir, logFile: pg.logFile },
                },
              }
            : {}),
        },
        null,
        2,
      ),
      { mode: 0o600 },
    );
    await chmod(file, 0o600);
    cfgs.set(key, file);
    return file;
  };
  const cfg = (repo: string) => writeCfg(repo, false);
  const pitrCfg = (repo: string) => writeCfg(repo, true);
  await runService(commands.start);
  // Interrupted (Ctrl-C) or killed: the stand-in is stopped too (the kit removes the temp dir and
  // the PostgreSQL cluster), by this process's exit hooks or, after a SIGKILL, by the kit's reaper.
  reapStandinAtExit(path.join(root, 'standin'));
  return { tag, spec, root, sb, url, commands, generateMs, many, pg, cfg, pitrCfg };
}

export async function runService(argv: readonly string[]): Promise<void> {
  const r = await runStandinCommand(argv);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
}

/** One measured run. */
export interface RunRecord {
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
  /** The process's peak resident set as each step finished (step.finished), in bytes: which step raised it. */
  stepPeaks?: Record<string, number>;
  /** Mattermost's ping round trip while the run went on (answered probes only). */
  ping?: LatencyStats;
  /** Files the tool looked at, as it reports them (mm-backup's snapshot files, restic's total_files_processed). */
  files?: number;
  /** What the machine did meanwhile (system_usage.ts): CPU by kind, the disk's reads and writes. */
  system?: SystemUsage;
  extra?: Record<string, unknown>;
}

/** Every run of this bench, in order (written to latest.json). */
export const runs: RunRecord[] = [];

function record(r: RunRecord): RunRecord {
  runs.push(r);
  const parts = [`${(r.wallMs / 1000).toFixed(2)} s`];
  if (r.downtimeMs) parts.push(`downtime ${(r.downtimeMs / 1000).toFixed(2)} s`);
  if (r.peakRssBytes !== undefined) parts.push(`peak ${(r.peakRssBytes / MB).toFixed(0)} MB`);
  if (r.ping && !r.downtimeMs) parts.push(`ping median ${r.ping.medianMs} ms, p99 ${r.ping.p99Ms} ms`);
  log(`${r.what}: ${parts.join(', ')}`);
  return r;
}

/**
 * Runs `mm-backup --config <cfg(repo)> --json ...args` (with `pitr`, the config with physical
 * mode's section), watching ping and peak memory.
 */
export async function mmBackup(
  w: World,
  repo: string,
  what: string,
  args: string[],
  opts: { pitr?: boolean; cold?: boolean } = {},
): Promise<RunRecord & { summary: Record<string, any> }> {
  const cfgFile = opts.pitr ? await w.pitrCfg(repo) : await w.cfg(repo);
  await settle({ cold: opts.cold });
  const watch = new PingWatcher(w.url);
  watch.start();
  const before = await sampleSystem(w.root);
  const r = await runProc([process.execPath, ...LAUNCHER.flags, CLI, '--config', cfgFile, '--json', ...args], {
    env: LAUNCHER.env,
    measureMemory: true,
  });
  const system = usageBetween(before, await sampleSystem(w.root));
  const downtimeMs = await watch.stop();
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('{'));
  let summary: Record<string, any> | undefined;
  let jobMs: number | undefined;
  const steps: Record<string, number> = {};
  const stepPeaks: Record<string, number> = {};
  for (const l of lines) {
    try {
      const e = JSON.parse(l) as Record<string, any>;
      if (e.type === 'summary') summary = e;
      else if (e.type === 'step.finished' && typeof e.step === 'string') {
        steps[e.step] = Math.round(Number(e.durationMs));
        if (typeof e.peakRssBytes === 'number') stepPeaks[e.step] = e.peakRssBytes;
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
    stepPeaks,
    reportedDowntimeMs: typeof snap?.downtime_ms === 'number' ? snap.downtime_ms : undefined,
    ping: latencyStats(watch.latenciesMs),
    files: typeof snap?.files === 'number' ? snap.files : undefined,
    system,
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
export async function manualBackup(w: World, dest: string, opts: { cold?: boolean } = {}): Promise<RunRecord> {
  // The copy before (a round of several) is removed first: its freed inodes must not slow this one.
  if (existsSync(dest)) {
    await rm(dest, { recursive: true, force: true });
    await afterRemoval(log);
  }
  await mkdir(dest, { recursive: true });
  await settle({ cold: opts.cold });
  const watch = new PingWatcher(w.url);
  watch.start();
  const before = await sampleSystem(w.root);
  const t0 = performance.now();
  await runService(w.commands.stop);
  await mustRun(['cp', '-ra', w.sb.installDir, path.join(dest, 'mattermost')]);
  await mustRun(
    [path.join(w.pg.binDir, 'pg_dump'), '-Fc', ...pgArgs(w, w.sb.dbName), '-f', path.join(dest, 'mattermost.dump')],
    { env: pgEnv(w) },
  );
  await runService(w.commands.start);
  const wallMs = performance.now() - t0;
  const system = usageBetween(before, await sampleSystem(w.root));
  const downtimeMs = await watch.stop();
  const size = await treeSize(dest);
  return record({
    what: 'manual backup',
    wallMs,
    downtimeMs,
    files: size.files - 1,
    system,
    extra: { bytes: size.bytes },
  });
}

/** The official restore: pg_restore into an empty database, cp -ra of the install back. */
export async function manualRestore(w: World, backup: string, target: string, db: string): Promise<RunRecord> {
  await rm(target, { recursive: true, force: true });
  await mkdir(target, { recursive: true });
  await w.pg.dropDatabase(db);
  await w.pg.createDatabase(db, w.sb.dbUser);
  await settle({ cold: true });
  const before = await sampleSystem(w.root);
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
  const pgRestoreMs = performance.now() - t0;
  await mustRun(['cp', '-ra', path.join(backup, 'mattermost'), path.join(target, 'mattermost')]);
  const wallMs = performance.now() - t0;
  const system = usageBetween(before, await sampleSystem(w.root));
  return record({ what: 'manual restore', wallMs, system, extra: { pgRestoreMs } });
}

/** mm-backup restore of a snapshot onto an empty directory and an empty database. */
export async function mmRestore(w: World, repo: string, id: string, target: string, db: string): Promise<RunRecord> {
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
  return mmBackup(
    w,
    repo,
    'mm-backup restore',
    ['restore', id, '--install-dir', path.join(target, 'mattermost'), '--database-url-file', urlFile, '--yes'],
    { cold: true },
  );
}

/** A restic run, recorded like the others; `op` is backup (of the install dir), restore (to target) or check. */
export async function restic(
  w: World,
  repo: ResticRepo,
  what: string,
  op: 'backup' | 'restore' | 'check',
  target?: string,
  opts: { cold?: boolean } = {},
): Promise<RunRecord> {
  const dir = target ?? path.join(w.root, 'restic-restore');
  if (op === 'restore') await rm(dir, { recursive: true, force: true });
  await settle({ cold: op === 'restore' || opts.cold });
  const watch = new PingWatcher(w.url);
  watch.start();
  const before = await sampleSystem(w.root);
  let r: ResticRun;
  try {
    if (op === 'backup') r = await resticBackup(repo, w.sb.installDir);
    else if (op === 'restore') r = await resticRestore(repo, dir);
    else r = await resticCheck(repo);
  } finally {
    await watch.stop().catch(() => 0);
  }
  const system = usageBetween(before, await sampleSystem(w.root));
  return record({
    what,
    wallMs: r.wallMs,
    system,
    peakRssBytes: r.peakRssBytes,
    ping: latencyStats(watch.latenciesMs),
    files: r.files,
    extra: r.summary || r.incomplete ? { summary: r.summary, incomplete: r.incomplete } : undefined,
  });
}
