/**
 * PostgreSQL's own service commands (argument arrays), for the one restart archive_mode and
 * wal_level need. Presets: Debian's systemd units, pg_ctl run as postgres (no service manager), or
 * a docker compose service.
 */
import path from 'node:path';
import type { PitrConfig } from '../../config/pitr_schema';
import { runProcess } from '../../process/run_process';
import { asAccount, type OsAccount } from './postgres_account';

export interface ServiceCommand {
  argv: string[];
  /** pg_ctl must run as the cluster's owner; systemctl and custom commands run as we do. */
  asPostgres: boolean;
}

export interface PostgresService {
  stop: ServiceCommand;
  start: ServiceCommand;
  /** Exits 0 while PostgreSQL runs. */
  status: ServiceCommand;
}

/** The commands for this cluster (its major and data directory are known only at run time). */
export function postgresService(
  cfg: PitrConfig['postgresService'],
  cluster: { major: number; dataDir: string },
): PostgresService {
  const own = (argv: string[]): ServiceCommand => ({ argv, asPostgres: false });
  // custom is the default branch: the schema requires its three arrays.
  switch (cfg.preset) {
    case 'systemd': {
      const unit = cfg.unit ?? `postgresql@${cluster.major}-${cfg.cluster}`;
      return {
        stop: own(['systemctl', 'stop', unit]),
        start: own(['systemctl', 'start', unit]),
        status: own(['systemctl', 'is-active', '--quiet', unit]),
      };
    }
    case 'pg_ctl': {
      const pgCtl = path.join(cfg.binDir ?? `/usr/lib/postgresql/${cluster.major}/bin`, 'pg_ctl');
      const pg = (argv: string[]): ServiceCommand => ({ argv: [pgCtl, ...argv], asPostgres: true });
      // -l: without a log file the postmaster would keep our stdout/stderr pipes open for its whole life.
      const log = cfg.logFile ?? path.join(cluster.dataDir, 'pg_ctl.log');
      return {
        stop: pg(['stop', '-D', cluster.dataDir, '-m', 'fast', '-w', '-t', '120', '-s']),
        start: pg(['start', '-D', cluster.dataDir, '-l', log, '-w', '-t', '120', '-s']),
        status: pg(['status', '-D', cluster.dataDir, '-s']),
      };
    }
    case 'docker-compose': {
      // As the Mattermost preset (config/presets.ts), plus a status: pg_ctl status inside the
      // container as postgres (pg_ctl refuses root; the official image sets PGDATA) exits 0 while
      // the postmaster lives, recovering or not; with the container stopped, exec fails.
      const base = ['docker', 'compose', '-f', cfg.composeFile ?? 'docker-compose.yml'];
      return {
        stop: own([...base, 'stop', cfg.composeService]),
        start: own([...base, 'start', cfg.composeService]),
        status: own([...base, 'exec', '-T', '--user', 'postgres', cfg.composeService, 'pg_ctl', 'status']),
      };
    }
    default:
      return { stop: own(cfg.stop ?? []), start: own(cfg.start ?? []), status: own(cfg.status ?? []) };
  }
}

/** Runs one service command to completion; rejects with ProcessError on a non-zero exit. */
export async function runServiceCommand(c: ServiceCommand, account: OsAccount, signal?: AbortSignal): Promise<void> {
  const [cmd, ...args] = c.argv;
  if (!cmd) throw new Error('empty service command');
  await runProcess(
    cmd,
    args,
    c.asPostgres ? asAccount(account, { signal, stdout: 'ignore' }) : { signal, stdout: 'ignore' },
  );
}

/** Formats a command for people ("to finish, run: …"); arguments with spaces are quoted. */
export function describeCommand(argv: string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9@%+=:,./_-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
