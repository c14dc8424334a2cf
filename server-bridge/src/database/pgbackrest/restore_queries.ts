/**
 * The questions an in-place point-in-time restore asks the running cluster as its superuser:
 * which databases it holds, a WAL switch whose segment must reach the archive, and whether a
 * restored server has finished recovery.
 */
import { z } from 'zod';
import { ProcessError } from '../../core/errors';
import type { LocalSuperuser } from './local_superuser';

/** Databases that are not templates, not `postgres` (PostgreSQL's own), sorted. */
export async function listDatabases(su: LocalSuperuser, signal?: AbortSignal): Promise<string[]> {
  const raw = await su.json(
    `SELECT coalesce(json_agg(datname ORDER BY datname), '[]'::json)::text FROM pg_database
       WHERE NOT datistemplate AND datname <> 'postgres'`,
    signal,
  );
  const parsed = z.array(z.string()).safeParse(raw);
  if (!parsed.success) throw new ProcessError('pg_database came back in an unexpected shape');
  return parsed.data;
}

/**
 * Commits a transaction with an xid (a commit record stamped now, so recovery to any earlier time
 * finds a record after its target and stops there rather than at the end of WAL) and switches
 * WAL; returns the name of the segment that must be archived for both to be in the repository.
 */
export async function switchWal(su: LocalSuperuser, signal?: AbortSignal): Promise<string> {
  const out = await su.run(['SELECT txid_current()', 'SELECT pg_walfile_name(pg_switch_wal())'], signal);
  const segment = out.trim().split('\n').pop()?.trim() ?? '';
  if (!/^[0-9A-F]{24}$/.test(segment)) throw new ProcessError('pg_switch_wal did not name a WAL segment');
  return segment;
}

/** True while the server replays WAL (not yet promoted). */
export async function inRecovery(su: LocalSuperuser, signal?: AbortSignal): Promise<boolean> {
  const raw = await su.json(`SELECT json_build_object('r', pg_is_in_recovery())::text`, signal);
  const parsed = z.object({ r: z.boolean() }).safeParse(raw);
  if (!parsed.success) throw new ProcessError('pg_is_in_recovery came back in an unexpected shape');
  return parsed.data.r;
}

/** The live cluster's timeline: the one its WAL is written on now (the current segment's first 8 hex digits). */
export async function currentTimeline(su: LocalSuperuser, signal?: AbortSignal): Promise<number> {
  const out = (await su.run(['SELECT pg_walfile_name(pg_current_wal_lsn())'], signal)).trim();
  if (!/^[0-9A-F]{24}$/.test(out)) throw new ProcessError(`PostgreSQL named no WAL segment (${out.slice(0, 40)})`);
  return parseInt(out.slice(0, 8), 16);
}
