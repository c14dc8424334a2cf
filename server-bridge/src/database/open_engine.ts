/** Picks the engine for a DSN's driver. */
import type { DatabaseEngine } from './engine';
import type { DbTarget } from './dsn';
import { MysqlEngine } from './mysql';
import { PostgresEngine } from './postgres';

export function openEngine(target: DbTarget, pgBinDir?: string): DatabaseEngine {
  return target.driver === 'postgres' ? new PostgresEngine(target, pgBinDir) : new MysqlEngine(target);
}
