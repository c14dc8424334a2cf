/**
 * Mattermost stores each attachment under the day it was uploaded (<YYYYMMDD>/teams/…/<fileid>/)
 * and records it, with its thumbnail and preview, in one FileInfo row. A day's rows change when an
 * attachment of that day is added, soft-deleted (UpdateAt, DeleteAt) or removed (the count): the
 * fingerprint of a day's rows tells a backup whether that day's directory can have changed through
 * Mattermost since the last time it was walked (repository/settled_days.ts).
 */
import type { DbTarget } from './dsn';
import { query } from './sql_client';

/** A day directory name as Mattermost writes it. */
export const DAY_DIR = /^\d{8}$/;

/**
 * Per day directory (YYYYMMDD), a fingerprint of its FileInfo rows: count, newest UpdateAt, newest
 * DeleteAt and total size. One aggregate query; rows whose path does not start with a day are left out.
 */
export async function fileInfoDays(db: DbTarget): Promise<Map<string, string>> {
  // MySQL's table is FileInfo (case matters there); PostgreSQL folds the unquoted name to fileinfo.
  const table = db.driver === 'postgres' ? 'fileinfo' : 'FileInfo';
  const cast = db.driver === 'postgres' ? '::text' : '';
  const rows = await query(
    db,
    `SELECT LEFT(path, 8) AS day, COUNT(*)${cast} AS n, COALESCE(MAX(updateat), 0)${cast} AS u,
      COALESCE(MAX(deleteat), 0)${cast} AS d, COALESCE(SUM(size), 0)${cast} AS s
    FROM ${table} GROUP BY LEFT(path, 8)`,
  );
  const days = new Map<string, string>();
  for (const r of rows) {
    const day = typeof r.day === 'string' ? r.day : '';
    if (DAY_DIR.test(day)) days.set(day, `${String(r.n)}:${String(r.u)}:${String(r.d)}:${String(r.s)}`);
  }
  return days;
}
