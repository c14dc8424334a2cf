/**
 * Service control for the stand-in, shaped like `systemctl start|stop|status mattermost`: start
 * returns only once /api/v4/system/ping answers (Type=notify), stop waits until the process is gone.
 * Also the helpers tests use to build mm-backup's service.start / service.stop argv.
 */
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { kitRoot } from '../kit_root';
import { pidAlive, runCommand, signalPid, sleep, tailFile, waitPidGone } from '../proc_util';
import { registerExitCleanup } from '../temp_dir';

/** Options that shape the stand-in's start command. */
export interface StandinCommandOptions {
  port?: number;
  writer?: boolean;
  writerIntervalMs?: number;
  /** Pretend to be this Mattermost version instead of the one in bin/mattermost. */
  version?: string;
  /** How long the server waits for its database at boot. */
  dbWaitMs?: number;
}

/** The stand-in's state files inside a state directory. */
export function standinStateFiles(stateDir: string): { pid: string; state: string; log: string; violations: string } {
  return {
    pid: join(stateDir, 'standin.pid'),
    state: join(stateDir, 'standin.json'),
    log: join(stateDir, 'standin.log'),
    violations: join(stateDir, 'violations.ndjson'),
  };
}

/** Contents of standin.json, written by the server once it listens. */
export interface StandinStateFile {
  pid: number;
  port: number;
  url: string;
  installDir: string;
  version: string;
  startedAt: string;
}

/** Absolute path of the compiled stand-in entry (testkit/dist/standin/main.js), whether called from src or dist. */
export function standinMainPath(): string {
  return join(kitRoot(), 'dist', 'standin', 'main.js');
}

/** argv arrays for mm-backup's service.start / service.stop (and a status probe) controlling a stand-in. */
export function standinCommands(
  stateDir: string,
  installDir: string,
  opts: StandinCommandOptions = {},
): { start: string[]; stop: string[]; status: string[] } {
  const main = standinMainPath();
  const state = resolve(stateDir);
  const start = [process.execPath, main, 'start', '--state', state, '--install', resolve(installDir)];
  if (opts.port !== undefined) start.push('--port', String(opts.port));
  if (opts.writer) start.push('--writer');
  if (opts.writerIntervalMs !== undefined) start.push('--writer-interval-ms', String(opts.writerIntervalMs));
  if (opts.version !== undefined) start.push('--version', opts.version);
  if (opts.dbWaitMs !== undefined) start.push('--db-wait-ms', String(opts.dbWaitMs));
  return {
    start,
    stop: [process.execPath, main, 'stop', '--state', state],
    status: [process.execPath, main, 'status', '--state', state],
  };
}

/** Base URL of a stand-in listening on `port` (127.0.0.1). */
export function standinUrl(port: number): string {
  return `http://127.0.0.1:${port}`;
}

/** Runs a command from standinCommands and resolves with its exit code and output. */
export async function runStandinCommand(
  argv: readonly string[],
  timeoutMs = 90_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error('empty command');
  return runCommand(cmd, args, { timeoutMs });
}

