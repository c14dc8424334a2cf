/**
 * The `postgres` OS account that pgBackRest, pg_ctl and our superuser psql run as: pgBackRest run
 * as root leaves root-owned files in its repository that later break `archive-push`.
 */
import { readFileSync } from 'node:fs';
import { PreconditionError } from '../../core/errors';
import type { RunOptions } from '../../process/run_process';

export interface OsAccount {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** Looks `name` up in /etc/passwd; undefined when there is no such account. */
export function lookupAccount(name: string, passwdFile = '/etc/passwd'): OsAccount | undefined {
  let text: string;
  try {
    text = readFileSync(passwdFile, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 7) return { name, uid: Number(f[2]), gid: Number(f[3]), home: f[5] || '/' };
  }
  return undefined;
}

/**
 * The postgres account, checked to be one we can act as: we are root (we switch to it) or we are
 * it. Anything else refuses with what to do.
 */
export function postgresAccount(): OsAccount {
  const account = lookupAccount('postgres');
  if (!account) {
    throw new PreconditionError('PRECONDITION_FAILED', 'there is no "postgres" OS account on this host', {
      hint: 'physical mode runs on the PostgreSQL host, where the postgresql packages create the postgres account',
    });
  }
  const me = process.getuid?.();
  if (me !== 0 && me !== account.uid) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      'physical mode must run as root (or as postgres): pgBackRest and pg_ctl run as the postgres account',
      { hint: 'run mm-backup pitr as root, as the sidecar service does' },
    );
  }
  return account;
}

/** Spawn options that run a child as `account` with a minimal environment (no secrets: none are needed). */
export function asAccount(account: OsAccount, extra: RunOptions = {}): RunOptions {
  const switching = process.getuid?.() === 0 && account.uid !== 0;
  return {
    ...extra,
    cwd: extra.cwd ?? '/',
    env: {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      LANG: 'C.UTF-8',
      HOME: account.home,
      USER: account.name,
      LOGNAME: account.name,
      ...extra.env,
    },
    ...(switching ? { uid: account.uid, gid: account.gid } : {}),
  };
}
