/**
 * A throwaway world for physical mode: a real PostgreSQL cluster (run as postgres), a minimal
 * Mattermost install whose config points at it through a non-superuser DSN, a repository, and an
 * mm-backup config with a `pitr` section. Its config directory has a hostile name (space, quote,
 * `$`, `%`) so that every enable proves archive_command's quoting through the real PostgreSQL and sh.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTempDir, pgDsnForMattermost, removeTempDir, startPostgres, type PgServer } from '@mm-backup/testkit';
import { runCli, type CliResult } from './cli';

export interface PitrEnv {
  db: PgServer;
  root: string;
  repo: string;
  cfgFile: string;
  configDir: string;
  stanza: string;
  /** Where physical mode keeps its state: beside the signing key (the config file's directory), not in the repository. */
  stateFile: string;
  /** Rewrites the mm-backup config with `pitr` merged over the defaults of this env. */
  writeConfig(pitr?: Record<string, unknown>): Promise<void>;
  /** Points Mattermost's DSN at another host/port (a database elsewhere). */
  writeDsn(host: string, port: number): Promise<void>;
  cli(...args: string[]): Promise<CliResult>;
  /** name → setting for every row of pg_settings, and the bytes of postgresql.auto.conf. */
  snapshot(): Promise<{ settings: Record<string, string>; autoConf: string }>;
  setting(name: string): Promise<string>;
  cleanup(): Promise<void>;
}

let seq = 0;

export async function setupPitr(opts: { settings?: Record<string, string> } = {}): Promise<PitrEnv> {
  if (process.getuid?.() !== 0) {
    throw new Error('physical-mode tests run as root: pgBackRest and pg_ctl run as postgres');
  }
  const db = await startPostgres({ name: 'pitr', settings: opts.settings });
  const root = await makeTempDir('pitr-');
  // postgres must traverse to the repository and config directory, as on a real host's /var and /etc.
  await chmod(root, 0o711);
  const stanza = `mm${process.pid}x${++seq}`;
  const mmPassword = 'mm-user-pw-0123456789';
  await db.createRole('mmuser', mmPassword);
  await db.createDatabase('mattermost', 'mmuser');
  const installDir = path.join(root, 'install');
  await mkdir(path.join(installDir, 'config'), { recursive: true });
  const writeDsn = async (host: string, port: number) =>
    writeFile(
      path.join(installDir, 'config', 'config.json'),
      JSON.stringify({
        SqlSettings: {
          DriverName: 'postgres',
          DataSource: pgDsnForMattermost('mmuser', mmPassword, host, port, 'mattermost'),
        },
      }),
    );
  await writeDsn('127.0.0.1', db.port);
  const repo = path.join(root, 'repo');
  const cfgFile = path.join(root, 'mm-backup.json');
  const configDir = path.join(root, "etc pgbackrest $HOME 100% it's");
  const writeConfig = async (pitr: Record<string, unknown> = {}) => {
    const cfg = {
      mattermost: { installDir, url: 'http://127.0.0.1:9' },
      service: { preset: 'none' },
      repository: { path: repo },
      pitr: {
        stanza,
        configDir,
        archiveTimeoutSeconds: 30,
        ...pitr,
        postgresService: {
          preset: 'pg_ctl',
          binDir: db.binDir,
          logFile: db.logFile,
          ...(pitr.postgresService as Record<string, unknown> | undefined),
        },
      },
    };
    await writeFile(cfgFile, JSON.stringify(cfg, null, 2), { mode: 0o600 });
  };
  await writeConfig();
  const snapshot = async () => {
    const rows = (await db.query('postgres', 'SELECT name, setting FROM pg_settings ORDER BY name')) as Array<{
      name: string;
      setting: string;
    }>;
    return {
      settings: Object.fromEntries(rows.map((r) => [r.name, r.setting])),
      autoConf: await readFile(path.join(db.dataDir, 'postgresql.auto.conf'), 'utf8'),
    };
  };
  return {
    db,
    root,
    repo,
    cfgFile,
    configDir,
    stanza,
    stateFile: path.join(root, 'mm-backup-pitr', 'state.json'),
    writeConfig,
    writeDsn,
    cli: (...args: string[]) => runCli(['--config', cfgFile, '--json', ...args]),
    snapshot,
    setting: async (name) =>
      (
        (await db.query('postgres', `SELECT setting FROM pg_settings WHERE name = $1`, [name]))[0] as {
          setting: string;
        }
      ).setting,
    cleanup: async () => {
      await db.destroy();
      await removeTempDir(root);
    },
  };
}

/** The argv of `db`'s pg_ctl run as postgres with `args` (what a custom postgresService names). */
export function pgCtlAsPostgres(db: PgServer, ...args: string[]): string[] {
  return ['runuser', '-u', 'postgres', '--', path.join(db.binDir, 'pg_ctl'), ...args];
}

/**
 * Writes `root`/start-postgres.sh, 0755: the sh lines `checks` (which may refuse with `exit 1`;
 * $1 is the data directory), then pg_ctl start as postgres ($1 data dir, $2 bin dir, $3 log file).
 * Returns the `pitr.postgresService` block of a custom service that starts `db` through that
 * script and stops and checks it with pg_ctl as postgres.
 */
export async function customPostgresService(
  root: string,
  db: PgServer,
  checks: string[],
): Promise<{ preset: 'custom'; stop: string[]; start: string[]; status: string[] }> {
  const start = path.join(root, 'start-postgres.sh');
  await writeFile(
    start,
    ['#!/bin/sh', ...checks, 'exec runuser -u postgres -- "$2/pg_ctl" start -D "$1" -l "$3" -w -s', ''].join('\n'),
    { mode: 0o755 },
  );
  return {
    preset: 'custom',
    stop: pgCtlAsPostgres(db, 'stop', '-D', db.dataDir, '-m', 'fast', '-w', '-s'),
    start: [start, db.dataDir, db.binDir, db.logFile],
    status: pgCtlAsPostgres(db, 'status', '-D', db.dataDir, '-s'),
  };
}