/** Reads standin.json, or undefined. */
export function readStandinState(stateDir: string): StandinStateFile | undefined {
  try {
    return JSON.parse(readFileSync(standinStateFiles(stateDir).state, 'utf8')) as StandinStateFile;
  } catch {
    return undefined;
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** True if `pid` is alive and (where /proc can tell) really a stand-in server, not a recycled pid. */
function isStandinPid(pid: number): boolean {
  if (!pidAlive(pid)) return false;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmdline.some((a) => a.endsWith(join('standin', 'main.js'))) && cmdline.includes('run');
  } catch {
    return true;
  }
}

/** The pid of the running stand-in for `stateDir`, or undefined. */
export function standinPid(stateDir: string): number | undefined {
  const pid = readPid(standinStateFiles(stateDir).pid);
  return pid !== undefined && isStandinPid(pid) ? pid : undefined;
}

/**
 * Has the stand-in of `stateDir` killed when this process exits, or dies without stopping it (a
 * test run killed by a signal runs no afterAll): the kit's reaper reads the pid file then, so it
 * finds the one running at that moment (a restore's service.start may have started another).
 * Returns the function that disarms it (after a stop).
 */
export function reapStandinAtExit(stateDir: string): () => void {
  return registerExitCleanup(
    () => {
      const pid = standinPid(stateDir);
      if (pid !== undefined) signalPid(pid, 'SIGKILL');
    },
    { kind: 'pidfile', path: standinStateFiles(stateDir).pid, signal: 'SIGTERM', match: 'standin' },
  );
}

/** Parsed command-line options of main.js. */
export interface StandinCliOptions extends StandinCommandOptions {
  state?: string;
  install?: string;
  startTimeoutMs?: number;
  stopTimeoutMs?: number;
}

/** `start`: spawn `run` detached, exit 0 once ping answers (0 too if already running), 1 with the log tail if it dies or times out. */
export async function cliStart(o: StandinCliOptions): Promise<number> {
  if (!o.state || !o.install) throw new Error('start needs --state DIR and --install DIR');
  const files = standinStateFiles(o.state);
  mkdirSync(o.state, { recursive: true });
  const running = standinPid(o.state);
  if (running !== undefined) {
    process.stdout.write(`stand-in already running (pid ${running})\n`);
    return 0;
  }
  rmSync(files.state, { force: true });
  const args = [standinMainPath(), 'run', '--state', resolve(o.state), '--install', resolve(o.install)];
  if (o.port !== undefined) args.push('--port', String(o.port));
  if (o.writer) args.push('--writer');
  if (o.writerIntervalMs !== undefined) args.push('--writer-interval-ms', String(o.writerIntervalMs));
  if (o.version !== undefined) args.push('--version', o.version);
  if (o.dbWaitMs !== undefined) args.push('--db-wait-ms', String(o.dbWaitMs));
  const logStart = existsSync(files.log) ? statSync(files.log).size : 0;
  const out = openSync(files.log, 'a');
  const child = spawn(process.execPath, args, {
    cwd: resolve(o.install),
    detached: true,
    stdio: ['ignore', out, out],
    env: process.env,
  });
  closeSync(out);
  let exited: string | undefined;
  child.on('exit', (code, sig) => {
    exited = sig ? `killed by ${sig}` : `exit code ${code}`;
  });
  child.on('error', (e) => {
    exited = e.message;
  });
  child.unref();
  if (child.pid === undefined) throw new Error('could not spawn the stand-in');
  writeFileSync(files.pid, `${child.pid}\n`);
  const newLog = () => {
    const text = tailFile(files.log, 64 * 1024);
    const grown = (existsSync(files.log) ? statSync(files.log).size : 0) - logStart;
    return grown > 0 ? text.slice(-Math.min(grown, 4000)) : '';
  };
  const deadline = Date.now() + (o.startTimeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    if (exited) {
      rmSync(files.pid, { force: true });
      process.stderr.write(`stand-in failed to start (${exited}):\n${newLog()}\n`);
      return 1;
    }
    const st = readStandinState(o.state);
    if (st && st.pid === child.pid) {
      try {
        const res = await fetch(`${st.url}/api/v4/system/ping`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        if (res.status === 200) {
          process.stdout.write(`stand-in started (pid ${child.pid}) on ${st.url}\n`);
          return 0;
        }
      } catch {
        // not answering yet
      }
    }
    await sleep(50);
  }
  signalPid(child.pid, 'SIGKILL');
  rmSync(files.pid, { force: true });
  process.stderr.write(`stand-in did not answer ping within ${o.startTimeoutMs ?? 60_000} ms:\n${newLog()}\n`);
  return 1;
}

/** `stop`: SIGTERM, wait until gone (SIGKILL after the timeout, default 10 s); 0 also when not running. */
export async function cliStop(o: StandinCliOptions): Promise<number> {
  if (!o.state) throw new Error('stop needs --state DIR');
  const files = standinStateFiles(o.state);
  const pid = standinPid(o.state);
  if (pid === undefined) {
    rmSync(files.pid, { force: true });
    rmSync(files.state, { force: true });
    process.stdout.write('stand-in not running\n');
    return 0;
  }
  signalPid(pid, 'SIGTERM');
  if (!(await waitPidGone(pid, o.stopTimeoutMs ?? 10_000))) {
    process.stderr.write(`stand-in (pid ${pid}) ignored SIGTERM; sending SIGKILL\n`);
    signalPid(pid, 'SIGKILL');
    if (!(await waitPidGone(pid, 5000))) {
      process.stderr.write(`stand-in (pid ${pid}) is still alive\n`);
      return 1;
    }
  }
  rmSync(files.pid, { force: true });
  rmSync(files.state, { force: true });
  process.stdout.write(`stand-in stopped (pid ${pid})\n`);
  return 0;
}

/** `status`: 0 and the state JSON when running, 3 (systemd's "not running") otherwise. */
export function cliStatus(o: StandinCliOptions): number {
  if (!o.state) throw new Error('status needs --state DIR');
  const pid = standinPid(o.state);
  if (pid === undefined) {
    process.stdout.write('stand-in not running\n');
    return 3;
  }
  process.stdout.write(`${JSON.stringify(readStandinState(o.state) ?? { pid })}\n`);
  return 0;
}

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

/**
 * Compiles the kit (src into dist) when the stand-in's main.js is missing or older than any kit
 * source, so stand-in tests work without a prior build. The kit is self-contained, so nothing
 * outside it can block the build. Safe to call from parallel jest workers.
 */
export async function ensureStandinBuilt(): Promise<string> {
  const root = kitRoot();
  const main = standinMainPath();
  const srcDir = join(root, 'src');
  const fresh = () => existsSync(main) && statSync(main).mtimeMs >= newestMtime(srcDir);
  if (fresh()) return main;
  const lock = join(root, 'dist', '.build.lock');
  mkdirSync(dirname(lock), { recursive: true });
  for (let i = 0; ; i++) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // another worker is compiling; take over a lock older than 2 minutes (a crashed build)
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 120_000) {
        rmSync(lock, { recursive: true, force: true });
      }
      if (i > 1200) throw new Error(`timed out waiting for ${lock}`);
      await sleep(100);
    }
  }
  try {
    if (fresh()) return main;
    const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
    const r = await runCommand(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
      cwd: root,
      timeoutMs: 300_000,
    });
    if (!existsSync(main)) throw new Error(`compiling the test kit failed:\n${r.stdout}${r.stderr}`);
    if (r.code !== 0) process.stderr.write(`test kit compiled with type errors:\n${r.stdout}\n`);
    return main;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
