/**
 * Parses the two DSN forms Mattermost uses: PostgreSQL URLs and the legacy MySQL
 * `user:pass@tcp(host:port)/db?params` form (also accepted with a `mysql://` prefix, as in MM_CONFIG).
 */
import { ConfigError } from '../core/errors';
import { registerSecret } from '../core/redact';

export type DbDriver = 'postgres' | 'mysql';

export interface DbTarget {
  driver: DbDriver;
  host: string;
  port: number;
  /** Unix socket path (MySQL `unix(...)` or a PostgreSQL host that is a directory). */
  socket?: string;
  user: string;
  password: string;
  database: string;
  params: Record<string, string>;
}

/** Parses a Mattermost DSN for `driver`; the password is registered as a secret. */
export function parseDsn(dsn: string, driver?: DbDriver): DbTarget {
  const d = driver ?? (/^postgres(ql)?:\/\//i.test(dsn) ? 'postgres' : 'mysql');
  const target = d === 'postgres' ? parsePostgres(dsn) : parseMysql(dsn);
  registerSecret(target.password);
  return target;
}

function parsePostgres(dsn: string): DbTarget {
  let url: URL;
  try {
    url = new URL(dsn);
  } catch {
    throw new ConfigError('the PostgreSQL DataSource is not a URL like postgres://user:pass@host:5432/db');
  }
  if (!/^postgres(ql)?:$/.test(url.protocol)) {
    throw new ConfigError(`the PostgreSQL DataSource has scheme ${url.protocol}, expected postgres://`);
  }
  const params: Record<string, string> = {};
  url.searchParams.forEach((v, k) => {
    params[k] = v;
  });
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!database) throw new ConfigError('the PostgreSQL DataSource names no database');
  return {
    driver: 'postgres',
    host: decodeURIComponent(url.hostname) || params.host || 'localhost',
    port: url.port ? Number(url.port) : 5432,
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database,
    params,
  };
}

const MYSQL = /^(?:mysql:\/\/)?([^:@/]*)(?::(.*))?@(tcp|unix)\(([^)]*)\)\/([^?]*)(?:\?(.*))?$/;

function parseMysql(dsn: string): DbTarget {
  if (/^mysql:\/\/[^(]*$/i.test(dsn)) return parseMysqlUrl(dsn);
  const m = MYSQL.exec(dsn);
  if (!m) throw new ConfigError('the MySQL DataSource is not of the form user:pass@tcp(host:3306)/db?params');
  const [, user = '', password = '', proto, addr = '', database = '', query = ''] = m;
  const params: Record<string, string> = {};
  for (const part of query.split('&').filter(Boolean)) {
    const [k = '', v = ''] = part.split('=');
    params[decodeURIComponent(k)] = decodeURIComponent(v);
  }
  if (!database) throw new ConfigError('the MySQL DataSource names no database');
  if (proto === 'unix') {
    return { driver: 'mysql', host: 'localhost', port: 3306, socket: addr, user, password, database, params };
  }
  const [host = '127.0.0.1', port = '3306'] = addr.split(':');
  return { driver: 'mysql', host: host || '127.0.0.1', port: Number(port), user, password, database, params };
}

/** The plain URL form mysql://user:pass@host:3306/db, accepted for --database-url. */
function parseMysqlUrl(dsn: string): DbTarget {
  const url = new URL(dsn);
  const params: Record<string, string> = {};
  url.searchParams.forEach((v, k) => {
    params[k] = v;
  });
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!database) throw new ConfigError('the MySQL URL names no database');
  return {
    driver: 'mysql',
    host: url.hostname || '127.0.0.1',
    port: url.port ? Number(url.port) : 3306,
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database,
    params,
  };
}

/** Builds a DSN in Mattermost's own form for `target` (used when restoring onto a new database). */
export function formatDsn(t: DbTarget): string {
  const q = new URLSearchParams(t.params).toString();
  if (t.driver === 'postgres') {
    return `postgres://${encodeURIComponent(t.user)}:${encodeURIComponent(t.password)}@${t.host}:${t.port}/${encodeURIComponent(t.database)}${q ? `?${q}` : ''}`;
  }
  const addr = t.socket ? `unix(${t.socket})` : `tcp(${t.host}:${t.port})`;
  return `${t.user}:${t.password}@${addr}/${t.database}${q ? `?${decodeURIComponent(q)}` : ''}`;
}

/** host:port/db for humans; never includes credentials. */
export function describeTarget(t: DbTarget): string {
  return `${t.driver} ${t.socket ?? `${t.host}:${t.port}`}/${t.database}`;
}

/** Same server (so a database on it can be created/dropped with the same credentials). */
export function sameServer(a: DbTarget, b: DbTarget): boolean {
  return a.driver === b.driver && a.host === b.host && a.port === b.port && a.socket === b.socket;
}
