/**
 * The registry of component kinds (GitLab's backup manager's task list): the one place that
 * lists what a backup holds. Discovery locates each kind in this order, backups copy them
 * (databases first), restores and verifies dispatch through the kind of each manifest record,
 * and the API describes them to the webapp (GET /v1/components).
 */
import path from 'node:path';
import { COMPONENT_IDS, type ComponentId } from '../config/schema';
import { sameServer } from '../database/dsn';
import { VerificationError } from '../core/errors';
import type { ComponentRecord } from '../manifest/manifest';
import type { ComponentDescription, ComponentKind } from './component';
import { configDatabase, DatabaseKind, mainDatabase } from './database_kind';
import { TreeKind, type TreeKindSpec } from './tree_kind';

/** Tables of Mattermost's database config store (MM_CONFIG=postgres://...). */
const CONFIG_STORE_TABLES = ['configurations', 'configurationfiles', 'db_config_migrations'];

/** The main database: its schema version is the one a restore checks against the server's. */
export const MAIN_DATABASE: ComponentId = 'database';
/** The application (binaries): restoring it too lets an older server take a newer schema. */
export const APPLICATION: ComponentId = 'app';
/** The config directory: its config.json is pointed at the new database on a restore with --database-url. */
export const CONFIG_DIR: ComponentId = 'config';

/**
 * The components that hold secrets: the config (database password, keys), the service's
 * environment file, TLS/SAML/LDAP keys, and the databases (password hashes, session tokens, the
 * config store's config). The page lists them by name only and never offers them for download.
 */
const HOLDS_SECRETS: ReadonlySet<ComponentId> = new Set<ComponentId>([
  'database',
  'config_store',
  'config',
  'env_file',
  'tls',
]);

/** Whether component `id` holds secrets (an id this version does not know counts as one: default deny). */
export function holdsSecrets(id: string): boolean {
  return !(COMPONENT_IDS as readonly string[]).includes(id) || HOLDS_SECRETS.has(id as ComponentId);
}

/** Every id has exactly one kind (the type says so; a unit test checks each kind answers to its key). */
const KINDS: { readonly [K in ComponentId]: ComponentKind } = {
  database: new DatabaseKind({
    id: 'database',
    title: 'Database',
    description: "Mattermost's database: users, teams, channels, posts and most settings.",
    location: 'SqlSettings.DataSource',
    locate: (s) => ({ status: 'included', db: s.database, title: `Database (${s.database.driver})` }),
    target: mainDatabase,
  }),
  config_store: new DatabaseKind({
    id: 'config_store',
    title: 'Config store (database)',
    description: 'The configuration when it lives in a database of its own (MM_CONFIG is a database address).',
    location: 'MM_CONFIG',
    locate: (s) => {
      if (!s.configDatabase) return { status: 'skipped', reason: 'the config is a file (config.json)' };
      if (sameServer(s.configDatabase, s.database) && s.configDatabase.database === s.database.database) {
        return { status: 'skipped', reason: 'the config tables live in the main database and are in its dump' };
      }
      return { status: 'included', db: s.configDatabase, tables: CONFIG_STORE_TABLES };
    },
    target: configDatabase('config_store'),
  }),
  config: tree(
    'config',
    'Config directory (config.json, SAML/LDAP certificates)',
    'config.json and the certificates beside it.',
    'the directory of config.json',
    (s) => ({ root: s.configDir }),
  ),
  env_file: tree(
    'env_file',
    'Service environment file',
    "The service's environment file (MM_* overrides, often the database password).",
    'mattermost.envFile',
    (s) => {
      if (!s.envFile) return { skip: 'mattermost.envFile is not set' };
      if (isInside(s.envFile, s.configDir)) return { skip: `${s.envFile} is inside the config directory` };
      return { root: path.dirname(s.envFile), include: [path.basename(s.envFile)] };
    },
  ),
  app: tree(
    'app',
    'Application (bin, client, fonts, i18n, templates, prepackaged_plugins)',
    'The Mattermost install itself, without the parts listed separately.',
    'mattermost.installDir',
    (s) => ({ root: s.installDir }),
  ),
  data: tree(
    'data',
    'File store (attachments)',
    'Uploaded files, images and their previews on the local file store.',
    'FileSettings.Directory',
    (s) =>
      s.fileDriver === 'local'
        ? { root: s.dataDir, fileInfo: s.database }
        : {
            skip: `files are stored in ${s.fileStoreName ?? s.fileDriver} (FileSettings.DriverName ${s.fileDriver}); they stay where they are`,
          },
  ),
  export_store: tree(
    'export_store',
    'Dedicated export store (compliance and bulk exports)',
    'The directory of the dedicated export store (FileSettings.DedicatedExportStore) on the local driver.',
    'FileSettings.ExportDirectory',
    (s) => {
      const e = s.exportStore;
      if (!e) return { skip: 'FileSettings.DedicatedExportStore is off: exports are written to the file store' };
      if (e.driver !== 'local' || !e.dir) {
        return {
          skip: `exports are stored in ${e.name ?? e.driver} (FileSettings.ExportDriverName ${e.driver}); they stay where they are`,
        };
      }
      // The same directory as a local file store is that component's (one tree, backed up once).
      if (s.fileDriver === 'local' && e.dir === s.dataDir) {
        return { skip: `FileSettings.ExportDirectory is the file store directory ${e.dir}: backed up as data` };
      }
      return { root: e.dir };
    },
  ),
  plugins: tree('plugins', 'Server plugins', 'Installed server plugins.', 'PluginSettings.Directory', (s) => ({
    root: s.pluginDir,
  })),
  client_plugins: tree(
    'client_plugins',
    'Webapp plugins',
    'The webapp parts of installed plugins.',
    'PluginSettings.ClientDirectory',
    (s) => ({ root: s.clientPluginDir }),
  ),
  logs: tree('logs', 'Logs', "Mattermost's log files.", 'LogSettings.FileLocation', (s) => ({ root: s.logsDir })),
  bleve: tree(
    'bleve',
    'Bleve search index',
    'The Bleve search index (Mattermost v10 and older).',
    'BleveSettings.IndexDir',
    (s) =>
      s.bleveDir ? { root: s.bleveDir } : { skip: 'BleveSettings.IndexDir is not set (Bleve was removed in v11)' },
  ),
  tls: tree(
    'tls',
    'TLS and SAML/LDAP files outside config/',
    'Certificate and key files the config names outside the config directory.',
    'ServiceSettings.TLSCertFile, SamlSettings, LdapSettings',
    (s) => {
      const files = s.certificateFiles.filter((f) => !isInside(f, s.configDir));
      return files.length
        ? { root: '/', include: files.map((f) => f.slice(1)) }
        : { skip: 'no certificate or key file outside the config directory' };
    },
  ),
  extra: tree(
    'extra',
    'Extra paths from the config',
    'Further files and directories listed in backup.extraPaths.',
    'backup.extraPaths',
    (s) =>
      s.extraPaths.length
        ? { root: '/', include: s.extraPaths.map((p) => p.slice(1)) }
        : { skip: 'backup.extraPaths is empty' },
  ),
};

