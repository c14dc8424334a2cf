/**
 * One database server behind Mattermost. Dumps are streamed uncompressed to the caller
 * (who compresses, hashes and stores); restores replace the target's contents.
 */
import type { Readable, Writable } from 'node:stream';
import type { DbTarget } from './dsn';
import type { ProcessBudget } from '../process/budget';

export interface DumpResult {
  /** Rows per table, taken in the same snapshot as the dump. */
  rowCounts: Record<string, number>;
  format: 'pg_custom' | 'mysql_sql';
  tool: string;
}

export interface DumpScan {
  rowCounts: Record<string, number>;
  /** Problems that make the dump unusable (truncated, unreadable). */
  problems: string[];
}

export interface RestoreReport {
  /** Tables visible to the loading session right after the load, when the engine can tell. */
  tablesAfterLoad?: string[];
}

/**
 * A load of a dump FILE by several sessions at once, offered only for a database that holds nothing
 * yet. Not one transaction: instead, a load that fails or is aborted removes what it created.
 */
export interface ParallelRestore {
  /** How many sessions load the dump. */
  readonly jobs: number;
  /**
   * Loads the dump at `file` (seekable, in the engine's dump format). Resolves once all of it is
   * applied; otherwise removes every object the load created, so the database is empty again, and
   * rejects (saying whether that removal succeeded). An abort stops the load the same way.
   */
  restoreFile(file: string, opts: { signal?: AbortSignal }): Promise<RestoreReport>;
}

export interface DatabaseEngine {
  readonly target: DbTarget;
  serverVersion(): Promise<string>;
  /** Version string of the dump tool that will be used. */
  toolVersion(): Promise<string>;
  sizeBytes(): Promise<number>;
  /** Highest db_migrations version, or undefined when the table does not exist. */
  schemaVersion(): Promise<number | undefined>;
  rowCounts(): Promise<Record<string, number>>;
  /**
   * Streams a consistent dump of the whole database (or `tables`) into `out`. Calls `onPinned`, if
   * the engine can tell, once later writes can no longer reach the dump and DDL waits for it.
   * The dump tool runs under `budget` when given (an online backup).
   */
  dump(
    out: Writable,
    opts: { signal?: AbortSignal; tables?: string[]; onPinned?: () => void; budget?: ProcessBudget },
  ): Promise<DumpResult>;
  /**
   * Replaces the database's contents (or just `tables`) with the dump read from `input`; rejects
   * unless the whole dump was applied. Reports the tables the loading session saw at its end.
   */
  restore(input: Readable, opts: { signal?: AbortSignal; tables?: string[] }): Promise<RestoreReport>;
  /**
   * A parallel load for this database when the engine has one, it is not switched off and the
   * database is empty (the engine's rule); undefined otherwise, and restore() is the way.
   */
  parallelRestore?(): Promise<ParallelRestore | undefined>;
  /** Reads the whole dump and counts rows per table without a database. */
  scanDump(input: Readable, opts: { signal?: AbortSignal }): Promise<DumpScan>;
  /** The same server with another database name. */
  withDatabase(name: string): DatabaseEngine;
  createDatabase(name: string): Promise<void>;
  dropDatabase(name: string): Promise<void>;
  databaseExists(): Promise<boolean>;
}
