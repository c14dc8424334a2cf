import type { MariadbServer } from './mariadb_server';
import type { PgServer } from './postgres_server';

/**
 * The shape shared by the throwaway PostgreSQL and MariaDB servers, so sandboxes and tests can take
 * either one.
 */

/** Options for createRole. `superuser` / `createdb` map to SUPERUSER / CREATEDB (PG) or global grants (MySQL). */
export interface RoleOptions {
  superuser?: boolean;
  createdb?: boolean;
}

/** What both throwaway servers offer. All SQL goes over TCP to 127.0.0.1 as the superuser. */
export interface DbServerBase {
  readonly kind: 'postgres' | 'mysql';
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly superuser: string;
  readonly superuserPassword: string;
  /** The server's data directory (PGDATA / datadir). */
  readonly dataDir: string;
  /** Directory holding the client tools (pg_dump, psql / mariadb-dump, mariadb). */
  readonly binDir: string;
  /** The temp directory that holds data, sockets and logs; removed by destroy(). */
  readonly baseDir: string;
  /** Server log file; its tail is put into startup errors. */
  readonly logFile: string;
  /** Connection URL as the superuser, e.g. for a CLI under test. */
  adminUrl(db?: string): string;
  /** Creates database `name` (UTF-8); `owner` becomes its owner (PG) or gets ALL on it (MySQL). */
  createDatabase(name: string, owner?: string): Promise<void>;
  /** Creates a login role/user with a password (scram-sha-256 on PG; 'name'@'%' on MySQL). */
  createRole(name: string, password: string, opts?: RoleOptions): Promise<void>;
  /** Changes a role's password. */
  setPassword(name: string, password: string): Promise<void>;
  /** Whether a login role/user with this name exists. */
  roleExists(name: string): Promise<boolean>;
  /** Drops database `name` if it exists, disconnecting its sessions. */
  dropDatabase(name: string): Promise<void>;
  /** Runs one statement in `db` as superuser (`?` placeholders on MySQL, `$1` on PG); returns rows ([] without a result set). */
  query(db: string, sql: string, params?: unknown[]): Promise<any[]>;
  /** Runs a multi-statement script in `db` as superuser. */
  exec(db: string, script: string): Promise<void>;
  /** Environment for the server's client tools so passwords stay out of argv (PGPASSWORD / MYSQL_PWD). */
  clientEnv(): NodeJS.ProcessEnv;
  /** True while the server process is up (as far as this object knows). */
  isRunning(): boolean;
  /** Stops the server (fast shutdown); a no-op when it is not running. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data; a no-op when it is running. */
  start(): Promise<void>;
  /** stop() and remove baseDir. Safe to call twice. */
  destroy(): Promise<void>;
}

/** Checks that a name is safe to splice into DDL as an identifier (the kit only creates simple names). */
export function assertSimpleName(what: string, name: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/.test(name)) {
    throw new Error(`${what} '${name}' must be 1-63 characters of letters, digits, _ $ - and start with a letter or _`);
  }
}

/** Either throwaway server; switch on `kind`. */
export type DbServer = PgServer | MariadbServer;
