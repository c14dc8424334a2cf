/**
 * pgBackRest runs as postgres, so postgres must be able to walk down to its repository and to our
 * config directory. Our repository root is 0700 root: the one change we may make is to let the
 * postgres group traverse it (g+x, group postgres: no listing, no reading); any other blocked
 * directory is refused before anything changes.
 */
import { lstat, stat } from 'node:fs/promises';
import path from 'node:path';
import { PreconditionError } from '../core/errors';
import type { OsAccount } from '../database/pgbackrest/postgres_account';
import { chownDirNoFollow, ensureOwnedDir } from '../database/pgbackrest/safe_fs';

export interface AccessGrant {
  path: string;
  gid: number;
  mode: number;
}

function traversable(st: { uid: number; gid: number; mode: number }, a: OsAccount): boolean {
  if (st.uid === a.uid) return (st.mode & 0o100) !== 0;
  if (st.gid === a.gid) return (st.mode & 0o010) !== 0;
  return (st.mode & 0o001) !== 0;
}

/**
 * Checks every existing ancestor of `target` (up to the first missing one). Returns the grant to
 * make on `grantable` (our repository root) when that is the only obstacle; throws otherwise.
 */
export async function planAccess(
  target: string,
  a: OsAccount,
  what: string,
  grantable?: string,
): Promise<AccessGrant | undefined> {
  let grant: AccessGrant | undefined;
  const parts = path.resolve(target).split('/').filter(Boolean);
  for (let i = 0; i < parts.length; i++) {
    const dir = `/${parts.slice(0, i).join('/')}`;
    let st;
    try {
      st = await stat(dir);
    } catch {
      break; // created later, by us, with the right owner
    }
    if (traversable(st, a)) continue;
    if (grantable && path.resolve(grantable) === dir && st.uid === process.getuid?.()) {
      grant = { path: dir, gid: st.gid, mode: st.mode & 0o7777 };
      continue;
    }
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `${a.name} cannot reach ${what} ${target}: ${dir} is closed to it`,
      {
        hint: `choose a place ${a.name} can reach (pitr.repoPath, pitr.configDir), or let it through: chmod o+x ${dir}`,
      },
    );
  }
  return grant;
}

/** Makes the grant: group postgres and g+x on the repository root, on a no-follow handle (a link there is refused). */
export async function applyGrant(g: AccessGrant, a: OsAccount): Promise<void> {
  await chownDirNoFollow(g.path, { uid: (await lstat(g.path)).uid, gid: a.gid }, (g.mode | 0o010) & ~0o020 & 0o7777);
}

/**
 * Creates `dir` owned by the account, 0700. `trusted` is the part of the path only root can change
 * (the mm-backup repository root, when `dir` is inside it: a repository writer can plant links
 * below it): under it, a symbolic link or non-directory is refused and nothing is changed.
 */
export async function makeOwnedDir(dir: string, a: OsAccount, trusted?: string): Promise<void> {
  const inside = trusted && !path.relative(path.resolve(trusted), path.resolve(dir)).startsWith('..');
  await ensureOwnedDir(dir, { uid: a.uid, gid: a.gid }, 0o700, inside ? trusted : undefined);
}
