/**
 * A sandbox that stays up (`npm run sandbox -- --keep` or `-- up`): the database, the Mattermost
 * stand-in and the sidecar (`mm-backup serve`) keep running as detached processes after this one
 * exits, so the kept config points at a live world. <root>/sandbox.json records what was started;
 * `npm run sandbox -- down` reads it, stops every process it names and deletes the temp dirs.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  pidAlive,
  runStandinCommand,
  signalPid,
  standinCommands,
  standinPid,
  stopPostgresAt,
  waitPidGone,
} from '@mm-backup/testkit';
import { CLI, type World } from './world';

export const STATE_FILE = 'sandbox.json';
const ROOT_PREFIX = 'mm-backup-sandbox-';
const PG_PREFIX = 'mmtk-pg-sandbox-';

/** What a kept sandbox started and where it lives; written 0600 into its root. */
export interface KeptState {
  version: 1;
  root: string;
  config: string;
  createdAt: string;
  postgres: { baseDir: string; dataDir: string; port: number; database: string };
  standin: { url: string; stateDir: string };
  sidecar: { pid: number; url: string; log: string };
}

/** Starts the sidecar detached, waits until it answers /healthz, and records the world in sandbox.json. */
export async function keepWorld(w: World): Promise<KeptState> {
  const log = path.join(w.root, 'sidecar.log');
  const fd = openSync(log, 'a', 0o600);
  let pid: number | undefined;
  try {
    const child = spawn(process.execPath, [CLI, '--config', w.cfgFile, 'serve'], {
      cwd: w.root,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    pid = child.pid;
    child.unref();
  } finally {
    closeSync(fd);
  }
  if (pid === undefined) throw new Error('the sidecar (mm-backup serve) could not be started');
  const url = `http://127.0.0.1:${w.sidecarPort}`;
  const state: KeptState = {
    version: 1,
    root: w.root,
    config: w.cfgFile,
    createdAt: new Date().toISOString(),
    postgres: { baseDir: w.pg.baseDir, dataDir: w.pg.dataDir, port: w.pg.port, database: w.sb.dbName },
    standin: { url: w.standinUrl, stateDir: w.standinState },
    sidecar: { pid, url, log },
  };
  // Written before the wait, so that `down` finds the sidecar even if this process dies now.
  await writeFile(path.join(w.root, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await waitHealthy(url, pid, log);
  return state;
}

async function waitHealthy(url: string, pid: number, log: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (!pidAlive(pid)) throw new Error(`the sidecar exited at start-up; its log ${log} says:\n${tail(log)}`);
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new Error(`the sidecar does not answer ${url}/healthz; its log ${log}:\n${tail(log)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-2000);
  } catch {
    return '(no log)';
  }
}

/** The lines a person needs: what runs where, what to try, and how to tear it down. */
export function keptInstructions(s: KeptState): string {
  const cli = `npx mm-backup --config ${s.config}`;
  return [
    `The sandbox stays up (${s.root}):`,
    `  PostgreSQL           127.0.0.1:${s.postgres.port}, database ${s.postgres.database} (data in ${s.postgres.dataDir})`,
    `  Mattermost stand-in  ${s.standin.url}`,
    `  sidecar              ${s.sidecar.url} (mm-backup serve, pid ${s.sidecar.pid}, log ${s.sidecar.log})`,
    '',
    'Try it (from the repository):',
    `  ${cli} list`,
    `  ${cli} backup`,
    `  ${cli} discover`,
    `  curl ${s.sidecar.url}/healthz`,
    '',
    'Tear it down (stops every process it started and deletes its temp directories):',
    `  npm run sandbox -- down ${s.root}`,
  ].join('\n');
}

/** Every kept sandbox in the temp directory (those with a sandbox.json). */
export function keptRoots(): string[] {
  const tmp = os.tmpdir();
  return readdirSync(tmp)
    .filter((n) => n.startsWith(ROOT_PREFIX) && existsSync(path.join(tmp, n, STATE_FILE)))
    .map((n) => path.join(tmp, n));
}

/**
 * Tears a kept sandbox down: the sidecar (SIGTERM, it finishes cleanly), the stand-in (its stop
 * command), PostgreSQL (fast shutdown), then its directories. sandbox.json is input: only our own
 * temp directories are removed, only processes whose command line is ours are signalled, and the
 * stand-in's stop command is built here, never read from the file.
 */
export async function downWorld(root: string, say: (s: string) => void): Promise<void> {
  const dir = path.resolve(root);
  const s = readState(dir);
  const config = ownPath(dir, s.config, 'the config file');
  const cmd = cmdlineOf(s.sidecar.pid);
  if (cmd.includes('mm-backup') && cmd.includes(` --config ${config} serve`)) {
    signalPid(s.sidecar.pid, 'SIGTERM');
    if (!(await waitPidGone(s.sidecar.pid, 30_000))) {
      signalPid(s.sidecar.pid, 'SIGKILL');
      await waitPidGone(s.sidecar.pid, 5000);
    }
    say(`sidecar stopped (pid ${s.sidecar.pid})`);
  }
  const standinDir = ownPath(dir, s.standin.stateDir, 'the stand-in state directory');
  if (standinPid(standinDir) !== undefined) {
    const r = await runStandinCommand(standinCommands(standinDir, dir).stop);
    if (r.code !== 0) throw new Error(`the stand-in did not stop: ${r.stderr.trim() || r.stdout.trim()}`);
    say('Mattermost stand-in stopped');
  }
  const pgBase = tempChild(s.postgres.baseDir, PG_PREFIX, 'the PostgreSQL directory');
  const pgData = ownPath(pgBase, s.postgres.dataDir, 'the PostgreSQL data directory');
  if (await stopPostgresAt(pgData)) say(`PostgreSQL stopped (127.0.0.1:${s.postgres.port})`);
  await rm(pgBase, { recursive: true, force: true });
  await rm(dir, { recursive: true, force: true });
  say(`removed ${pgBase} and ${dir}`);
}

function readState(dir: string): KeptState {
  tempChild(dir, ROOT_PREFIX, 'the sandbox directory');
  let s: KeptState;
  try {
    s = JSON.parse(readFileSync(path.join(dir, STATE_FILE), 'utf8')) as KeptState;
  } catch (err) {
    throw new Error(`${dir} is not a kept sandbox (${STATE_FILE}: ${(err as Error).message})`);
  }
  const ok =
    s.version === 1 &&
    path.resolve(s.root) === dir &&
    Number.isInteger(s.sidecar?.pid) &&
    s.sidecar.pid > 1 &&
    typeof s.config === 'string' &&
    typeof s.standin?.stateDir === 'string' &&
    typeof s.postgres?.baseDir === 'string' &&
    typeof s.postgres.dataDir === 'string';
  if (!ok) throw new Error(`${path.join(dir, STATE_FILE)} does not describe this sandbox; nothing was stopped`);
  return s;
}

/** `p` must be a directory directly in the temp directory whose name starts with `prefix`. */
function tempChild(p: string, prefix: string, what: string): string {
  const abs = path.resolve(p);
  if (path.dirname(abs) !== path.resolve(os.tmpdir()) || !path.basename(abs).startsWith(prefix)) {
    throw new Error(`${what} ${abs} is not a ${prefix}* directory in ${os.tmpdir()}; nothing was removed`);
  }
  return abs;
}

/** `p` must lie inside `parent`. */
function ownPath(parent: string, p: string, what: string): string {
  const abs = path.resolve(p);
  const rel = path.relative(parent, abs);
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) throw new Error(`${what} ${abs} is not inside ${parent}`);
  return abs;
}

function cmdlineOf(pid: number): string {
  if (!pidAlive(pid)) return '';
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}
