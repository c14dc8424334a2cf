/**
 * The restore drill's scratch cluster: a fresh directory (mkdtemp, postgres, 0700) that pgBackRest
 * restores into, with a sibling `<dir>-tablespaces` (postgres, 0700) its tablespaces are mapped to
 * (pgBackRest 2.45 refuses a tablespace inside PGDATA), started with pg_ctl as postgres on a free port with its socket inside the
 * directory and no TCP listener, archiving off, and always stopped and deleted afterwards (as
 * postgres: root never walks a tree postgres can change). Never the live data directory.
 */
import { readlinkSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, realpath, rmdir, statfs } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { PreconditionError, ProcessError } from '../../core/errors';
import { runProcess } from '../../process/run_process';
import { confQuote } from './archive_command';
import { deleteAsAccount } from './data_dir';
import { readPostmasterPid } from './local_cluster';
import { LocalSuperuser } from './local_superuser';
import { asAccount, type OsAccount } from './postgres_account';
import { chownDirNoFollow, readRegularFile, replaceFile } from './safe_fs';
import { sleep } from '../../core/sleep';

/** Every scratch directory is named so; a leftover of a killed drill is found by it. */
export const DRILL_PREFIX = 'mm-backup-drill-';
/** `<scratch>` + this: the drill's tablespaces, beside its data directory (mkdtemp's names never end so). */
export const TABLESPACES_SUFFIX = '-tablespaces';
const LOG = 'mm-backup-drill.log';
const HBA = 'mm-backup-drill-hba.conf';
const IDENT = 'mm-backup-drill-ident.conf';
/** The longest unix socket path (sun_path is 108 bytes with its NUL) minus `/.s.PGSQL.65535`. */
const SOCKET_DIR_MAX = 107 - '/.s.PGSQL.65535'.length;

/** Settings the drill sets last in postgresql.auto.conf (read after postgresql.conf, so they win). */
function drillSettings(dir: string, port: number, restoreCommand: string): Record<string, string> {
  return {
    port: String(port),
    listen_addresses: "''",
    unix_socket_directories: confQuote(dir),
    // The copy must never archive into the live cluster's repository (nor anywhere).
    archive_mode: "'off'",
    archive_command: "''",
    archive_library: "''",
    restore_command: confQuote(restoreCommand),
    // Off: no read-only sessions during recovery, so no check of max_connections & co. against
    // the live cluster's; the drill connects once recovery has ended and the copy is promoted.
    hot_standby: "'off'",
    hba_file: confQuote(path.join(dir, HBA)),
    ident_file: confQuote(path.join(dir, IDENT)),
    ssl: "'off'",
    logging_collector: "'off'",
    shared_buffers: "'32MB'",
    max_wal_senders: '0',
    primary_conninfo: "''",
    cluster_name: "'mm-backup-drill'",
  };
}

