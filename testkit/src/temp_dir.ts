/**
 * Temporary directories and ports for tests, plus exit-time cleanup. Tests that crash or forget
 * afterAll must not leave database servers running or GBs in /tmp, so everything the kit creates
 * registers two cleanups: a synchronous one run by this process at exit, and one handed to a tiny
 * "reaper" child process that acts when our end of its stdin pipe closes. The reaper is what works
 * under jest (whose sandboxed `process` never emits 'exit' to test code) and after SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Cleanup = () => void;

/** What the reaper does if this process dies without cleaning up: remove a directory, or signal the process in a pid file. */
export type ReaperItem =
  | { kind: 'dir'; path: string }
  | {
      kind: 'pidfile';
      path: string;
      signal: 'SIGQUIT' | 'SIGTERM' | 'SIGKILL';
      /** regex the process's /proc cmdline must match (guards against recycled pids) */ match: string;
    };

interface Registry {
  /** Insertion-ordered; run in reverse so servers stop before their directories are removed. */
  cleanups: Map<number, Cleanup>;
  next: number;
  hooked: boolean;
  reaper?: ChildProcess;
}

// Stored on `process` under a global symbol so that copies of this module loaded in one process
// share one registry (under jest each test file gets its own `process` object and so its own).
const KEY = Symbol.for('mm-backup.testkit.cleanup-registry');
const holder = process as unknown as Record<symbol, Registry | undefined>;
const registry: Registry = holder[KEY] ?? (holder[KEY] = { cleanups: new Map(), next: 1, hooked: false });

// The reaper: reads "add"/"del" lines; on EOF (we died or exited) kills registered servers, waits
// for them, then removes registered directories. Detached, so a Ctrl-C aimed at us does not hit it.
const REAPER_JS = `
const fs = require('fs');
const items = new Map();
let buf = '';
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const alive = (pid) => {
  try { process.kill(pid, 0); } catch (e) { return e.code === 'EPERM'; }
  try { const s = fs.readFileSync('/proc/' + pid + '/stat', 'utf8'); const st = s[s.lastIndexOf(')') + 2]; return st !== 'Z' && st !== 'X'; } catch { return true; }
};
function cleanup() {
  const list = [...items.values()].reverse();
  const pids = [];
  for (const it of list) {
    if (it.kind !== 'pidfile') continue;
    try {
      const pid = Number(fs.readFileSync(it.path, 'utf8').split('\\n')[0]);
      if (!(pid > 0) || !alive(pid)) continue;
      let cmd = null;
      try { cmd = fs.readFileSync('/proc/' + pid + '/cmdline', 'utf8'); } catch {}
      if (cmd !== null && !new RegExp(it.match).test(cmd)) continue;
      process.kill(pid, it.signal);
      pids.push(pid);
    } catch {}
  }
  for (let i = 0; i < 100 && pids.some(alive); i++) sleep(100);
  for (const p of pids) if (alive(p)) { try { process.kill(p, 'SIGKILL'); } catch {} }
  for (let i = 0; i < 30 && pids.some(alive); i++) sleep(100);
  for (const it of list) if (it.kind === 'dir') { try { fs.rmSync(it.path, { recursive: true, force: true }); } catch {} }
  process.exit(0);
}
process.on('SIGINT', () => {});
process.on('SIGHUP', () => {});
process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => {
  buf += c;
  let i;
  while ((i = buf.indexOf('\\n')) >= 0) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    try { const m = JSON.parse(line); if (m.op === 'add') items.set(m.id, m.item); else items.delete(m.id); } catch {}
  }
});
process.stdin.on('end', cleanup);
process.stdin.on('error', cleanup);
`;

function reaperSend(msg: { op: 'add'; id: number; item: ReaperItem } | { op: 'del'; id: number }): void {
  if (process.env.MMTK_NO_REAPER) return;
  if (!registry.reaper || registry.reaper.exitCode !== null) {
    const child = spawn(process.execPath, ['-e', REAPER_JS], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    child.on('error', () => {
      /* no reaper: the in-process exit hooks still run */
    });
    child.stdin?.on('error', () => undefined);
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.(); // must not keep the event loop (or jest) alive
    registry.reaper = child;
  }
  registry.reaper.stdin?.write(`${JSON.stringify(msg)}\n`);
}

function runAllCleanups(): void {
  const entries = [...registry.cleanups.entries()].reverse();
  registry.cleanups.clear();
  for (const [, fn] of entries) {
    try {
      fn();
    } catch {
      // Best effort: one failing cleanup must not keep the others from running.
    }
  }
}

function hookProcess(): void {
  if (registry.hooked) return;
  registry.hooked = true;
  process.on('exit', runAllCleanups);
  // Node's default for these signals skips 'exit' handlers; clean up, then re-raise the signal so
  // the exit status still says "killed by SIGINT/SIGTERM" unless someone else handles it.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      runAllCleanups();
      process.removeListener(sig, onSignal);
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

/**
 * Registers a synchronous cleanup to run at process exit (LIFO), and optionally the equivalent
 * reaper action for deaths the process cannot see; returns a function that unregisters both.
 */
export function registerExitCleanup(fn: () => void, reaper?: ReaperItem): () => void {
  hookProcess();
  const id = registry.next++;
  registry.cleanups.set(id, fn);
  if (reaper) reaperSend({ op: 'add', id, item: reaper });
  return () => {
    registry.cleanups.delete(id);
    if (reaper) reaperSend({ op: 'del', id });
  };
}

const tempDirs = new Map<string, () => void>();

/** Creates a fresh directory `<os.tmpdir()>/<prefix>XXXXXX` (mode 0700) that is removed at process exit unless `keep`. */
export async function makeTempDir(prefix: string, opts: { keep?: boolean } = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), sanitizePrefix(prefix)));
  if (!opts.keep) {
    tempDirs.set(
      dir,
      registerExitCleanup(() => rmSync(dir, { recursive: true, force: true }), { kind: 'dir', path: dir }),
    );
  }
  return dir;
}

/** Synchronous twin of makeTempDir, for places that cannot await (module setup). */
export function makeTempDirSync(prefix: string, opts: { keep?: boolean } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), sanitizePrefix(prefix)));
  if (!opts.keep) {
    tempDirs.set(
      dir,
      registerExitCleanup(() => rmSync(dir, { recursive: true, force: true }), { kind: 'dir', path: dir }),
    );
  }
  return dir;
}

/** Removes a directory made by makeTempDir now (rm -rf) and forgets it. */
export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  tempDirs.get(dir)?.();
  tempDirs.delete(dir);
}

/** Keeps a directory made by makeTempDir after exit (e.g. to inspect a failed test). */
export function keepTempDir(dir: string): void {
  tempDirs.get(dir)?.();
  tempDirs.delete(dir);
}

function sanitizePrefix(prefix: string): string {
  // mkdtemp appends six random characters; keep the prefix short because PostgreSQL and MariaDB
  // put unix sockets inside these directories and socket paths are limited to ~107 bytes.
  const clean = prefix.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 40);
  return clean.endsWith('-') ? clean : `${clean}-`;
}

/** A TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read it, close). Callers should retry on EADDRINUSE. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('could not determine a free port'))));
    });
  });
}
