/**
 * Reads Mattermost's effective configuration the way the server does: `MM_CONFIG` (file or
 * database store), else config/config.json, then `MM_<SECTION>_<FIELD>` overrides from the
 * service's environment file (FACTS §g). Overrides are applied, never written back.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../core/errors';
import { parseDsn, type DbTarget } from '../database/dsn';
import { queryOne } from '../database/sql_client';

export type MmConfig = Record<string, Record<string, unknown>>;

export interface ConfigSource {
  kind: 'file' | 'database';
  /** File path, or the config store database (credentials never printed). */
  file?: string;
  db?: DbTarget;
}

export interface LoadedMmConfig {
  config: MmConfig;
  source: ConfigSource;
  /** Keys set by MM_* variables, e.g. SqlSettings.DataSource. */
  overridden: string[];
}

/** Loads the effective Mattermost config for an install. */
export async function loadMattermostConfig(
  installDir: string,
  env: Record<string, string>,
  configPath?: string,
  configText?: string,
): Promise<LoadedMmConfig> {
  const spec = configPath ?? env.MM_CONFIG ?? 'config.json';
  let config: MmConfig;
  let source: ConfigSource;
  if (/^(postgres|postgresql|mysql):\/\//i.test(spec)) {
    const db = parseDsn(spec);
    source = { kind: 'database', db };
    // configText: the store itself is what broke; the caller supplies a config.json to use instead.
    config =
      configText === undefined ? await readDatabaseConfig(db) : parseJson(configText, 'the config from the snapshot');
  } else {
    const file = resolveConfigFile(installDir, spec);
    source = { kind: 'file', file };
    let text: string;
    try {
      text = configText ?? (await readFile(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(
        `cannot read Mattermost config ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
        [],
        {
          cause: err,
          hint: 'check mattermost.installDir, or set mattermost.configPath',
        },
      );
    }
    config = parseJson(text, `Mattermost config ${file}`);
  }
  const overridden = applyEnvOverrides(config, env);
  return { config, source, overridden };
}

function parseJson(text: string, what: string): MmConfig {
  try {
    return JSON.parse(text) as MmConfig;
  } catch (err) {
    throw new ConfigError(`${what} is not valid JSON: ${(err as Error).message}`, [], { cause: err });
  }
}

function resolveConfigFile(installDir: string, spec: string): string {
  if (path.isAbsolute(spec)) return spec;
  // Mattermost searches a relative name in config/ first.
  return path.join(installDir, spec.includes('/') ? spec : path.join('config', spec));
}

async function readDatabaseConfig(db: DbTarget): Promise<MmConfig> {
  const table = db.driver === 'postgres' ? 'configurations' : 'Configurations';
  const row = await queryOne(db, `SELECT value FROM ${table} WHERE active = true`);
  if (!row || typeof row.value !== 'string') {
    throw new ConfigError('MM_CONFIG points at a database config store that has no active configuration row');
  }
  return JSON.parse(row.value) as MmConfig;
}

/** Applies MM_SECTION_FIELD variables in place (case-insensitive, as Mattermost does). */
export function applyEnvOverrides(config: MmConfig, env: Record<string, string>): string[] {
  const overridden: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('MM_') || name === 'MM_CONFIG') continue;
    const rest = name.slice(3);
    for (const section of Object.keys(config).concat(KNOWN_SECTIONS)) {
      const up = section.toUpperCase();
      if (!rest.startsWith(`${up}_`)) continue;
      const fieldUp = rest.slice(up.length + 1);
      config[section] ??= {};
      const sec = config[section];
      const field = Object.keys(sec).find((k) => k.toUpperCase() === fieldUp) ?? KNOWN_FIELDS[`${section}.${fieldUp}`];
      if (!field) continue;
      sec[field] = coerce(sec[field], value);
      overridden.push(`${section}.${field}`);
      break;
    }
  }
  return overridden;
}

function coerce(current: unknown, value: string): unknown {
  if (typeof current === 'boolean') return value === 'true';
  if (typeof current === 'number') return Number(value);
  if (Array.isArray(current)) return value.split(' ').filter(Boolean);
  return value;
}

const KNOWN_SECTIONS = [
  'SqlSettings',
  'FileSettings',
  'PluginSettings',
  'LogSettings',
  'BleveSettings',
  'ServiceSettings',
  'SamlSettings',
  'LdapSettings',
];
const KNOWN_FIELDS: Record<string, string> = Object.fromEntries(
  [
    'SqlSettings.DriverName',
    'SqlSettings.DataSource',
    'FileSettings.DriverName',
    'FileSettings.Directory',
    'FileSettings.DedicatedExportStore',
    'FileSettings.ExportDriverName',
    'FileSettings.ExportDirectory',
    'PluginSettings.Directory',
    'PluginSettings.ClientDirectory',
    'LogSettings.FileLocation',
    'BleveSettings.IndexDir',
    'ServiceSettings.TLSCertFile',
    'ServiceSettings.TLSKeyFile',
    'ServiceSettings.SiteURL',
    'ServiceSettings.ListenAddress',
    'SamlSettings.IdpCertificateFile',
    'SamlSettings.PublicCertificateFile',
    'SamlSettings.PrivateKeyFile',
    'LdapSettings.PublicCertificateFile',
    'LdapSettings.PrivateKeyFile',
  ].map((k) => {
    const [s = '', f = ''] = k.split('.');
    return [`${s}.${f.toUpperCase()}`, f];
  }),
);

/** Reads a string setting, or undefined when absent or empty. */
export function setting(config: MmConfig, section: string, field: string): string | undefined {
  const v = config[section]?.[field];
  return typeof v === 'string' && v !== '' ? v : undefined;
}
