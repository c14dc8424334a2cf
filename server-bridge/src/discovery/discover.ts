/**
 * Automates the official "before starting a backup" checklist: where everything lives, which
 * database, which file store, and which component will be backed up or skipped and why.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../core/errors';
import type { ComponentId, Config } from '../config/schema';
import { parseDsn, type DbTarget } from '../database/dsn';
import type { ComponentPlan, Site } from '../components/component';
import { APPLICATION, COMPONENT_KINDS, isInside } from '../components/registry';
import { parseEnvFile, readEnvFile } from './env_file';
import { describeRemoteStore, DRIVER_LOCAL, flagSetting } from './file_stores';
import { loadMattermostConfig, setting, type ConfigSource, type MmConfig } from './mm_config';

export type { ComponentPlan };

export interface Discovery {
  installDir: string;
  configSource: ConfigSource;
  overridden: string[];
  envFile?: string;
  mmConfig: MmConfig;
  database: DbTarget;
  fileDriver: string;
  /** A file store not on this disk, named (bucket or container). */
  fileStoreName?: string;
  components: ComponentPlan[];
}

export interface DiscoverOptions {
  exclude?: ComponentId[];
  /** Use these contents instead of reading the files (a restore when the live ones are broken). */
  configText?: string;
  envText?: string;
}

