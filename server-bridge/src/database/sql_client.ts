/** Short-lived SQL connections for metadata queries (versions, counts, config store); never for dumps. */
import { BridgeError } from '../core/errors';
import { describeTarget, type DbTarget } from './dsn';

type Row = Record<string, unknown>;

/** Runs one query and returns all rows; connection errors name the target, never the password. */
export async function query(db: DbTarget, sql: string, params: unknown[] = []): Promise<Row[]> {
  try {
    // Each driver is loaded on first use: a PostgreSQL install never loads mysql2 and vice versa.
    if (db.driver === 'postgres') {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use (see above)
      const { Client } = require('pg') as typeof import('pg');
      const client = new Client({
        host: db.host,
        port: db.port,
        user: db.user,
        password: db.password,
        database: db.database,
        connectionTimeoutMillis: 10000,
        ssl: sslFor(db),
        application_name: 'mm-backup',
      });
      await client.connect().catch((err: unknown) => {
        throw unreachable(db, err) ?? err;
      });
      try {
        return (await client.query(sql, params)).rows as Row[];
      } finally {
        await client.end();
      }
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use (see above)
    const { createConnection } = require('mysql2/promise') as typeof import('mysql2/promise');
    const conn = await createConnection({
      host: db.host,
      port: db.port,
      socketPath: db.socket,
      user: db.user,
      password: db.password,
      database: db.database,
      connectTimeout: 10000,
      supportBigNumbers: true,
      bigNumberStrings: true,
      multipleStatements: false,
    }).catch((err: unknown) => {
      throw unreachable(db, err) ?? err;
    });
    try {
      const [rows] = await conn.query(sql, params);
      return rows as Row[];
    } finally {
      await conn.end();
    }
  } catch (err) {
    if (err instanceof DatabaseUnreachableError) throw err;
    throw new BridgeError(
      'PROCESS_FAILED',
      `database query on ${describeTarget(db)} failed: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** The database server cannot be reached at all (down, wrong address): nothing about rights or SQL. */
export class DatabaseUnreachableError extends BridgeError {
  constructor(db: DbTarget, reason: string, cause: unknown) {
    super(
      'PROCESS_FAILED',
      `cannot connect to the database server ${db.socket ?? `${db.host}:${db.port}`}: ${reason}`,
      {
        cause,
        hint: 'check that the database server is running and that this host can reach it',
      },
    );
  }
}

const UNREACHABLE: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  ECONNRESET: 'connection reset',
  ENOENT: 'no such socket',
};

/** A DatabaseUnreachableError when `err` (from connecting) says the server is not there, else undefined. */
export function unreachable(db: DbTarget, err: unknown): DatabaseUnreachableError | undefined {
  const codes = [err, ...((err as { errors?: unknown[] }).errors ?? [])].map(
    (e) => (e as NodeJS.ErrnoException | undefined)?.code ?? '',
  );
  const code = codes.find((c) => c in UNREACHABLE);
  if (code) return new DatabaseUnreachableError(db, UNREACHABLE[code] as string, err);
  if (
    /timeout expired|connection terminated due to connection timeout/i.test(
      (err as Partial<Error> | undefined)?.message ?? '',
    )
  ) {
    return new DatabaseUnreachableError(db, 'connection timed out', err);
  }
  return undefined;
}

export async function queryOne(db: DbTarget, sql: string, params: unknown[] = []): Promise<Row | undefined> {
  return (await query(db, sql, params))[0];
}

function sslFor(db: DbTarget): false | { rejectUnauthorized: boolean } {
  const mode = db.params.sslmode ?? 'disable';
  if (mode === 'disable' || mode === 'allow' || mode === 'prefer') return false;
  return { rejectUnauthorized: mode === 'verify-full' || mode === 'verify-ca' };
}
