/**
 * The data directory of an in-place physical restore: checked to be one a rename can move
 * (a plain directory on its parent's filesystem, pg_wal inside it, no tablespaces), moved aside by
 * rename (never copied, never deleted) and put back the same way. The parent directory usually
 * belongs to postgres, so nothing here follows a path postgres could swap for a link while root
 * acts on it: the new directory is chowned on a no-follow handle, and a failed restored copy is
 * deleted by `rm` running AS postgres (it can only delete what postgres could delete anyway).
 */
import { lstat, mkdir, readdir, rename, rmdir, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { PreconditionError } from '../../core/errors';
import { runProcess } from '../../process/run_process';
import { asAccount, type OsAccount } from './postgres_account';
import { chownDirNoFollow } from './safe_fs';

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
      'restore into an empty directory instead (restore --at … --pg-data-dir, docs/pitr.md), or mount the filesystem one level up',
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
  // By handle, never by path: postgres owns the parent and could swap in a link to /etc meanwhile.
  await chownDirNoFollow(dataDir, { uid: owner.uid, gid: owner.gid }, 0o700);
}

/**
 * Puts `aside` back as `dataDir`. What stands at `dataDir` (a half or fully restored copy, made
 * from the repository and holding nothing else) is renamed away, the old one renamed back, and
 * then the renamed copy is deleted as `account` (`rm -rf` run as postgres: root never walks a tree
 * postgres can change). When that deletion fails, `warn` says what is left to delete by hand.
 * Idempotent: nothing to do when `aside` is gone and `dataDir` exists (already put back).
 */
export async function putBackAside(
  dataDir: string,
  aside: string,
  account: OsAccount,
  o: { signal?: AbortSignal; warn?: (message: string) => void } = {},
): Promise<'put back' | 'already back'> {
  if (!(await lstat(aside).catch(() => undefined))) {
    if (await lstat(dataDir).catch(() => undefined)) return 'already back';
    throw new PreconditionError('PRECONDITION_FAILED', `neither ${dataDir} nor ${aside} exists`);
  }
  let doomed: string | undefined;
  if (await lstat(dataDir).catch(() => undefined)) {
    // Renamed (rename never follows a link), so a crash during the deletion never leaves a partial dataDir.
    doomed = `${path.resolve(dataDir)}.failed-restore-${process.pid}-${Date.now()}`;
    await rename(dataDir, doomed);
  }
  await rename(aside, dataDir);
  if (doomed) await deleteAsAccount(doomed, account, o);
  return 'put back';
}

/** `rm -rf -- dir` as `account`; what it cannot remove (the top entry in a root-owned parent) root removes only if empty. */
export async function deleteAsAccount(
  dir: string,
  account: OsAccount,
  o: { signal?: AbortSignal; warn?: (message: string) => void },
): Promise<void> {
  let why = '';
  await runProcess('rm', ['-rf', '--', dir], asAccount(account, { signal: o.signal, stdout: 'ignore' })).catch(
    (err: unknown) => {
      why = (err as Error).message;
    },
  );
  const st = await lstat(dir).catch(() => undefined);
  if (!st) return;
  // rmdir never follows a link and removes only an empty directory: nothing else can be lost.
  if (
    st.isDirectory() &&
    (await rmdir(dir)
      .then(() => true)
      .catch(() => false))
  ) {
    return;
  }
  o.warn?.(
    `${dir} (a failed restored copy) could not be deleted as ${account.name}${why ? ` (${why})` : ''}: delete it by hand`,
  );
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
