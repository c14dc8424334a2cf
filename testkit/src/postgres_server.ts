/**
 * Throwaway PostgreSQL clusters for tests: initdb into a temp dir, listen on 127.0.0.1:<free port>
 * with scram-sha-256 password auth, unix socket inside the temp dir, durability switched off for
 * speed. Never touches the system cluster on 5432.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { appendFile, chown, writeFile, unlink, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { assertSimpleName, type DbServerBase, type RoleOptions } from './db_server';
import {
  chownTree,
  errText,
  pidAlive,
  runChecked,
  runCommand,
  serviceAccount,
  signalPid,
  sleepSync,
  tailFile,
  waitFor,
  waitPidGone,
  type SystemUser,
} from './proc_util';
import { openSqlConn, quoteIdent, quoteLiteral, withSqlConn, type SqlTarget } from './sql_conn';
import { freePort, makeTempDir, registerExitCleanup, removeTempDir } from './temp_dir';

/** A running throwaway PostgreSQL cluster. */
export interface PgServer extends DbServerBase {
  readonly kind: 'postgres';
  /** Directory holding the cluster's unix socket (.s.PGSQL.<port>). */
  readonly socketDir: string;
}

/** Options for startPostgres. */
export interface StartPostgresOptions {
  /** Goes into the temp dir name and cluster_name, to tell servers apart in ps and /tmp. */
  name?: string;
  /** Superuser name (default 'postgres'). */
  superuser?: string;
  /** Extra postgresql.conf settings, e.g. { max_connections: '50' }. */
  settings?: Record<string, string>;
  /**
   * Leave the cluster running and its directory in place when this process exits (a sandbox kept
   * for a person to use); nothing stops it then but destroy() or stopPostgresAt(dataDir).
   */
  keep?: boolean;
}

