/**
 * Finds the PostgreSQL cluster behind Mattermost's DSN on THIS host: physical mode copies the data
 * directory and sets archive_command, so a database elsewhere (or one we cannot find) is refused.
 */
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import path from 'node:path';
import { PreconditionError } from '../../core/errors';
import type { DbTarget } from '../dsn';
import type { OsAccount } from './postgres_account';

export interface LocalCluster {
  dataDir: string;
  /** PG_VERSION's major (15, 16, …). */
  major: number;
  port: number;
  /** The first unix socket directory (postmaster.pid line 5): psql and pgBackRest connect there. */
  socketDir: string;
}

/** True when `host` names this machine: loopback, a socket directory, or one of our addresses. */
export function isLocalHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === '' || h === 'localhost' || h.startsWith('/') || h === '::1' || /^127\./.test(h)) return true;
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.address.toLowerCase() === h) return true;
  }
  return false;
}

/** What postmaster.pid says: pid, data dir, port, socket dir (lines 1, 2, 4, 5). */
export function readPostmasterPid(dataDir: string): { pid: number; port: number; socketDir: string } | undefined {
  let text: string;
  try {
    text = readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || !Number.isInteger(port)) return undefined;
  return { pid, port, socketDir: (lines[4] ?? '').trim() };
}

/**
 * The running postmaster listening on `port`: a postgres process whose working directory (the
 * data directory: PostgreSQL changes into it) holds a postmaster.pid naming it and the port.
 */
export function findDataDirByPort(port: number): string | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      const pm = readPostmasterPid(cwd);
      if (pm && pm.pid === Number(entry) && pm.port === port) return cwd;
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return undefined;
}

/**
 * Locates the cluster serving `db` (or the configured data directory), owned by `owner` (the
 * account pgBackRest runs as); refuses with what to do.
 */
export function locateCluster(db: DbTarget, owner: OsAccount, configuredDataDir?: string): LocalCluster {
  if (db.driver !== 'postgres') {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      'physical mode (pitr) is for PostgreSQL only; this install uses MySQL',
      {
        hint: 'logical dumps remain the way to back up MySQL',
      },
    );
  }
  if (!isLocalHost(db.host)) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `the database is on ${db.host}, not on this host: physical mode must run where PostgreSQL's data directory is`,
      { hint: 'run mm-backup on the database host for physical mode, or keep logical dumps (the default)' },
    );
  }
  const dataDir = configuredDataDir ?? findDataDirByPort(db.port);
  if (!dataDir) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `no running PostgreSQL on this host listens on port ${db.port} (the Mattermost DSN's port): is the database on another host or in a container?`,
      { hint: "run mm-backup on the database host, or set pitr.dataDir to the cluster's data directory" },
    );
  }
  const fsError = (err: unknown): PreconditionError => {
    const code = (err as NodeJS.ErrnoException).code;
    return new PreconditionError(
      'PRECONDITION_FAILED',
      code === 'EACCES' || code === 'EPERM'
        ? `no access to the PostgreSQL data directory ${dataDir} (${code})`
        : `${dataDir} is not a PostgreSQL data directory (${code ?? String(err)})`,
      { cause: err, hint: 'run as root on the database host, and check pitr.dataDir' },
    );
  };
  let uid: number;
  try {
    uid = statSync(dataDir).uid;
  } catch (err) {
    throw fsError(err);
  }
  if (uid !== owner.uid) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `no access to the PostgreSQL data directory ${dataDir}: it belongs to uid ${uid}, not to ${owner.name}, the account pgBackRest runs as`,
      {
        hint: "check pitr.dataDir; a cluster run by another account is not supported (pgBackRest must run as the cluster's owner)",
      },
    );
  }
  let versionText: string;
  try {
    versionText = readFileSync(path.join(dataDir, 'PG_VERSION'), 'utf8');
  } catch (err) {
    throw fsError(err);
  }
  const major = Number(versionText.trim().split('.')[0]);
  const pm = readPostmasterPid(dataDir);
  if (!pm) {
    throw new PreconditionError('PRECONDITION_FAILED', `PostgreSQL is not running in ${dataDir} (no postmaster.pid)`, {
      hint: 'start PostgreSQL, then run pitr enable again',
    });
  }
  if (pm.port !== db.port) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `the cluster in ${dataDir} listens on port ${pm.port}, but Mattermost's DSN uses ${db.port}: pitr.dataDir names another cluster`,
      { hint: 'set pitr.dataDir to the data directory of the cluster Mattermost uses' },
    );
  }
  if (!pm.socketDir) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      'PostgreSQL listens on no unix socket (unix_socket_directories is empty)',
      {
        hint: 'pgBackRest and mm-backup connect as postgres through the local socket: set unix_socket_directories',
      },
    );
  }
  return { dataDir, major, port: pm.port, socketDir: pm.socketDir };
}
