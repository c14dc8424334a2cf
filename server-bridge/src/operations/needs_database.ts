/**
 * Which jobs need the Mattermost database, so which are refused while PostgreSQL is left down
 * (operations/postgres_down.ts, docs/pitr.md "PostgreSQL left down"). During such an outage the
 * jobs that only read and write the repository still run: copying the existing backups off-site
 * (replicate) matters most then, and prune and a plain verify do no harm.
 */
import type { JobKind } from '../jobs/events';

/** true: uses the database; 'deep': only with --deep. One entry per kind of JOB_KIND_TITLES (a new kind fails the typecheck). */
const USES_DATABASE: Readonly<Record<JobKind, boolean | 'deep'>> = {
  backup: true, // dumps it (physical mode: may run a pgBackRest backup too)
  restore: true, // writes it (plain or --at)
  // Plain: re-hashes objects and reads the dump file with pg_restore, no server. --deep restores
  // into a scratch database and, in physical mode, runs pgbackrest verify and a restore drill.
  verify: 'deep',
  prune: false, // the repository only
  replicate: false, // the repository to the bucket
  'pitr-backup': true,
  'pitr-enable': true,
  'pitr-disable': true,
};

/** Whether `req` (an OperationRequest, or a CLI-only lock's kind) needs the database; a kind that is no job kind (a CLI-only one) is taken to need it. */
export function jobNeedsDatabase(req: { kind: string; deep?: boolean }): boolean {
  const uses = Object.hasOwn(USES_DATABASE, req.kind) ? USES_DATABASE[req.kind as JobKind] : true;
  return uses === 'deep' ? !!req.deep : uses;
}
