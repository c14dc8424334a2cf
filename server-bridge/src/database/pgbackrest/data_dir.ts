/**
 * The data directory of an in-place physical restore: checked to be one a rename can move
 * (a plain directory on its parent's filesystem, pg_wal inside it, no tablespaces), moved aside by
 * rename (never copied, never deleted) and put back the same way.
 */
import { chown, lstat, mkdir, readdir, rename, rm, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { PreconditionError } from '../../core/errors';
import type { OsAccount } from './postgres_account';

/** What a restore moved aside names itself by: `<data dir>.before-restore-<UTC stamp>`. */
export const ASIDE_MARK = '.before-restore-';

export function asidePath(dataDir: string, at: Date): string {
  return `${path.resolve(dataDir)}${ASIDE_MARK}${at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}`;
}

/**
 * Refuses (nothing changed) a data directory a rename cannot move safely: a link or a mount
 * point (rename would fail or cross filesystems), a pg_wal linked elsewhere or tablespaces
 * (the restore would write into directories the moved-aside copy still uses).
 */
export async function checkMovable(dataDir: string): Promise<void> {
  const refuse = (why: string, hint: string) =>
    new PreconditionError('PRECONDITION_FAILED', `the data directory ${dataDir} ${why}`, { hint });
  const st = await lstat(dataDir).catch(() => undefined);
  if (!st?.isDirectory()) {
    throw refuse('is not a plain directory (a link, or missing)', 'set pitr.dataDir to the real path');
  }
  const parent = await stat(path.dirname(path.resolve(dataDir)));
  if (parent.dev !== st.dev) {
    throw refuse(
      'is a mount point: it cannot be moved aside by a rename',
      'restore onto a new host (--pg-data-dir, not yet available), or mount the filesystem one level up',
    );
  }
  if ((await lstat(path.join(dataDir, 'pg_wal')).catch(() => undefined))?.isSymbolicLink()) {
    throw refuse(
      'has pg_wal linked to another place',
      'an in-place point-in-time restore needs pg_wal inside the data directory',
    );
  }
  if ((await readdir(path.join(dataDir, 'pg_tblspc')).catch(() => [])).length) {
    throw refuse(
      'uses tablespaces',
      'an in-place point-in-time restore of a cluster with tablespaces is not supported',
    );
  }
}

/** Free bytes on the filesystem the restored directory is written to (the data directory's parent). */
export async function freeBytesBeside(dataDir: string): Promise<number> {
  const s = await statfs(path.dirname(path.resolve(dataDir)));
  return s.bavail * s.bsize;
}

/** Renames `dataDir` to `aside` and makes an empty `dataDir` owned by `owner`, 0700 (what initdb makes). */
export async function moveAside(dataDir: string, aside: string, owner: OsAccount): Promise<void> {
  await rename(dataDir, aside);
  await mkdir(dataDir, { mode: 0o700 });
  await chown(dataDir, owner.uid, owner.gid);
}

/**
 * Puts `aside` back as `dataDir`. What stands at `dataDir` (a half or fully restored copy, made
 * from the repository and holding nothing else) is removed first. Idempotent: nothing to do when
 * `aside` is gone and `dataDir` exists (already put back).
 */
export async function putBackAside(dataDir: string, aside: string): Promise<'put back' | 'already back'> {
  if (!(await lstat(aside).catch(() => undefined))) {
    if (await lstat(dataDir).catch(() => undefined)) return 'already back';
    throw new PreconditionError('PRECONDITION_FAILED', `neither ${dataDir} nor ${aside} exists`);
  }
  if (await lstat(dataDir).catch(() => undefined)) {
    // Renamed before removal, so a crash half-way through rm never leaves a partial dataDir behind.
    const doomed = `${path.resolve(dataDir)}.failed-restore-${process.pid}-${Date.now()}`;
    await rename(dataDir, doomed);
    await rm(doomed, { recursive: true, force: true });
  }
  await rename(aside, dataDir);
  return 'put back';
}

/** Directories earlier restores moved aside next to `dataDir`, oldest first. */
export async function listAside(dataDir: string): Promise<string[]> {
  const dir = path.dirname(path.resolve(dataDir));
  const base = path.basename(path.resolve(dataDir)) + ASIDE_MARK;
  return (await readdir(dir).catch(() => [] as string[]))
    .filter((n) => n.startsWith(base))
    .sort()
    .map((n) => path.join(dir, n));
}
