/**
 * What the restore drill asks its copy (as the postgres superuser, through psql) and how the
 * answers are compared with the logical dump's row counts. The tables counted are those the dump
 * counts (postgres.ts listTables: ordinary and partitioned tables outside the system schemas).
 */

/** Mattermost's schema version: the newest applied migration, or null without db_migrations. */
export const SCHEMA_VERSION_SQL = `SELECT json_build_object('v',
  CASE WHEN to_regclass('public.db_migrations') IS NULL THEN NULL
       ELSE (SELECT max(version)::bigint FROM public.db_migrations) END)::text`;

/** Exact row counts of every table, named as the dump names them (schema-qualified outside public). */
export const COUNT_ROWS_SQL = `SELECT coalesce(json_object_agg(name, n), '{}'::json)::text FROM (
  SELECT CASE WHEN ns.nspname = 'public' THEN c.relname ELSE ns.nspname || '.' || c.relname END AS name,
         (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', ns.nspname, c.relname),
                false, true, '')))[1]::text::bigint AS n
    FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p') AND ns.nspname NOT IN ('pg_catalog', 'information_schema')
     AND ns.nspname NOT LIKE 'pg\\_%') t`;

export interface CountDifference {
  table: string;
  dump: number;
  copy: number | null;
}

/**
 * The copy is recovered to the moment the snapshot finished, and the dump saw the database at a
 * moment between the snapshot's start and end: rows written in between (an online backup, or
 * Mattermost's own writes right after an offline backup restarted it) can differ. So a table may
 * differ by at most 1% of its rows plus 100 (listed in `differences`); a table of the dump that
 * the copy lacks, or a larger difference, is a problem.
 */
export function compareDrillCounts(
  dump: Record<string, number>,
  copy: Record<string, number>,
): { problems: string[]; differences: CountDifference[] } {
  const problems: string[] = [];
  const differences: CountDifference[] = [];
  for (const [table, n] of Object.entries(dump).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const c = copy[table];
    if (c === undefined) {
      problems.push(`table ${table} (${n} rows in the dump) is missing`);
      differences.push({ table, dump: n, copy: null });
      continue;
    }
    if (c === n) continue;
    differences.push({ table, dump: n, copy: c });
    if (Math.abs(c - n) > tolerance(n)) problems.push(`table ${table}: ${c} rows, the dump has ${n}`);
  }
  return { problems, differences: differences.slice(0, 100) };
}

export function tolerance(rows: number): number {
  return Math.floor(rows / 100) + 100;
}
