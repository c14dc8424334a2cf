/** Finds PostgreSQL client binaries and builds their environment (credentials only via env). */
import { readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import type { DbTarget } from './dsn';

/** The newest /usr/lib/postgresql/N/bin, so pg_dump is never older than the server; else PATH. */
export function findPgBinDir(configured?: string): string | undefined {
  if (configured) return configured;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/.test(v))
    .map(Number)
    .sort((a, b) => b - a);
  for (const v of versions) {
    const dir = path.join(root, String(v), 'bin');
    if (existsSync(path.join(dir, 'pg_dump'))) return dir;
  }
  return undefined;
}

export function pgTool(binDir: string | undefined, tool: 'pg_dump' | 'pg_restore' | 'psql'): string {
  return binDir ? path.join(binDir, tool) : tool;
}

/** libpq environment for `t`; the password travels in PGPASSWORD, never argv. */
export function pgEnv(t: DbTarget): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    LANG: 'C.UTF-8',
    PGHOST: t.socket ?? t.host,
    PGPORT: String(t.port),
    PGUSER: t.user,
    PGDATABASE: t.database,
    PGSSLMODE: t.params.sslmode ?? 'prefer',
    PGCONNECT_TIMEOUT: t.params.connect_timeout ?? '10',
    PGAPPNAME: 'mm-backup',
  };
  if (t.password) env.PGPASSWORD = t.password;
  return env;
}
