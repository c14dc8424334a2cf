/**
 * The file-store paths the database references: every live FileInfo row's file, thumbnail and
 * preview, read in pages by id so that a million attachments are never held at once.
 */
import type { DbTarget } from './dsn';
import { query } from './sql_client';

const PAGE = 5000;

/** Yields pages of { id, paths } (paths relative to FileSettings.Directory; empty ones left out). */
export async function* fileInfoPaths(db: DbTarget): AsyncGenerator<Array<{ id: string; paths: string[] }>> {
  const table = db.driver === 'postgres' ? 'fileinfo' : 'FileInfo';
  let after = '';
  for (;;) {
    const rows = await query(
      db,
      `SELECT id, path, thumbnailpath, previewpath FROM ${table} WHERE deleteat = 0 AND id > ${db.driver === 'postgres' ? '$1' : '?'} ORDER BY id LIMIT ${PAGE}`,
      [after],
    );
    if (!rows.length) return;
    yield rows.map((r) => ({
      id: String(r.id),
      paths: [r.path, r.thumbnailpath, r.previewpath].filter((p): p is string => typeof p === 'string' && p !== ''),
    }));
    after = String(rows[rows.length - 1]?.id);
    if (rows.length < PAGE) return;
  }
}
