/**
 * Where file indexes are spooled while a process works: one private directory per process under
 * the system temp dir (TMPDIR), removed at exit; one left by a process that died is removed by the
 * next job's staging cleanup. About 150 bytes per file of each index in use.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const PREFIX = 'mm-backup-index-';
let dir: string | undefined;

/** This process's spool directory (0700), made on first use. */
export function spoolDir(): Promise<string> {
  return Promise.resolve(spoolDirSync());
}

/** spoolDir() for a caller that cannot wait (a pack finished inside a synchronous add). */
export function spoolDirSync(): string {
  if (!dir) {
    const made = mkdtempSync(path.join(os.tmpdir(), `${PREFIX}${process.pid}-`));
    dir = made;
    process.on('exit', () => rmSync(made, { recursive: true, force: true }));
  }
  return dir;
}

/** Removes spool directories of processes that no longer run; returns how many. */
export async function cleanStaleSpoolDirs(): Promise<number> {
  const names = await readdir(os.tmpdir()).catch(() => [] as string[]);
  let n = 0;
  for (const name of names) {
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(name);
    if (!m || Number(m[1]) === process.pid || alive(Number(m[1]))) continue;
    await rm(path.join(os.tmpdir(), name), { recursive: true, force: true });
    n++;
  }
  return n;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
