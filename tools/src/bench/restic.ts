/**
 * restic on the benchmark's tree, as a yardstick next to mm-backup and the manual procedure: the
 * Debian package (installed with apt-get when the bench runs as root and it is missing), a
 * throwaway repository whose password is in a 0600 file named by RESTIC_PASSWORD_FILE (never argv),
 * and its cache inside the bench's temp dir. A missing restic never fails the bench: its columns stay empty.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runProc, type ProcResult } from './measure';

/** restic as found (or installed) on this machine; `bin` is undefined when it is absent, `note` says why. */
export interface ResticTool {
  bin?: string;
  version?: string;
  note: string;
}

/** One restic repository: its directory and the environment every restic call of it gets. */
export interface ResticRepo {
  tool: ResticTool & { bin: string };
  dir: string;
  env: NodeJS.ProcessEnv;
}

/** One measured restic run: wall time, peak memory of the restic process and the summary it printed. */
export interface ResticRun {
  wallMs: number;
  peakRssBytes?: number;
  /** `total_files_processed` of `restic backup --json`'s summary (files it looked at). */
  files?: number;
  summary?: Record<string, any>;
  /** restic's error lines when it made the snapshot but could not read some file (exit code 3). */
  incomplete?: string[];
}

/** A restic call that failed: the bench records it and leaves restic's columns empty. */
export class ResticError extends Error {
  readonly code = 'RESTIC_FAILED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ResticError';
  }
}

async function version(bin: string): Promise<string | undefined> {
  try {
    const r = await runProc([bin, 'version']);
    return r.code === 0 ? r.stdout.trim() : undefined;
  } catch {
    return undefined; // ENOENT: not installed
  }
}

async function aptInstall(log: (s: string) => void): Promise<ProcResult> {
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  log('restic is missing: apt-get install -y restic');
  let r = await runProc(['apt-get', 'install', '-y', 'restic'], { env });
  if (r.code !== 0) {
    // A fresh container has no package lists yet.
    log('apt-get install failed; apt-get update, then again');
    await runProc(['apt-get', 'update'], { env });
    r = await runProc(['apt-get', 'install', '-y', 'restic'], { env });
  }
  return r;
}

/**
 * Finds restic on PATH; when missing and running as root, installs the Debian package. Never throws:
 * when restic cannot be had, `bin` is undefined and `note` says why.
 */
export async function ensureRestic(log: (s: string) => void): Promise<ResticTool> {
  let v = await version('restic');
  if (v) return { bin: 'restic', version: v, note: v };
  if (process.getuid?.() !== 0) {
    return {
      note: 'restic is not installed and the bench is not root, so it did not install it (apt-get install restic)',
    };
  }
  let r: ProcResult | undefined;
  try {
    r = await aptInstall(log);
  } catch (e) {
    log(`apt-get could not run: ${String(e)}`);
  }
  v = await version('restic');
  if (v) return { bin: 'restic', version: v, note: `${v} (installed by the bench with apt-get)` };
  const why = r ? r.stderr.trim().split('\n').slice(-2).join(' ') : 'apt-get could not run';
  return { note: `restic is absent: apt-get install restic failed (${why})` };
}

/** Creates a fresh repository in `dir` (removed first) with a random password in a 0600 file beside it. */
export async function resticInit(tool: ResticTool & { bin: string }, dir: string): Promise<ResticRepo> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(path.dirname(dir), { recursive: true });
  const passwordFile = `${dir}.password`;
  await writeFile(passwordFile, `${randomBytes(24).toString('hex')}\n`, { mode: 0o600 });
  const env: NodeJS.ProcessEnv = {
    RESTIC_REPOSITORY: dir,
    RESTIC_PASSWORD_FILE: passwordFile,
    RESTIC_CACHE_DIR: `${dir}.cache`,
    // No progress lines on stdout: the bench only wants the summary.
    RESTIC_PROGRESS_FPS: '0.016',
  };
  const repo = { tool, dir, env };
  await run(repo, ['init'], false);
  return repo;
}

/** Removes the repository, its password file and its cache. */
export async function resticDrop(repo: ResticRepo): Promise<void> {
  await rm(repo.dir, { recursive: true, force: true });
  await rm(`${repo.dir}.password`, { force: true });
  await rm(`${repo.dir}.cache`, { recursive: true, force: true });
}

/**
 * Runs restic; `okCodes` are exit codes that still mean success (backup's 3: the snapshot was made
 * but a file vanished while it read the tree, as Mattermost's `testfile` does at every
 * `system/ping?get_server_status=true`, which the bench polls).
 */
async function run(repo: ResticRepo, args: string[], measure: boolean, okCodes: number[] = [0]): Promise<ProcResult> {
  const r = await runProc([repo.tool.bin, ...args], { env: repo.env, measureMemory: measure });
  if (r.code === null || !okCodes.includes(r.code)) {
    throw new ResticError(`restic ${args[0] ?? ''} exited with ${r.code}: ${r.stderr.slice(-1500)}`);
  }
  return r;
}

function summaryOf(stdout: string): Record<string, any> | undefined {
  let found: Record<string, any> | undefined;
  for (const l of stdout.split('\n')) {
    if (!l.startsWith('{')) continue;
    try {
      const e = JSON.parse(l) as Record<string, any>;
      if (e.message_type === 'summary') found = e;
    } catch {
      /* not JSON */
    }
  }
  return found;
}

/** `restic backup --json <dir>` with a fixed host, so the second run finds the first as its parent. */
export async function resticBackup(repo: ResticRepo, dir: string): Promise<ResticRun> {
  const r = await run(repo, ['backup', '--json', '--host', 'mm-backup-bench', dir], true, [0, 3]);
  const summary = summaryOf(r.stdout);
  const files = Number(summary?.total_files_processed);
  return {
    wallMs: r.wallMs,
    peakRssBytes: r.peakRssBytes,
    files: Number.isFinite(files) ? files : undefined,
    summary,
    incomplete: r.code === 3 ? r.stdout.split('\n').filter((l) => l.includes('"message_type":"error"')) : undefined,
  };
}

/** `restic restore latest --target <target>` (the tree lands under target/<its absolute path>). */
export async function resticRestore(repo: ResticRepo, target: string): Promise<ResticRun> {
  await mkdir(target, { recursive: true });
  const r = await run(repo, ['restore', 'latest', '--host', 'mm-backup-bench', '--target', target], true);
  return { wallMs: r.wallMs, peakRssBytes: r.peakRssBytes };
}

/** `restic check --read-data`: reads and re-hashes every pack, as `mm-backup verify` re-hashes every object. */
export async function resticCheck(repo: ResticRepo): Promise<ResticRun> {
  const r = await run(repo, ['check', '--read-data'], true);
  return { wallMs: r.wallMs, peakRssBytes: r.peakRssBytes };
}
