/** Every row of every table, canonicalised, so two databases can be compared for equality. */
import { createHash } from 'node:crypto';
import { query } from '../../src/database/sql_client';
import { parseDsn, type DbTarget } from '../../src/database/dsn';

export async function tableDigests(url: string | DbTarget): Promise<Record<string, string>> {
  const t = typeof url === 'string' ? parseDsn(url) : url;
  const tables =
    t.driver === 'postgres'
      ? (
          await query(
            t,
            "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
          )
        ).map((r) => String(r.t))
      : (
          await query(
            t,
            "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'",
          )
        ).map((r) => String(r.t));
  const out: Record<string, string> = {};
  for (const table of tables.sort()) {
    const q = t.driver === 'postgres' ? `SELECT * FROM public."${table}"` : `SELECT * FROM \`${table}\``;
    // Mattermost's health check (ping with get_server_status) upserts and deletes a
    // health_check_<host> row; one interrupted by a stop is transient state, not data.
    const all = (await query(t, q)).filter(
      (r) => !(table.toLowerCase() === 'systems' && ((r.name ?? r.Name ?? '') as string).startsWith('health_check_')),
    );
    const rows = all
      .map((r) =>
        JSON.stringify(r, (_k, v) => (Buffer.isBuffer(v) ? v.toString('hex') : typeof v === 'bigint' ? String(v) : v)),
      )
      .sort();
    out[table] = `${rows.length} rows ${createHash('sha256').update(rows.join('\n')).digest('hex').slice(0, 16)}`;
  }
  return out;
}
