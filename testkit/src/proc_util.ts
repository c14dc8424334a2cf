/**
 * Small process helpers shared by the kit: run a command (argv array, never a shell), run it as a
 * service account when we are root, poll until something is ready, and read log tails for errors.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { chown, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** An OS account from /etc/passwd. */
export interface SystemUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** Looks `name` up in /etc/passwd; undefined when it does not exist. */
export function lookupSystemUser(name: string): SystemUser | undefined {
  let passwd: string;
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 7) {
      return { name, uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '/' };
    }
  }
  return undefined;
}

/** True when this process runs as root (database servers then have to run as their own accounts). */
export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * The account a database server should run as: `name` when we are root (initdb and mariadbd refuse
 * to run as root), otherwise undefined, meaning "as the current user".
 */
export function serviceAccount(name: string): SystemUser | undefined {
  if (!isRoot()) return undefined;
  const user = lookupSystemUser(name);
  if (!user) throw new Error(`running as root, but the OS user '${name}' to run the database server as does not exist`);
  return user;
}

/** Outcome of runCommand; a non-zero exit is not an exception, callers decide. */
export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Options for runCommand. */
export interface CommandOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  user?: SystemUser;
  timeoutMs?: number;
}

/** Runs `cmd args` (no shell) to completion, optionally as `user`; rejects only if it cannot be spawned or times out. */
export function runCommand(cmd: string, args: readonly string[], opts: CommandOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], {
      cwd: opts.cwd,
      env: opts.user
        ? { ...(opts.env ?? process.env), HOME: opts.user.home, USER: opts.user.name, LOGNAME: opts.user.name }
        : (opts.env ?? process.env),
      uid: opts.user?.uid,
      gid: opts.user?.gid,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout = (stdout + c).slice(-1_000_000);
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr = (stderr + c).slice(-1_000_000);
    });
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs) {
      timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${cmd} ${args.join(' ')} did not finish within ${opts.timeoutMs} ms`));
      }, opts.timeoutMs);
    }
    child.on('error', (err) => {
      if (timer) clearTimeout(timer);
      reject(new Error(`could not run ${cmd}: ${err.message}`, { cause: err }));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Like runCommand, but rejects with stdout/stderr tails when the exit code is not 0. */
export async function runChecked(
  cmd: string,
  args: readonly string[],
  opts: CommandOptions = {},
): Promise<CommandResult> {
  const r = await runCommand(cmd, args, opts);
  if (r.code !== 0) {
    const out = `${r.stderr.trim()}\n${r.stdout.trim()}`.trim().split('\n').slice(-15).join('\n');
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.signal ? `signal ${r.signal}` : `exit ${r.code}`}):\n${out}`);
  }
  return r;
}

/** chown -R, without following symlinks. */
export async function chownTree(path: string, uid: number, gid: number): Promise<void> {
  const st = await lstat(path);
  if (st.isSymbolicLink()) return;
  await chown(path, uid, gid);
  if (st.isDirectory()) {
    for (const name of await readdir(path)) await chownTree(join(path, name), uid, gid);
  }
}

/** The last `maxBytes` of a file as text ('' if unreadable); used to put server logs into errors. */
export function tailFile(path: string, maxBytes = 4000): string {
  try {
    const size = statSync(path).size;
    const len = Math.min(size, maxBytes);
    const buf = Buffer.alloc(len);
    const fd = openSync(path, 'r');
    try {
      readSync(fd, buf, 0, len, size - len);
    } finally {
      closeSync(fd);
    }
    return buf.toString('utf8');
  } catch {
    return '';
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Synchronous sleep for exit handlers, which cannot await. */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Polls `probe` until it returns a value other than undefined; throws `describe()` (called lazily, so it
 * can read a log tail) with the last probe error after `timeoutMs`, or at once if `abort()` says so.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  opts: { timeoutMs: number; intervalMs?: number; describe: (lastError: unknown) => string; abort?: () => boolean },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (opts.abort?.() || Date.now() > deadline) throw new Error(opts.describe(lastError));
    await sleep(opts.intervalMs ?? 100);
  }
}

/**
 * True while `pid` is a live process. A zombie (exited, not yet reaped, e.g. under a PID 1 that
 * does not reap) counts as gone, since kill(pid, 0) alone would report it alive forever.
 */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true; // no procfs: trust kill(0)
  }
}

/** Sends `sig` to `pid`, ignoring "no such process". */
export function signalPid(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Waits up to `timeoutMs` for `pid` to exit; returns whether it did. */
export async function waitPidGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pidAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/** Error message text of an unknown thrown value. */
export function errText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