export class DrillCluster {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly account: OsAccount,
    private readonly binDir: string,
  ) {}

  /** Where the copy's tablespaces are restored: beside its data directory, never inside it. */
  get tablespaceDir(): string {
    return `${this.dir}${TABLESPACES_SUFFIX}`;
  }

  /**
   * Makes the scratch directory under `root` (which must exist). Refuses a root whose path pg_ctl's
   * own shell command could misread (it quotes with double quotes only) or too long for a socket.
   */
  static async create(root: string, account: OsAccount, binDir: string): Promise<DrillCluster> {
    const real = await realpath(root).catch(() => undefined);
    if (!real || !(await lstat(real)).isDirectory()) {
      throw new PreconditionError('PRECONDITION_FAILED', `the drill directory ${root} is not a directory`, {
        hint: 'create it, or set pitr.drillDir to an existing directory with room for a copy of the database',
      });
    }
    if (!/^\/[A-Za-z0-9._/+@:,=-]*$/.test(real)) {
      throw new PreconditionError(
        'PRECONDITION_FAILED',
        `the drill directory ${real} holds characters pg_ctl cannot take`,
        {
          hint: 'set pitr.drillDir to a path of letters, digits and . _ - / only',
        },
      );
    }
    if (path.join(real, `${DRILL_PREFIX}XXXXXX`).length > SOCKET_DIR_MAX) {
      throw new PreconditionError(
        'PRECONDITION_FAILED',
        `the drill directory ${real} is too long for a unix socket path`,
        {
          hint: 'set pitr.drillDir to a shorter path',
        },
      );
    }
    const port = await freePort();
    // The real path: a postmaster is recognised by its working directory, which is one.
    const dir = await mkdtemp(path.join(real, DRILL_PREFIX));
    // By handle, never by path: root may be postgres's, which could swap in a link meanwhile.
    const owner = { uid: account.uid, gid: account.gid };
    const cluster = new DrillCluster(dir, port, account, binDir);
    try {
      await chownDirNoFollow(dir, owner, 0o700);
      // Not recursive: an existing entry there (a link planted meanwhile) fails instead of being used.
      await mkdir(cluster.tablespaceDir, { mode: 0o700 });
      await chownDirNoFollow(cluster.tablespaceDir, owner, 0o700);
    } catch (err) {
      // Still empty (nothing was restored yet): rmdir never follows a link nor removes content.
      await rmdir(cluster.tablespaceDir).catch(() => undefined);
      await rmdir(dir).catch(() => undefined);
      throw err;
    }
    return cluster;
  }

  /** A cluster object for a leftover directory (a killed drill's), to stop and delete it. */
  static leftover(dir: string, account: OsAccount, binDir: string): DrillCluster {
    return new DrillCluster(dir, 0, account, binDir);
  }

  /**
   * After pgBackRest's restore: our settings appended to postgresql.auto.conf (pgBackRest's
   * restore_command replaced: 2.45 does not quote the config path), a postgresql.conf when the
   * restored directory has none (Debian keeps it in /etc), our own pg_hba.conf (local, postgres,
   * peer only) and an empty pg_ident.conf.
   */
  async configure(restoreCommand: string): Promise<void> {
    const owner = { uid: this.account.uid, gid: this.account.gid };
    const settings = drillSettings(this.dir, this.port, restoreCommand);
    const auto = path.join(this.dir, 'postgresql.auto.conf');
    const old = await readRegularFile(auto).catch(() => undefined);
    const kept = (old?.data.toString('utf8') ?? '')
      .split('\n')
      .filter((l) => !Object.keys(settings).some((k) => new RegExp(`^\\s*${k}\\s*=`).test(l)));
    while (kept.length && kept[kept.length - 1] === '') kept.pop();
    const lines = [...kept, '# mm-backup restore drill', ...Object.entries(settings).map(([k, v]) => `${k} = ${v}`)];
    await replaceFile(auto, `${lines.join('\n')}\n`, { owner, mode: 0o600 });
    const conf = path.join(this.dir, 'postgresql.conf');
    if (!(await lstat(conf).catch(() => undefined))) await replaceFile(conf, '', { owner, mode: 0o600 });
    await replaceFile(path.join(this.dir, HBA), `local all ${this.account.name} peer\n`, { owner, mode: 0o600 });
    await replaceFile(path.join(this.dir, IDENT), '', { owner, mode: 0o600 });
  }

  /** Starts it without waiting (pg_ctl -W); `waitPromoted` follows recovery. */
  async start(signal: AbortSignal): Promise<void> {
    await this.pgCtl(['start', '-D', this.dir, '-l', path.join(this.dir, LOG), '-W', '-s'], signal);
  }

  /**
   * Waits until the copy has recovered, been promoted and answers a query (pg_is_in_recovery()
   * false: consistent and out of recovery). Fails when its postmaster stops, or after `timeoutMs`.
   */
  async waitPromoted(psql: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const su = this.superuser(psql, 'postgres');
    const deadline = Date.now() + timeoutMs;
    // pg_ctl -W returns before the postmaster wrote its pid file; until then "not running" means nothing.
    const pidBy = Date.now() + 30_000;
    while (!readPostmasterPid(this.dir)) {
      if (Date.now() > pidBy) {
        throw new ProcessError(`the drill's PostgreSQL did not start: ${await this.logTail()}`);
      }
      await sleep(100, signal);
    }
    for (;;) {
      try {
        const r = (await su.json(`SELECT json_build_object('r', pg_is_in_recovery())::text`, signal)) as {
          r?: unknown;
        } | null;
        if (r?.r === false) return;
      } catch (err) {
        if (signal.aborted) throw err;
        if (!(await this.running())) {
          throw new ProcessError(`the drill's PostgreSQL stopped during recovery: ${await this.logTail()}`, {
            cause: err,
          });
        }
      }
      if (Date.now() > deadline) {
        throw new ProcessError(
          `the drill's PostgreSQL did not finish recovery within ${Math.round(timeoutMs / 60000)} min (pitr.drillTimeoutMinutes): ${await this.logTail()}`,
        );
      }
      await sleep(500, signal);
    }
  }

  superuser(psql: string, database: string): LocalSuperuser {
    return new LocalSuperuser(psql, this.dir, this.port, this.account, database);
  }

  /** True while a postmaster runs on the directory. */
  async running(): Promise<boolean> {
    return this.pgCtl(['status', '-D', this.dir, '-s']).then(
      () => true,
      () => false,
    );
  }

  /**
   * Stops the copy (immediate: it is thrown away) and deletes its directory and its tablespaces'
   * as postgres; a postmaster that does not stop is killed. Returns what could not be done, for a warning.
   */
  async destroy(): Promise<string | undefined> {
    const problems: string[] = [];
    if (await lstat(path.join(this.dir, 'postmaster.pid')).catch(() => undefined)) {
      await this.pgCtl(['stop', '-D', this.dir, '-m', 'immediate', '-w', '-t', '60', '-s']).catch(
        async (err: unknown) => {
          if (!(await this.killPostmaster())) problems.push(`its PostgreSQL did not stop (${(err as Error).message})`);
        },
      );
    }
    for (const d of [this.dir, this.tablespaceDir]) {
      let why = '';
      // rm -rf as postgres: the data directory's pg_tblspc links are removed, never followed.
      await deleteAsAccount(d, this.account, {
        warn: (w) => {
          why = w;
        },
      });
      if (why) problems.push(why);
    }
    return problems.length ? `the restore drill's copy in ${this.dir}: ${problems.join('; ')}` : undefined;
  }

  /** SIGKILL to the postmaster named by postmaster.pid, only if that process runs in this directory. */
  private async killPostmaster(): Promise<boolean> {
    const pm = readPostmasterPid(this.dir);
    if (!pm) return true;
    try {
      if (readlinkSync(`/proc/${pm.pid}/cwd`) !== this.dir) return true;
      process.kill(pm.pid, 'SIGKILL');
    } catch {
      return true; // gone
    }
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(pm.pid, 0);
      } catch {
        return true;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }

  /** The copy's server log, for an error message: its last FATAL/PANIC/ERROR lines, else its last lines; printable only. */
  async logTail(): Promise<string> {
    const log = await readRegularFile(path.join(this.dir, LOG)).catch(() => undefined);
    if (!log) return 'no server log';
    const lines = log.data
      .subarray(-64 * 1024)
      .toString('utf8')
      .replace(/[^\x20-\x7e\n]/g, '?')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    const bad = lines.filter((l) => /\b(FATAL|PANIC|ERROR):/.test(l)).slice(-3);
    return `its log says: ${(bad.length ? bad : lines.slice(-3)).join(' | ').slice(0, 1500)}`;
  }

  private pgCtl(args: string[], signal?: AbortSignal): Promise<string> {
    return runProcess(path.join(this.binDir, 'pg_ctl'), args, asAccount(this.account, { signal, stdout: 'ignore' }));
  }
}

