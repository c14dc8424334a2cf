/** Picks the engine for a DSN's driver. */
import type { DatabaseEngine } from './engine';
import type { DbTarget } from './dsn';
import { MysqlEngine } from './mysql';
import { PostgresEngine, type PostgresOptions } from './postgres';

/** The engine for `target`; `pg` settings apply to PostgreSQL only (MySQL/MariaDB has no parallel load). */
export function openEngine(target: DbTarget, pgBinDir?: string, pg: PostgresOptions = {}): DatabaseEngine {
  return target.driver === 'postgres' ? new PostgresEngine(target, pgBinDir, pg) : new MysqlEngine(target);
}
