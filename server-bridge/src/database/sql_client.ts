/** Short-lived SQL connections for metadata queries (versions, counts, config store); never for dumps. */
import { BridgeError } from '../core/errors';
import { describeTarget, type DbTarget } from './dsn';

type Row = Record<string, unknown>;

/** Runs one query and returns all rows; connection errors name the target, never the password. */
export async function query(db: DbTarget, sql: string, params: unknown[] = []): Promise<Row[]> {
  try {
    // Each driver is loaded on first use: a PostgreSQL install never loads mysql2 and vice versa.
    if (db.driver === 'postgres') {
      const { Client } = require('pg') as typeof import('pg');
      const client = new Client({
        host: db.host, port: db.port, user: db.user, password: db.password, database: db.database,
        connectionTimeoutMillis: 10000, ssl: sslFor(db),
      });
      await client.connect();
      try {
        return (await client.query(sql, params)).rows as Row[];
      } finally {
        await client.end();
      }
    }
    const { createConnection } = require('mysql2/promise') as typeof import('mysql2/promise');
    const conn = await createConnection({
      host: db.host, port: db.port, socketPath: db.socket, user: db.user, password: db.password, database: db.database,
      connectTimeout: 10000, supportBigNumbers: true, bigNumberStrings: true, multipleStatements: false,
    });
    try {
      const [rows] = await conn.query(sql, params);
      return rows as Row[];
    } finally {
      await conn.end();
    }
  } catch (err) {
    throw new BridgeError('PROCESS_FAILED', `database query on ${describeTarget(db)} failed: ${(err as Error).message}`, { cause: err });
  }
}

export async function queryOne(db: DbTarget, sql: string, params: unknown[] = []): Promise<Row | undefined> {
  return (await query(db, sql, params))[0];
}

function sslFor(db: DbTarget): false | { rejectUnauthorized: boolean } {
  const mode = db.params.sslmode ?? 'disable';
  if (mode === 'disable' || mode === 'allow' || mode === 'prefer') return false;
  return { rejectUnauthorized: mode === 'verify-full' || mode === 'verify-ca' };
}
