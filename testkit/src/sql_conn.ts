/**
 * One thin connection type over pg and mysql2 so the sandbox generator and the stand-in can run the
 * same code against either database. Deliberately a single connection, not a pool: pools keep
 * idle connections whose 'error' events crash the process when a test stops the server under them.
 */
import { Client } from 'pg';
import mysql from 'mysql2/promise';

/** Which database family a connection talks to; 'mysql' covers MariaDB too. */
export type SqlDriver = 'postgres' | 'mysql';

/** Where and as whom to connect. */
export interface SqlTarget {
  driver: SqlDriver;
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** MySQL unix socket path, or PostgreSQL socket directory; used instead of host/port when set. */
  socketPath?: string;
  connectTimeoutMs?: number;
}

/** An open connection. Placeholders are always `?`; for PostgreSQL they become $1..$n. */
export interface SqlConn {
  readonly driver: SqlDriver;
  /** Rows of the result (empty for statements without a result set). */
  query<T = any>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Like query, but with the driver's own placeholders ($1 for PostgreSQL, ? for MySQL), passed through untouched. */
  native<T = any>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs a script of several `;`-separated statements without parameters. */
  exec(script: string): Promise<void>;
  /** True once the server closed the connection or it failed; the caller should reconnect. */
  readonly broken: boolean;
  close(): Promise<void>;
}

/** Opens one connection to `t`; rejects if the server cannot be reached or refuses the login. */
export async function openSqlConn(t: SqlTarget): Promise<SqlConn> {
  return t.driver === 'postgres' ? openPg(t) : openMysql(t);
}

async function openPg(t: SqlTarget): Promise<SqlConn> {
  const client = new Client({
    host: t.socketPath ?? t.host,
    port: t.port,
    user: t.user,
    password: t.password,
    database: t.database,
    connectionTimeoutMillis: t.connectTimeoutMs ?? 10_000,
  });
  let broken = false;
  // Without a listener, a server-side disconnect (pg_ctl stop) would be an uncaught 'error' event.
  client.on('error', () => {
    broken = true;
  });
  client.on('end', () => {
    broken = true;
  });
  try {
    await client.connect();
  } catch (err) {
    client.end().catch(() => undefined);
    throw err;
  }
  const native = async <T>(sql: string, params?: readonly unknown[]): Promise<T[]> => {
    const res: unknown = await client.query(sql, params && params.length > 0 ? [...params] : undefined);
    // A multi-statement text returns an array of results; report the last one's rows.
    const last = (Array.isArray(res) ? res[res.length - 1] : res) as { rows?: T[] } | undefined;
    return last?.rows ?? [];
  };
  return {
    driver: 'postgres',
    get broken() {
      return broken;
    },
    query: <T>(sql: string, params?: readonly unknown[]) =>
      native<T>(params && params.length > 0 ? toDollarPlaceholders(sql) : sql, params),
    native,
    async exec(script: string): Promise<void> {
      await client.query(script);
    },
    async close(): Promise<void> {
      broken = true;
      await client.end().catch(() => undefined);
    },
  };
}

async function openMysql(t: SqlTarget): Promise<SqlConn> {
  const conn = await mysql.createConnection({
    host: t.socketPath ? undefined : t.host,
    port: t.socketPath ? undefined : t.port,
    socketPath: t.socketPath,
    user: t.user,
    password: t.password,
    database: t.database || undefined,
    charset: 'utf8mb4_general_ci',
    connectTimeout: t.connectTimeoutMs ?? 10_000,
    multipleStatements: true,
    dateStrings: true,
  });
  let broken = false;
  conn.on('error', () => {
    broken = true;
  });
  conn.on('end', () => {
    broken = true;
  });
  const native = async <T>(sql: string, params?: readonly unknown[]): Promise<T[]> => {
    // Passing no values keeps mysql2 from touching '?' characters inside string literals.
    const [rows] = params && params.length > 0 ? await conn.query(sql, [...params]) : await conn.query(sql);
    if (!Array.isArray(rows)) return [];
    // multipleStatements: an array whose items are result sets/headers; keep the last result set.
    if (rows.length > 0 && (Array.isArray(rows[0]) || isResultHeader(rows[0]))) {
      const sets = rows as unknown[];
      const last = sets[sets.length - 1];
      return (Array.isArray(last) ? last : []) as T[];
    }
    return rows as T[];
  };
  return {
    driver: 'mysql',
    get broken() {
      return broken;
    },
    query: native,
    native,
    async exec(script: string): Promise<void> {
      await conn.query(script);
    },
    async close(): Promise<void> {
      broken = true;
      await conn.end().catch(() => conn.destroy());
    },
  };
}

function isResultHeader(v: unknown): boolean {
  return typeof v === 'object' && v !== null && 'affectedRows' in v && 'fieldCount' in v;
}

/**
 * Rewrites `?` placeholders to `$1..$n`, skipping '…' strings and "…" identifiers. The kit never
 * uses the jsonb `?` operators, so this simple scan is enough.
 */
export function toDollarPlaceholders(sql: string): string {
  let out = '';
  let n = 0;
  let quote: string | null = null;
  for (let i = 0; i < sql.length; i++) {
    const ch = sql[i] as string;
    if (quote) {
      out += ch;
      if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      out += ch;
    } else if (ch === '?') {
      out += `$${++n}`;
    } else {
      out += ch;
    }
  }
  return out;
}

/** Runs `fn` with a fresh connection to `t` and always closes it. */
export async function withSqlConn<T>(t: SqlTarget, fn: (c: SqlConn) => Promise<T>): Promise<T> {
  const c = await openSqlConn(t);
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

/** Quotes an identifier for the driver (PostgreSQL "x", MySQL `x`). */
export function quoteIdent(driver: SqlDriver, name: string): string {
  return driver === 'postgres' ? `"${name.replace(/"/g, '""')}"` : `\`${name.replace(/`/g, '``')}\``;
}

/**
 * A SQL string literal for the driver. MySQL/MariaDB treat backslash as an escape character by
 * default, PostgreSQL (standard_conforming_strings) does not, hence the difference.
 */
export function quoteLiteral(driver: SqlDriver, value: string): string {
  if (value.includes('\0')) throw new Error('SQL literals cannot contain NUL characters');
  const body = driver === 'postgres' ? value.replace(/'/g, "''") : value.replace(/\\/g, '\\\\').replace(/'/g, "''");
  return `'${body}'`;
}
