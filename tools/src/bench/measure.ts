/**
 * Measuring tools for the benchmark: child processes with wall time and peak memory, a ping
 * poller for downtime, medians, directory sizes and the machine description.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { lstat, mkdtemp, readdir, readFile, rm, statfs, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Result of one child process. */
export interface ProcResult {
  code: number | null;
  wallMs: number;
  /** Peak resident set size of the process itself, in bytes: the highest VmHWM seen while polling /proc every 50 ms. */
  peakRssBytes?: number;
  /** GNU time's %M, when available: the largest RSS of the process or any of its children (pg_dump, zstd, ...). */
  peakTreeRssBytes?: number;
  stdout: string;
  stderr: string;
}

const GNU_TIME = '/usr/bin/time';

/** How peak memory is measured on this machine. */
export function memoryMethod(): string {
  return existsSync(GNU_TIME)
    ? "VmHWM of the mm-backup node process, polled every 50 ms (the JSON also has GNU time's %M, the largest of it and its children)"
    : 'VmHWM of the mm-backup node process, polled every 50 ms';
}

/**
 * Runs argv as a child process. With `measureMemory`, wraps it in GNU time (or polls VmHWM of the
 * child when GNU time is missing). `env` is merged into process.env.
 */
export async function runProc(
  argv: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; measureMemory?: boolean; cwd?: string } = {},
): Promise<ProcResult> {
  const [cmd0, ...args0] = argv;
  if (!cmd0) throw new Error('empty command');
  let cmd = cmd0;
  let args = args0;
  let timeFile: string | undefined;
  let tmp: string | undefined;
  const useTime = opts.measureMemory && existsSync(GNU_TIME);
  if (useTime) {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mmbench-time-'));
    timeFile = path.join(tmp, 'time.txt');
    cmd = GNU_TIME;
    args = ['-f', '%M', '-o', timeFile, cmd0, ...args0];
  }
  const started = performance.now();
  const child = spawn(cmd, args, {
    env: { ...process.env, ...opts.env },
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  // VmHWM of the measured process itself (the child, or GNU time's child), polled every 50 ms.
  let hwm = 0;
  let poll: NodeJS.Timeout | undefined;
  if (opts.measureMemory && child.pid !== undefined) {
    const outer = child.pid;
    let pid: number | undefined = useTime ? undefined : outer;
    const read = () => {
      try {
        if (pid === undefined) {
          const kids = readFileSync(`/proc/${outer}/task/${outer}/children`, 'utf8')
            .trim()
            .split(/\s+/)
            .filter(Boolean);
          if (kids[0]) pid = Number(kids[0]);
          else return;
        }
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (m) hwm = Math.max(hwm, Number(m[1]) * 1024);
      } catch {
        /* not there yet, or gone */
      }
    };
    read();
    poll = setInterval(read, 50);
  }
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c));
  });
  const wallMs = performance.now() - started;
  if (poll) clearInterval(poll);
  const peakRssBytes: number | undefined = opts.measureMemory && hwm > 0 ? hwm : undefined;
  let peakTreeRssBytes: number | undefined;
  if (timeFile) {
    const text = await readFile(timeFile, 'utf8').catch(() => '');
    const kb = Number(
      text
        .trim()
        .split('\n')
        .filter((l) => /^\d+$/.test(l.trim()))
        .at(-1),
    );
    if (Number.isFinite(kb) && kb > 0) peakTreeRssBytes = kb * 1024;
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
  return { code, wallMs, peakRssBytes: peakRssBytes ?? peakTreeRssBytes, peakTreeRssBytes, stdout, stderr };
}

/** Where the kernel is told to drop its clean caches (writable by root only). */
const DROP_CACHES = '/proc/sys/vm/drop_caches';

