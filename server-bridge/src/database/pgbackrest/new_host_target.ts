/**
 * The data directory a restore onto a new host writes: empty or not there yet, never a link,
 * owned by postgres when it exists. It is made (or kept) as postgres's 0700 directory for
 * pgBackRest, and after a failure emptied again by commands run AS postgres (root never walks a
 * tree postgres can change): removed when the restore made it, emptied when it was there before
 * (it may be a mount point, or named in a service's configuration).
 */
import { lstat, readdir, realpath, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { PreconditionError } from '../../core/errors';
import { runProcess } from '../../process/run_process';
import { deleteAsAccount } from './data_dir';
import { asAccount, type OsAccount } from './postgres_account';
import { ensureOwnedDir } from './safe_fs';

export interface NewHostTarget {
  dir: string;
  /** It was there (empty) before the restore: emptied, not removed, after a failure. */
  existed: boolean;
}

/** Refuses (nothing changed) a target that is not an empty directory of `owner`'s or a free name in a directory. */
export async function checkNewHostTarget(dir: string, owner: OsAccount): Promise<NewHostTarget> {
  const refuse = (why: string, hint: string) =>
    new PreconditionError('PRECONDITION_FAILED', `--pg-data-dir ${dir} ${why}; nothing was changed`, { hint });
  if (!path.isAbsolute(dir) || path.resolve(dir) !== dir || dir === '/') {
    throw refuse(
      'must be an absolute, normalized path below /',
      'give the full path, e.g. /var/lib/postgresql/15/main',
    );
  }
  // The target is made and chowned by root through a path others may own parts of (postgres owns
  // /var/lib/postgresql on Debian): prepareNewHostTarget follows no link in it, so refuse one now.
  const refuseLinkAbove = async () => {
    const parent = path.dirname(dir);
    const real = await realpath(parent);
    if (real !== parent) {
      throw refuse(
        `has a symbolic link in its path (${parent} is ${real})`,
        'give the real path: the restore follows no link on its way to the data directory',
      );
    }
  };
  const st = await lstat(dir).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  });
  if (!st) {
    const parent = await stat(path.dirname(dir)).catch(() => undefined);
    if (!parent?.isDirectory()) {
      throw refuse(`has no parent directory ${path.dirname(dir)}`, 'create the parent directory first');
    }
    await refuseLinkAbove();
    return { dir, existed: false };
  }
  if (st.isSymbolicLink()) {
    throw refuse('is a symbolic link', 'give the real directory (the restore writes only into an empty directory)');
  }
  if (!st.isDirectory()) {
    throw refuse('is not a directory', 'give an empty directory, or a name that does not exist yet');
  }
  if (st.uid !== owner.uid) {
    throw refuse(
      `belongs to uid ${st.uid}, not to ${owner.name}`,
      `PostgreSQL runs as ${owner.name}: chown ${owner.name}: ${dir}, or give a name that does not exist yet`,
    );
  }
  await refuseLinkAbove();
  const names = await readdir(dir);
  if (names.length) {
    throw refuse(
      `is not empty (${names.slice(0, 3).join(', ')}${names.length > 3 ? ', …' : ''})`,
      'a restore onto a new host writes only into an empty directory: move what is there away (an existing cluster: use restore --at without --pg-data-dir, in place)',
    );
  }
  return { dir, existed: true };
}

/** A place the restore (or pgBackRest) writes or reads for itself: what it is, and its absolute path. */
export interface KeptApart {
  what: string;
  path: string;
}

/**
 * Refuses (nothing changed) a target that is, lies inside, or contains one of `places`: a file tree
 * the same restore mirrors (it would remove the restored cluster as a file not in its snapshot), or
 * the repository, pgBackRest's config or spool (the cluster would be written among them).
 */
