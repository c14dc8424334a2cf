/**
 * Everything physical mode needs to know before it changes anything, found and checked in one
 * place: the postgres account, the local cluster behind Mattermost's DSN, superuser SQL over its
 * socket, the settings, pgBackRest and its version. Every problem is a refusal with what to do.
 */
import { realpathSync } from 'node:fs';
import type { Config } from '../config/schema';
import { PreconditionError } from '../core/errors';
import { findPgBinDir, pgTool } from '../database/pg_tools';
import { buildArchiveCommand } from '../database/pgbackrest/archive_command';
import { locateCluster, type LocalCluster } from '../database/pgbackrest/local_cluster';
import { LocalSuperuser } from '../database/pgbackrest/local_superuser';
import { PgBackRest, resolvePgBackRest } from '../database/pgbackrest/pgbackrest';
import { postgresAccount, type OsAccount } from '../database/pgbackrest/postgres_account';
import { postgresService, type PostgresService } from '../database/pgbackrest/postgres_service';
import { readSettings, type SettingsSnapshot } from '../database/pgbackrest/settings';
import { checkSupported, formatVersion } from '../database/pgbackrest/version';
import { discover } from '../discovery/discover';
import { describePitrRepo } from './pitr_repo';

export interface PitrSite {
  account: OsAccount;
  cluster: LocalCluster;
  su: LocalSuperuser;
  settings: SettingsSnapshot;
  service: PostgresService;
  /** pgBackRest's repository: its directory (pitr.repo local), or s3://bucket/prefix. */
  repoPath: string;
  configDir: string;
  /** Present when pgBackRest is installed and supports this cluster (always, for enable). */
  pgbackrest?: { cli: PgBackRest; version: string; archiveCommand: string };
  /** Why `pgbackrest` is absent (not installed, unsupported version), when it was not required. */
  pgbackrestError?: unknown;
}

/**
 * Inspects without changing anything. `needPgBackRest` false (disable, status) tolerates a missing
 * or unsupported pgBackRest: undoing our settings must not depend on it.
 */
export async function inspectPitr(cfg: Config, needPgBackRest: boolean, signal?: AbortSignal): Promise<PitrSite> {
  const account = postgresAccount();
  const { database } = await discover(cfg);
  const cluster = locateCluster(database, account, cfg.pitr.dataDir);
  const psql = pgTool(findPgBinDir(cfg.database.pgBinDir), 'psql');
  const su = new LocalSuperuser(psql, cluster.socketDir, cluster.port, account);
  const settings = await readSettings(su, signal);
  if (realpathSync(settings.data_directory) !== realpathSync(cluster.dataDir)) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `the server on port ${cluster.port} uses ${settings.data_directory}, not ${cluster.dataDir}`,
      { hint: 'set pitr.dataDir to the data directory of the cluster Mattermost uses' },
    );
  }
  const serverMajor = Math.floor(Number(settings.version_num) / 10000);
  if (serverMajor !== cluster.major) {
    throw new PreconditionError(
      'VERSION_MISMATCH',
      `the running server is PostgreSQL ${serverMajor} but ${cluster.dataDir} holds a version ${cluster.major} cluster`,
    );
  }
  const configDir = cfg.pitr.configDir;
  const site: PitrSite = {
    account,
    cluster,
    su,
    settings,
    service: postgresService(cfg.pitr.postgresService, cluster),
    repoPath: describePitrRepo(cfg),
    configDir,
  };
  try {
    const bin = resolvePgBackRest(cfg.pitr.pgbackrestBin);
    const cli = new PgBackRest(bin, configDir, cfg.pitr.stanza, account);
    const version = await cli.version(signal);
    checkSupported(version, serverMajor);
    const archiveCommand = buildArchiveCommand({ pgbackrest: bin, configPath: configDir, stanza: cfg.pitr.stanza });
    site.pgbackrest = { cli, version: formatVersion(version), archiveCommand };
  } catch (err) {
    if (needPgBackRest) throw err;
    site.pgbackrestError = err;
  }
  return site;
}