/**
 * Stops and deletes the scratch directories of drills that were killed outright, with their
 * tablespace directories (also one whose data directory is already gone); warnings for what is left.
 */
export async function removeLeftoverDrills(root: string, account: OsAccount, binDir: string): Promise<string[]> {
  const names = (await readdir(root).catch(() => [] as string[])).filter((n) => n.startsWith(DRILL_PREFIX));
  const warnings: string[] = [];
  const isDir = async (p: string) => (await lstat(p).catch(() => undefined))?.isDirectory() ?? false;
  for (const n of names.filter((x) => !x.endsWith(TABLESPACES_SUFFIX))) {
    const dir = path.join(root, n);
    if (!(await isDir(dir))) continue;
    const w = await DrillCluster.leftover(dir, account, binDir).destroy();
    if (w) warnings.push(w);
  }
  for (const n of names.filter((x) => x.endsWith(TABLESPACES_SUFFIX))) {
    const dir = path.join(root, n);
    if (!(await isDir(dir))) continue; // gone with its copy above, or not ours to follow
    await deleteAsAccount(dir, account, { warn: (w) => warnings.push(w) });
  }
  return warnings;
}

/** Free bytes where the scratch directory goes. */
export async function freeBytes(root: string): Promise<number> {
  const s = await statfs(root);
  return s.bavail * s.bsize;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