function tree(
  id: ComponentId,
  title: string,
  description: string,
  location: string,
  locate: TreeKindSpec['locate'],
): ComponentKind {
  return new TreeKind({ id, title, description, location, locate });
}

/** Every kind, in discovery order (the order of COMPONENT_IDS). */
export const COMPONENT_KINDS: readonly ComponentKind[] = COMPONENT_IDS.map((id) => KINDS[id]);

export function componentKind(id: ComponentId): ComponentKind {
  return KINDS[id];
}

/**
 * The kind of a manifest record. A manifest is input: an id no kind has (a newer version's
 * snapshot, or an altered one) or a record that does not have its kind's shape is refused,
 * before anything is stopped or written.
 */
export function kindOf(r: ComponentRecord): ComponentKind {
  const kind = (COMPONENT_IDS as readonly string[]).includes(r.id) ? KINDS[r.id as ComponentId] : undefined;
  if (!kind) throw refused(r.id, 'is not a component this version knows (a snapshot of a newer mm-backup?)');
  if (!kind.fits(r)) {
    throw refused(r.id, `does not have the shape of a ${kind.store === 'database' ? 'database dump' : 'file tree'}`);
  }
  return kind;
}

/** Records in the order a restore writes them: databases first (as a backup copies them). */
export function restoreOrder<T extends ComponentRecord>(records: readonly T[]): T[] {
  const rank = (r: T) => (kindOf(r).store === 'database' ? 0 : 1);
  return [...records].sort((a, b) => rank(a) - rank(b));
}

export function describeComponents(): ComponentDescription[] {
  return COMPONENT_KINDS.map((k) => ({ ...k.describe(), secrets: HOLDS_SECRETS.has(k.id) }));
}

export function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function refused(id: string, problem: string): VerificationError {
  return new VerificationError(
    `the snapshot cannot be restored: component ${id} ${problem}`,
    [{ component: id, problem }],
    {
      hint: 'restore it with the mm-backup version that took it, or restore the other components with --components',
    },
  );
}