export function checkTargetApart(dir: string, places: KeptApart[]): void {
  const within = (child: string, parent: string) => {
    const rel = path.relative(parent, child);
    return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
  };
  for (const p of places) {
    const other = path.resolve(p.path);
    if (other === '/' || !(within(dir, other) || within(other, dir))) continue;
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `--pg-data-dir ${dir} ${dir === other ? 'is' : within(dir, other) ? 'lies inside' : 'contains'} ${p.what} (${other}); nothing was changed`,
      {
        hint: "give a data directory of its own, outside Mattermost's directories and the repositories (e.g. /var/lib/postgresql/<major>/main)",
      },
    );
  }
}

/**
 * Refuses (nothing changed) a backup holding tablespaces. Not mapped inside the target:
 * pgBackRest 2.45 refuses a tablespace inside PGDATA ("link 'pg_tblspc/<oid>' destination '…' is
 * in PGDATA", seen in the e2e), and restored without a
 * map they would go to their old absolute paths on this host, outside the target: written where
 * the target's checks (owner, emptiness, free space) never looked and left by a failure's cleanup,
 * which removes only the target. Mapping them beside the target would need all of that again.
 * Names come from the repository (whoever wrote it): only oids, numbers, are shown.
 */
export function refuseTablespaces(label: string, tablespaces: Array<{ oid: number }>): void {
  if (!tablespaces.length) return;
  throw new PreconditionError(
    'PRECONDITION_FAILED',
    `backup ${label} holds ${tablespaces.length === 1 ? 'a tablespace' : `${tablespaces.length} tablespaces`} (oid ${tablespaces.map((t) => t.oid).join(', ')}): a restore onto a new host does not restore tablespaces; nothing was changed`,
    {
      hint: 'restore it with pgBackRest by hand (pgbackrest restore --tablespace-map=<name>=<path> as postgres), or move the tables back to pg_default on the old cluster and take a new backup',
    },
  );
}

/** Free bytes where the target's files will be written (its own filesystem when it exists). */
export async function freeBytesAt(t: NewHostTarget): Promise<number> {
  const s = await statfs(t.existed ? t.dir : path.dirname(t.dir));
  return s.bavail * s.bsize;
}

/**
 * Creates the target when missing, then makes it `owner`'s, 0700; refuses one that filled
 * meanwhile. Every component from / down is opened on a no-follow handle (ensureOwnedDir): a
 * parent postgres swapped for a link after the check is refused, nothing is made behind it.
 */
export async function prepareNewHostTarget(t: NewHostTarget, owner: OsAccount): Promise<void> {
  await ensureOwnedDir(t.dir, { uid: owner.uid, gid: owner.gid }, 0o700, '/', { fresh: !t.existed });
  const names = await readdir(t.dir);
  if (names.length) {
    throw new PreconditionError('PRECONDITION_FAILED', `${t.dir} is no longer empty (${names[0]}): not restored into`);
  }
}

/**
 * Removes what the restore wrote: the directory when it made it (rm -rf as `account`, root only
 * rmdirs the emptied top), its contents when it was there before (find -delete as `account`,
 * which never follows a link). Returns what is left to delete by hand, if anything.
 */
export async function cleanNewHostTarget(
  t: NewHostTarget,
  account: OsAccount,
  signal?: AbortSignal,
): Promise<string | undefined> {
  let left: string | undefined;
  if (!t.existed) {
    await deleteAsAccount(t.dir, account, {
      signal,
      warn: (w) => {
        left = w;
      },
    });
    return left;
  }
  const st = await lstat(t.dir).catch(() => undefined);
  if (!st) return undefined;
  if (!st.isDirectory()) return `${t.dir} is no longer a directory: look at it and remove it by hand`;
  let why = '';
  await runProcess(
    'find',
    ['-P', t.dir, '-mindepth', '1', '-delete'],
    asAccount(account, { signal, stdout: 'ignore' }),
  ).catch((err: unknown) => {
    why = (err as Error).message;
  });
  const rest = await readdir(t.dir).catch(() => []);
  return rest.length
    ? `${t.dir} (a failed restored copy) could not be emptied as ${account.name}${why ? ` (${why})` : ''}: empty it by hand`
    : undefined;
}
