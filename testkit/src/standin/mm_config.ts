/**
 * How the stand-in finds its settings, the way the real server does: config/config.json (or the
 * file / database store named by MM_CONFIG), then MM_<SECTION>_<FIELD> environment overrides from
 * the systemd EnvironmentFile (config/mattermost.environment) and the process environment.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { withSqlConn, type SqlTarget } from '../sql_conn';

/** Everything the stand-in needs from the install's configuration. */
export interface StandinSettings {
  installDir: string;
  /** The effective config (after environment overrides). */
  config: Record<string, any>;
  /** 'file <path>' or 'database <driver> host:port/db'. */
  configSource: string;
  driver: 'postgres' | 'mysql';
  db: SqlTarget;
  /** Absolute path of FileSettings.Directory. */
  fileDir: string;
  listenHost: string;
  listenPort: number;
  version: string;
  /** The merged environment (env file + process env) the settings were read with. */
  env: Record<string, string>;
}

/** Parses a systemd EnvironmentFile: KEY=VALUE lines, '#'/';' comments, optional quotes. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line
      .slice(0, eq)
      .trim()
      .replace(/^export\s+/, '');
    let value = line.slice(eq + 1).trim();
    if ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'"))) {
      value = value.slice(1, -1);
    }
    out[key] = value;
  }
  return out;
}

/** Parses a Mattermost DataSource: a postgres:// URL, or the MySQL form user:pass@tcp(host:port)/db?… (optionally mysql://-prefixed). */
export function parseDataSource(driver: 'postgres' | 'mysql', dsn: string): SqlTarget {
  if (driver === 'postgres') {
    const u = new URL(dsn);
    if (!/^postgres(ql)?:$/.test(u.protocol)) {
      throw new Error(`PostgreSQL DataSource must start with postgres://, got ${u.protocol}`);
    }
    return {
      driver,
      host: decodeURIComponent(u.hostname) || 'localhost',
      port: u.port ? Number(u.port) : 5432,
      user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
      database: decodeURIComponent(u.pathname.replace(/^\//, '')),
      connectTimeoutMs: 3000,
    };
  }
  const m = /^(?:mysql:\/\/)?([^:@]*)(?::(.*))?@(tcp|unix)\(([^)]*)\)\/([^?]*)(?:\?(.*))?$/.exec(dsn);
  if (!m) throw new Error('MySQL DataSource must look like user:pass@tcp(host:3306)/db?params');
  const [, user = '', password = '', proto, addr = '', database = ''] = m;
  if (proto === 'unix') {
    return {
      driver,
      host: 'localhost',
      port: 3306,
      socketPath: addr,
      user,
      password,
      database,
      connectTimeoutMs: 3000,
    };
  }
  const colon = addr.lastIndexOf(':');
  const host = colon >= 0 ? addr.slice(0, colon) : addr;
  const port = colon >= 0 ? Number(addr.slice(colon + 1)) : 3306;
  return { driver, host: host || '127.0.0.1', port, user, password, database, connectTimeoutMs: 3000 };
}

/** Driver of a config-store DSN, or undefined when MM_CONFIG names a file. */
export function configStoreDriver(value: string): 'postgres' | 'mysql' | undefined {
  if (/^postgres(ql)?:\/\//i.test(value)) return 'postgres';
  if (/^mysql:\/\//i.test(value)) return 'mysql';
  return undefined;
}

/** Applies MM_<SECTION>_<FIELD> overrides in place (case-insensitive; booleans, numbers and space-separated lists typed like the existing value). */
export function applyEnvOverrides(config: Record<string, any>, env: Record<string, string>): string[] {
  const applied: string[] = [];
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith('MM_') || key === 'MM_CONFIG') continue;
    const rest = key.slice(3);
    for (const section of Object.keys(config)) {
      const sec = config[section];
      if (!sec || typeof sec !== 'object' || Array.isArray(sec)) continue;
      const prefix = `${section.toUpperCase()}_`;
      if (!rest.startsWith(prefix)) continue;
      const fieldName = rest.slice(prefix.length);
      const field = Object.keys(sec).find((f) => f.toUpperCase() === fieldName);
      if (!field) continue;
      const cur = sec[field];
      sec[field] =
        typeof cur === 'boolean'
          ? value === 'true'
          : typeof cur === 'number'
            ? Number(value)
            : Array.isArray(cur)
              ? value.split(' ').filter(Boolean)
              : value;
      applied.push(key);
    }
  }
  return applied;
}

/** The server version of an install: the `# mattermost-version:` line of the sandbox's bin/mattermost stub. */
export function installVersion(installDir: string): string | undefined {
  try {
    const m = /mattermost-version:\s*(\S+)/.exec(readFileSync(join(installDir, 'bin', 'mattermost'), 'utf8'));
    return m?.[1];
  } catch {
    return undefined;
  }
}

/** Loads the stand-in's settings for `installDir`; `port`/`version` override the config and the stub. */
export async function loadStandinSettings(
  installDir: string,
  opts: { port?: number; version?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<StandinSettings> {
  const dir = resolve(installDir);
  const envFile = join(dir, 'config', 'mattermost.environment');
  const env: Record<string, string> = existsSync(envFile) ? parseEnvFile(readFileSync(envFile, 'utf8')) : {};
  for (const [k, v] of Object.entries(opts.env ?? process.env)) if (k.startsWith('MM_') && v !== undefined) env[k] = v;

  let config: Record<string, any>;
  let configSource: string;
  const mmConfig = env.MM_CONFIG;
  const storeDriver = mmConfig ? configStoreDriver(mmConfig) : undefined;
  if (mmConfig && storeDriver) {
    const target = parseDataSource(storeDriver, mmConfig);
    const table = storeDriver === 'postgres' ? 'configurations' : 'Configurations';
    const rows = await withSqlConn(target, (c) =>
      c.query<{ value: string }>(`SELECT Value AS value FROM ${table} WHERE Active = true`),
    );
    const value = rows[0]?.value;
    if (!value) {
      throw new Error(
        `MM_CONFIG points at ${target.host}:${target.port}/${target.database}, which has no active configuration row`,
      );
    }
    config = JSON.parse(value) as Record<string, any>;
    configSource = `database ${storeDriver} ${target.host}:${target.port}/${target.database}`;
  } else {
    let file = join(dir, 'config', 'config.json');
    if (mmConfig) {
      file = isAbsolute(mmConfig)
        ? mmConfig
        : existsSync(join(dir, 'config', mmConfig))
          ? join(dir, 'config', mmConfig)
          : join(dir, mmConfig);
    }
    config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, any>;
    configSource = `file ${file}`;
  }
  applyEnvOverrides(config, env);

  const sql = config.SqlSettings ?? {};
  const driver = sql.DriverName === 'mysql' ? 'mysql' : 'postgres';
  if (typeof sql.DataSource !== 'string' || !sql.DataSource) throw new Error('SqlSettings.DataSource is empty');
  const db = parseDataSource(driver, sql.DataSource);
  const fileSettings = config.FileSettings ?? {};
  if ((fileSettings.DriverName ?? 'local') !== 'local') {
    throw new Error(`the stand-in only supports FileSettings.DriverName "local", not ${fileSettings.DriverName}`);
  }
  const fileDirSetting: string = fileSettings.Directory || './data/';
  const fileDir = isAbsolute(fileDirSetting) ? fileDirSetting : resolve(dir, fileDirSetting);

  const listen: string = config.ServiceSettings?.ListenAddress ?? ':8065';
  const colon = listen.lastIndexOf(':');
  const host = colon > 0 ? listen.slice(0, colon).replace(/^\[|\]$/g, '') : '';
  const listenPort = opts.port ?? Number(colon >= 0 ? listen.slice(colon + 1) : listen);
  if (!Number.isInteger(listenPort) || listenPort <= 0) {
    throw new Error(`cannot read a port from ServiceSettings.ListenAddress "${listen}"; pass --port`);
  }

  return {
    installDir: dir,
    config,
    configSource,
    driver,
    db,
    fileDir,
    // An empty host means "all interfaces" to Mattermost; a test helper stays on loopback instead.
    listenHost: host || '127.0.0.1',
    listenPort,
    version: opts.version ?? installVersion(dir) ?? '11.2.0',
    env,
  };
}