/** Mattermost's PostgreSQL DataSource form: `postgres://user:pass@host:port/db?sslmode=disable&connect_timeout=10`. */
export function pgDsnForMattermost(user: string, pass: string, host: string, port: number, db: string): string {
  return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@${host}:${port}/${encodeURIComponent(db)}?sslmode=disable&connect_timeout=10`;
}

/** Finds the PostgreSQL server binaries: $MMTK_PG_BINDIR, `pg_config --bindir`, then the highest /usr/lib/postgresql/<v>/bin. */
export function findPgBinDir(): string {
  const candidates: string[] = [];
  if (process.env.MMTK_PG_BINDIR) candidates.push(process.env.MMTK_PG_BINDIR);
  try {
    candidates.push(
      execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(),
    );
  } catch {
    // pg_config is only in the -dev package; fall back to the Debian/Ubuntu layout
  }
  try {
    const versions = readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) candidates.push(`/usr/lib/postgresql/${v}/bin`);
  } catch {
    // not Debian-style
  }
  for (const p of (process.env.PATH ?? '').split(':')) if (p) candidates.push(p);
  const found = candidates.find((d) => existsSync(join(d, 'initdb')) && existsSync(join(d, 'pg_ctl')));
  if (!found) throw new Error('PostgreSQL server binaries (initdb, pg_ctl) not found; set MMTK_PG_BINDIR');
  return found;
}

/** Starts a fresh PostgreSQL cluster and resolves once it accepts password logins over TCP. */
export async function startPostgres(opts: StartPostgresOptions = {}): Promise<PgServer> {
  const name = opts.name ?? 'pg';
  const superuser = opts.superuser ?? 'postgres';
  assertSimpleName('superuser', superuser);
  const binDir = findPgBinDir();
  const account = serviceAccount('postgres');
  const baseDir = await makeTempDir(`mmtk-pg-${name}`, { keep: opts.keep });
  const dataDir = join(baseDir, 'data');
  const socketDir = join(baseDir, 'sock');
  const logFile = join(baseDir, 'postgres.log');
  const superuserPassword = randomBytes(12).toString('hex');
  await mkdir(socketDir, { mode: 0o700 });
  await writeFile(logFile, '');
  if (account) await chownTree(baseDir, account.uid, account.gid);

  // initdb reads the superuser password from a file so it never appears in argv.
  const pwFile = join(baseDir, 'pwfile');
  await writeFile(pwFile, `${superuserPassword}\n`, { mode: 0o600 });
  if (account) await chown(pwFile, account.uid, account.gid);
  try {
    await runChecked(
      join(binDir, 'initdb'),
      [
        '-D',
        dataDir,
        '-U',
        superuser,
        `--pwfile=${pwFile}`,
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        '-E',
        'UTF8',
        '--no-locale',
        '--no-sync',
      ],
      { cwd: baseDir, user: account, timeoutMs: 120_000 },
    );
  } catch (err) {
    // Removed now, not at exit: a kept cluster's directory has no exit cleanup.
    await removeTempDir(baseDir);
    throw err;
  } finally {
    await unlink(pwFile).catch(() => undefined);
  }
  // Our settings live in their own file so a port change can rewrite them without parsing postgresql.conf.
  await appendFile(join(dataDir, 'postgresql.conf'), "\ninclude 'mmtk.conf'\n");

  const server = new PgServerImpl(
    binDir,
    baseDir,
    dataDir,
    socketDir,
    logFile,
    superuser,
    superuserPassword,
    account,
    name,
    opts.settings ?? {},
    opts.keep ?? false,
  );
  try {
    await server.firstStart();
  } catch (err) {
    await server.destroy().catch(() => undefined);
    throw err;
  }
  return server;
}

class PgServerImpl implements PgServer {
  readonly kind = 'postgres' as const;
  readonly host = '127.0.0.1' as const;
  port = 0;
  private unregisterKill: (() => void) | undefined;
  private destroyed = false;

  constructor(
    readonly binDir: string,
    readonly baseDir: string,
    readonly dataDir: string,
    readonly socketDir: string,
    readonly logFile: string,
    readonly superuser: string,
    readonly superuserPassword: string,
    private readonly account: SystemUser | undefined,
    private readonly name: string,
    private readonly settings: Record<string, string>,
    private readonly keep: boolean,
  ) {}

  async firstStart(): Promise<void> {
    // The port is free when freePort() checks it but another test worker may grab it before the
    // postmaster binds, so a bind failure gets a new port a few times.
    for (let attempt = 1; ; attempt++) {
      this.port = await freePort();
      await this.writeConf();
      try {
        await this.start();
        return;
      } catch (err) {
        const log = tailFile(this.logFile, 3000);
        if (attempt < 4 && /could not bind|Address already in use|could not create any TCP\/IP sockets/i.test(log)) {
          continue;
        }
        throw err;
      }
    }
  }

  private async writeConf(): Promise<void> {
    const conf: Record<string, string> = {
      listen_addresses: "'127.0.0.1'",
      port: String(this.port),
      unix_socket_directories: `'${this.socketDir}'`,
      cluster_name: `'mmtk-${this.name}'`,
      password_encryption: "'scram-sha-256'",
      // Test data is disposable: trade crash safety for speed.
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      max_wal_size: "'1GB'",
      max_connections: '100',
      shared_buffers: "'128MB'",
      maintenance_work_mem: "'256MB'",
      log_line_prefix: "'%m [%p] %q%u@%d '",
      log_min_messages: 'warning',
      logging_collector: 'off',
    };
    for (const [k, v] of Object.entries(this.settings)) {
      conf[k] = /^[0-9.]+$/.test(v) ? v : `'${v.replace(/'/g, "''")}'`;
    }
    const text =
      Object.entries(conf)
        .map(([k, v]) => `${k} = ${v}`)
        .join('\n') + '\n';
    const file = join(this.dataDir, 'mmtk.conf');
    await writeFile(file, text, { mode: 0o600 });
    if (this.account) await chown(file, this.account.uid, this.account.gid);
  }

  adminUrl(db = 'postgres'): string {
    return `postgres://${encodeURIComponent(this.superuser)}:${encodeURIComponent(this.superuserPassword)}@127.0.0.1:${this.port}/${encodeURIComponent(db)}?sslmode=disable`;
  }

  private target(db: string): SqlTarget {
    return {
      driver: 'postgres',
      host: this.host,
      port: this.port,
      user: this.superuser,
      password: this.superuserPassword,
      database: db,
    };
  }

  async query(db: string, sql: string, params?: unknown[]): Promise<any[]> {
    // Callers of PgServer.query write PostgreSQL's own $1 placeholders.
    return withSqlConn(this.target(db), (c) => c.native(sql, params));
  }

  async exec(db: string, script: string): Promise<void> {
    await withSqlConn(this.target(db), (c) => c.exec(script));
  }

  async createDatabase(name: string, owner?: string): Promise<void> {
    assertSimpleName('database name', name);
    if (owner) assertSimpleName('owner', owner);
    const ownerSql = owner ? ` OWNER ${quoteIdent('postgres', owner)}` : '';
    await this.query(
      'postgres',
      `CREATE DATABASE ${quoteIdent('postgres', name)}${ownerSql} ENCODING 'UTF8' TEMPLATE template0`,
    );
  }

  async createRole(name: string, password: string, opts: RoleOptions = {}): Promise<void> {
    assertSimpleName('role name', name);
    const extra = `${opts.superuser ? ' SUPERUSER' : ''}${opts.createdb ? ' CREATEDB' : ''}`;
    await this.query(
      'postgres',
      `CREATE ROLE ${quoteIdent('postgres', name)} LOGIN PASSWORD ${quoteLiteral('postgres', password)}${extra}`,
    );
  }

  async setPassword(name: string, password: string): Promise<void> {
    assertSimpleName('role name', name);
    await this.query(
      'postgres',
      `ALTER ROLE ${quoteIdent('postgres', name)} PASSWORD ${quoteLiteral('postgres', password)}`,
    );
  }

  async roleExists(name: string): Promise<boolean> {
    return (await this.query('postgres', 'SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).length > 0;
  }

  async dropDatabase(name: string): Promise<void> {
    assertSimpleName('database name', name);
    await this.query('postgres', `DROP DATABASE IF EXISTS ${quoteIdent('postgres', name)} WITH (FORCE)`);
  }

  clientEnv(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      PGHOST: this.host,
      PGPORT: String(this.port),
      PGUSER: this.superuser,
      PGPASSWORD: this.superuserPassword,
      PGSSLMODE: 'disable',
    };
  }

  private postmasterPid(): number | undefined {
    try {
      const pid = Number(readFileSync(join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  isRunning(): boolean {
    const pid = this.postmasterPid();
    return pid !== undefined && pidAlive(pid);
  }

  async start(): Promise<void> {
    if (this.destroyed) throw new Error('this PostgreSQL server was destroyed');
    if (this.isRunning()) return;
    const r = await runCommand(
      join(this.binDir, 'pg_ctl'),
      ['start', '-D', this.dataDir, '-l', this.logFile, '-w', '-t', '60', '-s'],
      {
        cwd: this.baseDir,
        user: this.account,
        timeoutMs: 90_000,
      },
    );
    if (r.code !== 0) {
      throw new Error(
        `PostgreSQL (${this.dataDir}, port ${this.port}) failed to start: ${r.stderr.trim() || r.stdout.trim()}\n--- server log tail ---\n${tailFile(this.logFile)}`,
      );
    }
    this.armExitKill();
    // pg_ctl -w only checks the postmaster; make sure a real password login over TCP works too.
    await waitFor(
      async () => {
        const c = await openSqlConn({ ...this.target('postgres'), connectTimeoutMs: 2000 });
        await c.close();
        return true;
      },
      {
        timeoutMs: 30_000,
        describe: (e) =>
          `PostgreSQL on port ${this.port} started but refuses logins: ${errText(e)}\n--- server log tail ---\n${tailFile(this.logFile)}`,
      },
    );
  }

  /** Kills the postmaster at process exit if a test forgot stop()/destroy() (not a kept cluster). */
  private armExitKill(): void {
    if (this.unregisterKill || this.keep) return;
    this.unregisterKill = registerExitCleanup(
      () => {
        const pid = this.postmasterPid();
        if (pid === undefined || !pidAlive(pid)) return;
        signalPid(pid, 'SIGQUIT'); // immediate shutdown
        for (let i = 0; i < 50 && pidAlive(pid); i++) sleepSync(100);
        if (pidAlive(pid)) signalPid(pid, 'SIGKILL');
      },
      { kind: 'pidfile', path: join(this.dataDir, 'postmaster.pid'), signal: 'SIGQUIT', match: 'postgres' },
    );
  }

  async stop(): Promise<void> {
    if (!this.isRunning()) return;
    const r = await runCommand(
      join(this.binDir, 'pg_ctl'),
      ['stop', '-D', this.dataDir, '-m', 'fast', '-w', '-t', '60', '-s'],
      {
        cwd: this.baseDir,
        user: this.account,
        timeoutMs: 90_000,
      },
    );
    if (r.code !== 0 && this.isRunning()) {
      throw new Error(`pg_ctl stop failed for ${this.dataDir}: ${r.stderr.trim()}\n${tailFile(this.logFile)}`);
    }
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    try {
      await this.stop();
    } catch {
      const pid = this.postmasterPid();
      if (pid !== undefined) signalPid(pid, 'SIGKILL');
    }
    this.destroyed = true;
    this.unregisterKill?.();
    await removeTempDir(this.baseDir);
  }
}

/**
 * Stops the cluster whose data directory is `dataDir` from any process (a kept sandbox's `down`):
 * fast shutdown (SIGINT) of the postmaster named in postmaster.pid, immediate (SIGQUIT) and then
 * SIGKILL if it does not go. Only a process whose command line says postgres is signalled.
 * Resolves true when a running postmaster was stopped, false when none was running.
 */
export async function stopPostgresAt(dataDir: string, timeoutMs = 30_000): Promise<boolean> {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !pidAlive(pid)) return false;
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    // no procfs: the pid file is the cluster's own
  }
  if (cmdline && !/postgres/.test(cmdline)) return false; // a recycled pid
  signalPid(pid, 'SIGINT');
  if (await waitPidGone(pid, timeoutMs)) return true;
  signalPid(pid, 'SIGQUIT');
  if (await waitPidGone(pid, 5000)) return true;
  signalPid(pid, 'SIGKILL');
  if (!(await waitPidGone(pid, 5000))) throw new Error(`PostgreSQL (pid ${pid}, ${dataDir}) does not stop`);
  return true;
}
