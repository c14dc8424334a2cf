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
 * Per day directory (YYYYMMDD), a fingerprint of its FileInfo rows: count, newest CreateAt,
 * UpdateAt and DeleteAt, total size, and a sum of a hash of each row's id (order-free: one row
 * removed and another added with the same size and old times still changes it). One aggregate
 * query; rows whose path does not start with a day are left out.
 */
export async function fileInfoDays(db: DbTarget): Promise<Map<string, string>> {
  // MySQL's table is FileInfo (case matters there); PostgreSQL folds the unquoted name to fileinfo.
  const pg = db.driver === 'postgres';
  const table = pg ? 'fileinfo' : 'FileInfo';
  const cast = pg ? '::text' : '';
  const idHash = pg ? 'SUM(hashtext(id)::bigint)' : 'SUM(CRC32(id))';
  const rows = await query(
    db,
    `SELECT LEFT(path, 8) AS day, COUNT(*)${cast} AS n, COALESCE(MAX(createat), 0)${cast} AS c,
      COALESCE(MAX(updateat), 0)${cast} AS u, COALESCE(MAX(deleteat), 0)${cast} AS d,
      COALESCE(SUM(size), 0)${cast} AS s, COALESCE(${idHash}, 0)${cast} AS h
    FROM ${table} GROUP BY LEFT(path, 8)`,
  );
  const days = new Map<string, string>();
  for (const r of rows) {
    const day = typeof r.day === 'string' ? r.day : '';
    const fp = [r.n, r.c, r.u, r.d, r.s, r.h].map((v) => (typeof v === 'string' || typeof v === 'number' ? v : '?'));
    if (DAY_DIR.test(day)) days.set(day, fp.join(':'));
  }
  return days;
}