/** Whether this process may drop the kernel's caches. */
function canDropCaches(file = DROP_CACHES): boolean {
  try {
    accessSync(file, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Before a timed run: dirty pages written out (`sync`), so no run pays for the write-back of the
 * one before it; with `cold` (restores), also the page cache, dentries and inodes dropped where
 * this process may. Why: on the 2-core VM, `cp -ra` of 200k files took 41-43 s from dropped
 * caches and 90-98 s right after another run (system time 29-31 s against 79-90 s). Most of that
 * turned out to be the removal of the run before's files (see afterRemoval). True when the
 * caches were dropped.
 */
export async function settle(opts: { cold?: boolean; dropFile?: string } = {}): Promise<boolean> {
  await mustRun(['sync']);
  const file = opts.dropFile ?? DROP_CACHES;
  if (!opts.cold || !canDropCaches(file)) return false;
  await writeFile(file, '3\n');
  return true;
}

/**
 * Seconds for which ext4 without a journal skips a freed inode when it allocates a new one
 * (fs/ext4/ialloc.c, recently_deleted: RECENTCY_MIN, plus 300 while the inode's block is dirty,
 * hence the sync). Right after a tree of 200k files was removed, the next run's file creation
 * walked past those inodes one by one.
 */
const RECENTLY_DELETED_S = 60;

/** After a timed run's tree was removed and before the next timed run: sync, then wait that out. */
export async function afterRemoval(log?: (m: string) => void, waitMs = (RECENTLY_DELETED_S + 1) * 1000): Promise<void> {
  await mustRun(['sync']);
  log?.(
    `waiting ${Math.round(waitMs / 1000)} s after removing a tree: inodes freed in the last minute slow the next run's file creation`,
  );
  await new Promise((resolve) => setTimeout(resolve, waitMs));
}

/** What settle() does on this machine, for the report. */
export function cacheMethod(): string {
  return canDropCaches()
    ? "every timed run starts after `sync`; each full backup (the manual one, mm-backup's offline and online ones, restic's first) and each restore also after the kernel's page cache, dentries and inodes were dropped (a restore after a disaster starts cold; a full backup reads a tree most of which is not in memory, and warm, whichever ran right after the manual backup's copy read it from disk and the others did not); each restore writes into a directory of its own, all three removed after the round (a restore right after the removal of another's files paid for it)"
    : "every timed run starts after `sync`; the kernel's caches are not dropped before the full backups and the restores (that needs root); each restore writes into a directory of its own, all three removed after the round";
}

/** Runs argv and throws with its stderr when it fails. */
export async function mustRun(
  argv: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<ProcResult> {
  const r = await runProc(argv, opts);
  if (r.code !== 0) {
    throw new Error(`${argv.join(' ')} exited with ${r.code}: ${r.stderr.slice(-2000)}${r.stdout.slice(-1000)}`);
  }
  return r;
}

/** Latency of the answered ping probes of one watch, in ms. */
export interface LatencyStats {
  probes: number;
  medianMs: number;
  p99Ms: number;
  maxMs: number;
}

/** Nearest-rank percentile (p in 0..100) of a non-empty list; NaN for an empty one. */
export function percentile(xs: readonly number[], p: number): number {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)));
  return s[rank - 1] as number;
}

/** Median, p99 and max of a list of latencies; undefined when nothing was answered. */
export function latencyStats(xs: readonly number[]): LatencyStats | undefined {
  if (!xs.length) return undefined;
  const r = (x: number) => Math.round(x * 100) / 100;
  return { probes: xs.length, medianMs: r(median(xs)), p99Ms: r(percentile(xs, 99)), maxMs: r(Math.max(...xs)) };
}

/**
 * Polls `<url>/api/v4/system/ping?get_server_status=true` every 50 ms. Downtime is from the first
 * failed probe (its start) to the start of the first OK probe after it. The round trip of every
 * answered probe is kept (`latenciesMs`): how responsive Mattermost stays while a backup runs.
 */
export class PingWatcher {
  private running = false;
  private loop?: Promise<void>;
  private firstFail?: number;
  private okAfterFail?: number;
  probes = 0;
  failures = 0;
  readonly latenciesMs: number[] = [];

  constructor(private readonly url: string) {}

  static async isUp(url: string, timeoutMs = 1000): Promise<boolean> {
    try {
      const res = await fetch(`${url}/api/v4/system/ping?get_server_status=true`, {
        signal: AbortSignal.timeout(timeoutMs),
      });
      const body = (await res.json().catch(() => ({}))) as { status?: string };
      return res.ok && body.status === 'OK';
    } catch {
      return false;
    }
  }

  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const t = performance.now();
        const ok = await PingWatcher.isUp(this.url, 1000);
        this.probes++;
        if (ok) this.latenciesMs.push(performance.now() - t);
        if (!ok) {
          this.failures++;
          if (this.firstFail === undefined) this.firstFail = t;
        } else if (this.firstFail !== undefined && this.okAfterFail === undefined) {
          this.okAfterFail = t;
        }
        const wait = 50 - (performance.now() - t);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    })();
  }

  /** Stops polling, waiting (up to 30 s) for the server to answer again if it was down. Returns the downtime in ms. */
  async stop(): Promise<number> {
    const deadline = performance.now() + 30_000;
    while (this.firstFail !== undefined && this.okAfterFail === undefined && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    this.running = false;
    await this.loop;
    if (this.firstFail === undefined) return 0;
    if (this.okAfterFail === undefined) throw new Error('Mattermost did not answer ping again');
    return this.okAfterFail - this.firstFail;
  }
}