export async function discover(cfg: Config, opts: DiscoverOptions = {}): Promise<Discovery> {
  const installDir = path.resolve(cfg.mattermost.installDir);
  if (!existsSync(installDir)) throw new ConfigError(`mattermost.installDir ${installDir} does not exist`);
  const envFile = cfg.mattermost.envFile;
  let env: Record<string, string> = {};
  if (envFile && opts.envText !== undefined) {
    env = parseEnvFile(opts.envText);
  } else if (envFile) {
    try {
      env = await readEnvFile(envFile);
    } catch (err) {
      throw new ConfigError(
        `mattermost.envFile: cannot read ${envFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
        [],
        { cause: err },
      );
    }
  }
  const {
    config: mm,
    source,
    overridden,
  } = await loadMattermostConfig(installDir, env, cfg.mattermost.configPath, opts.configText);
  const resolve = (p: string) => (path.isAbsolute(p) ? path.normalize(p) : path.resolve(installDir, p));

  const driver = setting(mm, 'SqlSettings', 'DriverName') ?? 'postgres';
  if (driver !== 'postgres' && driver !== 'mysql') {
    throw new ConfigError(`SqlSettings.DriverName "${driver}" is not supported (postgres, or mysql for v10 and older)`);
  }
  const dsn = setting(mm, 'SqlSettings', 'DataSource');
  if (!dsn) {
    throw new ConfigError(
      'SqlSettings.DataSource is empty in the Mattermost config and no MM_SQLSETTINGS_DATASOURCE override was found',
      [],
      { hint: 'set mattermost.envFile to the service environment file that holds it' },
    );
  }
  const database = parseDsn(dsn, driver);

  const configDir = source.kind === 'file' && source.file ? path.dirname(source.file) : path.join(installDir, 'config');
  const fileDriver = setting(mm, 'FileSettings', 'DriverName') ?? 'local';
  const dataDir = resolve(setting(mm, 'FileSettings', 'Directory') ?? './data/');
  const exportStore = locateExportStore(mm, resolve);
  const fileStoreName = fileDriver === DRIVER_LOCAL ? undefined : describeRemoteStore(mm, fileDriver, '');
  const logFile = setting(mm, 'LogSettings', 'FileLocation');
  const logsDir = logFile
    ? logFile.endsWith('.log')
      ? path.dirname(resolve(logFile))
      : resolve(logFile)
    : path.join(installDir, 'logs');
  const bleve = setting(mm, 'BleveSettings', 'IndexDir');

  const site: Site = {
    installDir,
    configDir,
    configDatabase: source.kind === 'database' ? source.db : undefined,
    envFile,
    database,
    fileDriver,
    fileStoreName,
    dataDir,
    exportStore,
    pluginDir: resolve(setting(mm, 'PluginSettings', 'Directory') ?? './plugins'),
    clientPluginDir: resolve(setting(mm, 'PluginSettings', 'ClientDirectory') ?? './client/plugins'),
    logsDir,
    bleveDir: bleve ? resolve(bleve) : undefined,
    certificateFiles: certificateFiles(mm, configDir, resolve),
    extraPaths: cfg.backup.extraPaths.map((p) => path.resolve(p)),
  };
  // Each kind of the registry says where it lives here (or why it is skipped).
  const plans: ComponentPlan[] = COMPONENT_KINDS.map((k) => k.locate(site));

  const excluded = new Set([...cfg.backup.exclude, ...(opts.exclude ?? [])]);
  for (const p of plans) {
    if (p.status === 'included' && excluded.has(p.id)) {
      Object.assign(p, { status: 'skipped', reason: 'excluded by configuration or --exclude' });
    }
  }
  nestExclusions(plans, installDir, cfg.backup.appExclude);
  return {
    installDir,
    configSource: source,
    overridden,
    envFile,
    mmConfig: mm,
    database,
    fileDriver,
    fileStoreName,
    components: plans,
  };
}

/** A directory that holds another component's root leaves that subtree to the other component. */
function nestExclusions(plans: ComponentPlan[], installDir: string, appExclude: string[]): void {
  const roots = plans.filter((p) => p.kind === 'tree' && p.root && !p.include);
  for (const outer of roots) {
    for (const inner of roots) {
      if (inner !== outer && isInside(inner.root as string, outer.root as string) && inner.root !== outer.root) {
        outer.exclude.push(
          path
            .relative(outer.root as string, inner.root as string)
            .split(path.sep)
            .join('/'),
        );
      }
    }
  }
  const app = plans.find((p) => p.id === APPLICATION);
  if (app) {
    app.exclude.push(
      ...appExclude.map((p) => path.relative(installDir, path.resolve(installDir, p)).split(path.sep).join('/')),
    );
  }
  for (const p of plans) p.exclude = [...new Set(p.exclude)].sort();
}

/** The dedicated export store, when FileSettings.DedicatedExportStore is on. */
function locateExportStore(mm: MmConfig, resolve: (p: string) => string): Site['exportStore'] {
  if (!flagSetting(mm, 'FileSettings', 'DedicatedExportStore')) return undefined;
  const driver = setting(mm, 'FileSettings', 'ExportDriverName') ?? DRIVER_LOCAL;
  if (driver !== DRIVER_LOCAL) return { driver, name: describeRemoteStore(mm, driver, 'Export') };
  // Mattermost's default for an empty ExportDirectory is "./data/" (model/config.go SetDefaults).
  return { driver, dir: resolve(setting(mm, 'FileSettings', 'ExportDirectory') ?? './data/') };
}

function certificateFiles(mm: MmConfig, configDir: string, resolve: (p: string) => string): string[] {
  const files: string[] = [];
  const add = (v: string | undefined, relativeTo: string) => {
    if (v) files.push(path.isAbsolute(v) ? v : path.resolve(relativeTo, v));
  };
  add(setting(mm, 'ServiceSettings', 'TLSCertFile'), path.dirname(resolve('x')));
  add(setting(mm, 'ServiceSettings', 'TLSKeyFile'), path.dirname(resolve('x')));
  for (const f of ['IdpCertificateFile', 'PublicCertificateFile', 'PrivateKeyFile']) {
    add(setting(mm, 'SamlSettings', f), configDir);
  }
  for (const f of ['PublicCertificateFile', 'PrivateKeyFile']) add(setting(mm, 'LdapSettings', f), configDir);
  return [...new Set(files)].filter((f) => existsSync(f) && statSync(f).isFile()).sort();
}

export { isInside };