/** Ping latency of an idle Mattermost: the watcher alone for `ms` milliseconds. */
export async function idleLatency(url: string, ms: number): Promise<number[]> {
  const w = new PingWatcher(url);
  w.start();
  await new Promise((r) => setTimeout(r, ms));
  await w.stop();
  return w.latenciesMs;
}

/** Median of a non-empty list (mean of the middle two for even lengths). */
export function median(xs: readonly number[]): number {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Apparent size (sum of file sizes) and file count of a tree. */
export async function treeSize(dir: string): Promise<{ bytes: number; files: number; diskBytes: number }> {
  let bytes = 0;
  let files = 0;
  let diskBytes = 0;
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else {
        const st = await lstat(p);
        bytes += st.size;
        diskBytes += st.blocks * 512;
        files++;
      }
    }
  };
  await walk(dir);
  return { bytes, files, diskBytes };
}

/** Free bytes and free inodes (for an unprivileged user) of the filesystem holding dir. */
export async function freeSpace(dir: string): Promise<{ bytes: number; inodes: number }> {
  const st = await statfs(dir);
  return { bytes: st.bavail * st.bsize, inodes: st.ffree };
}

/** The machine the figures were taken on. */
export async function describeMachine(dir: string): Promise<Record<string, unknown>> {
  const cpus = os.cpus();
  let disk: Record<string, unknown> = {};
  try {
    const st = await statfs(dir);
    disk = { path: dir, totalBytes: st.blocks * st.bsize, freeBytes: st.bavail * st.bsize };
  } catch {
    /* unknown */
  }
  try {
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' '));
    const best = mounts
      .filter((m) => m[1] && (dir === m[1] || dir.startsWith(m[1].endsWith('/') ? m[1] : `${m[1]}/`)))
      .sort((a, b) => (b[1]?.length ?? 0) - (a[1]?.length ?? 0))[0];
    if (best) {
      disk.device = best[0];
      disk.filesystem = best[2];
      const dev = path.basename(best[0] ?? '').replace(/\d+$/, '');
      const rot = `/sys/block/${dev}/queue/rotational`;
      if (existsSync(rot)) disk.rotational = readFileSync(rot, 'utf8').trim() === '1';
    }
  } catch {
    /* unknown */
  }
  return {
    hostname: os.hostname(),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cores: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryBytes: os.totalmem(),
    node: process.version,
    disk,
  };
}

/** 1, 5 and 15 minute load averages. */
export function loadAverage(): number[] {
  return os.loadavg().map((x) => Math.round(x * 100) / 100);
}
