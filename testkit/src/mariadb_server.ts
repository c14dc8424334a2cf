/**
 * Throwaway MariaDB servers for tests: mariadb-install-db into a temp datadir, mariadbd on
 * 127.0.0.1:<free port> with its own socket and pid file, tuned for speed. `--no-defaults` is
 * essential: without it mariadbd reads /etc/mysql/my.cnf and collides with the system server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { assertSimpleName, type DbServerBase, type RoleOptions } from './db_server';
import {
  chownTree,
  errText,
  pidAlive,
  runChecked,
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

/** A running throwaway MariaDB server (kind 'mysql', since Mattermost calls the driver that). */
export interface MariadbServer extends DbServerBase {
  readonly kind: 'mysql';
  /** mariadbd's unix socket. */
  readonly socketPath: string;
}

/** Options for startMariadb. */
export interface StartMariadbOptions {
  /** Goes into the temp dir name. */
  name?: string;
  /** Extra mariadbd options without the leading dashes, e.g. { 'max-connections': '50' }. */
  settings?: Record<string, string>;
}

/** Mattermost's legacy MySQL DataSource form: `user:pass@tcp(host:port)/db?charset=utf8mb4,utf8&writeTimeout=30s`. */
export function mysqlDsnForMattermost(user: string, pass: string, host: string, port: number, db: string): string {
  return `${user}:${pass}@tcp(${host}:${port})/${db}?charset=utf8mb4,utf8&writeTimeout=30s`;
}

interface MariadbBinaries {
  server: string;
  installDb: string;
  /** Where the client tools (mariadb, mariadb-dump) are. */
  clientBinDir: string;
}

/** Finds mariadbd, mariadb-install-db and the client tools ($MMTK_MARIADB_BINDIR, PATH, /usr/sbin, /usr/bin). */
export function findMariadbBinaries(): MariadbBinaries {
  const dirs = [
    process.env.MMTK_MARIADB_BINDIR,
    ...(process.env.PATH ?? '').split(':'),
    '/usr/sbin',
    '/usr/bin',
    '/usr/local/sbin',
    '/usr/local/bin',
    '/usr/local/mysql/bin',
  ].filter((d): d is string => !!d);
  const find = (names: string[]): string | undefined => {
    for (const d of dirs) for (const n of names) if (existsSync(join(d, n))) return join(d, n);
    return undefined;
  };
  const server = find(['mariadbd', 'mysqld']);
  const installDb = find(['mariadb-install-db', 'mysql_install_db']);
  const client = find(['mariadb', 'mysql']);
  if (!server || !installDb || !client) {
    throw new Error(
      `MariaDB binaries not found (mariadbd: ${server ?? 'missing'}, mariadb-install-db: ${installDb ?? 'missing'}, mariadb: ${client ?? 'missing'}); set MMTK_MARIADB_BINDIR`,
    );
  }
  return { server, installDb, clientBinDir: dirname(client) };
}

/** Starts a fresh MariaDB server and resolves once root can log in over TCP with its password. */
export async function startMariadb(opts: StartMariadbOptions = {}): Promise<MariadbServer> {
  const name = opts.name ?? 'mariadb';
  const bins = findMariadbBinaries();
  const account = serviceAccount('mysql');
  const baseDir = await makeTempDir(`mmtk-my-${name}`);
  const dataDir = join(baseDir, 'data');
  const tmpDir = join(baseDir, 'tmp');
  await mkdir(tmpDir, { mode: 0o700 });
  const logFile = join(baseDir, 'mariadb.log');
  await writeFile(logFile, '');
  if (account) await chownTree(baseDir, account.uid, account.gid);
  // normal root auth (not unix_socket), so the kit works the same whether or not it runs as root.
  await runChecked(
    bins.installDb,
    [
      '--no-defaults',
      `--datadir=${dataDir}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      '--skip-name-resolve',
      `--tmpdir=${tmpDir}`,
    ],
    { cwd: baseDir, user: account, timeoutMs: 120_000 },
  );

  const server = new MariadbServerImpl(bins, baseDir, dataDir, tmpDir, logFile, account, opts.settings ?? {});
  try {
    await server.firstStart();
  } catch (err) {
    await server.destroy().catch(() => undefined);
    throw err;
  }
  return server;
}

class MariadbServerImpl implements MariadbServer {
  readonly kind = 'mysql' as const;
  readonly host = '127.0.0.1' as const;
  readonly superuser = 'root';
  readonly superuserPassword = randomBytes(12).toString('hex');
  readonly socketPath: string;
  readonly binDir: string;
  port = 0;
  private readonly pidFile: string;
  private child: ChildProcess | undefined;
  private childExited = true;
  private unregisterKill: (() => void) | undefined;
  private destroyed = false;

  constructor(
    private readonly bins: MariadbBinaries,
    readonly baseDir: string,
    readonly dataDir: string,
    private readonly tmpDir: string,
    readonly logFile: string,
    private readonly account: SystemUser | undefined,
    private readonly settings: Record<string, string>,
  ) {
    this.socketPath = join(baseDir, 'mysqld.sock');
    this.pidFile = join(baseDir, 'mysqld.pid');
    this.binDir = bins.clientBinDir;
  }

  async firstStart(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.port = await freePort();
      try {
        await this.spawnAndWait();
        break;
      } catch (err) {
        if (attempt < 4 && /Address already in use|Can't start server: Bind/i.test(tailFile(this.logFile, 3000))) {
          continue;
        }
        throw err;
      }
    }
    // install-db leaves root without a password (root@localhost, @127.0.0.1, @::1, @<hostname>).
    // Set one on every root account, over the socket, before anything listens for it on TCP.
    await withSqlConn(
      { driver: 'mysql', host: '', port: 0, socketPath: this.socketPath, user: 'root', password: '', database: '' },
      async (c) => {
        // root@<hostname> is unusable under --skip-name-resolve (ALTER USER fails on it): remove it.
        await c.query(
          "DELETE FROM mysql.global_priv WHERE User = 'root' AND Host NOT IN ('localhost', '127.0.0.1', '::1')",
        );
        await c.query(
          "DELETE FROM mysql.proxies_priv WHERE User = 'root' AND Host NOT IN ('localhost', '127.0.0.1', '::1')",
        );
        await c.query('FLUSH PRIVILEGES');
        const hosts = await c.query<{ host: string }>("SELECT Host AS host FROM mysql.user WHERE User = 'root'");
        for (const { host } of hosts) {
          await c.query(
            `ALTER USER 'root'@${quoteLiteral('mysql', host)} IDENTIFIED BY ${quoteLiteral('mysql', this.superuserPassword)}`,
          );
        }
        await c.query('FLUSH PRIVILEGES');
      },
    );
    await this.waitForTcpLogin();
  }

  private serverArgs(): string[] {
    const settings: Record<string, string> = {
      'innodb-buffer-pool-size': '128M',
      'innodb-log-file-size': '96M',
      'innodb-flush-log-at-trx-commit': '0',
      'innodb-doublewrite': '0',
      'max-connections': '200',
      'max-allowed-packet': '64M',
      'character-set-server': 'utf8mb4',
      'collation-server': 'utf8mb4_general_ci',
      ...this.settings,
    };
    return [
      '--no-defaults', // must be first: never read the system my.cnf (port 3306, /run/mysqld)
      `--datadir=${this.dataDir}`,
      `--port=${this.port}`,
      '--bind-address=127.0.0.1',
      `--socket=${this.socketPath}`,
      `--pid-file=${this.pidFile}`,
      `--tmpdir=${this.tmpDir}`,
      `--log-error=${this.logFile}`,
      '--skip-log-bin',
      '--skip-name-resolve',
      ...Object.entries(settings).map(([k, v]) => `--${k}=${v}`),
    ];
  }

  private async spawnAndWait(): Promise<void> {
    const out = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(this.bins.server, this.serverArgs(), {
        cwd: this.baseDir,
        stdio: ['ignore', out, out],
        uid: this.account?.uid,
        gid: this.account?.gid,
        env: { ...process.env, ...(this.account ? { HOME: this.account.home, USER: this.account.name } : {}) },
        detached: true, // its own process group: a Ctrl-C aimed at jest is handled by our exit cleanup
      });
    } finally {
      closeSync(out);
    }
    this.child = child;
    this.childExited = false;
    let spawnError: Error | undefined;
    // Only this child's end counts: the previous one's 'exit' can arrive after a restart spawned this one.
    child.on('error', (e) => {
      if (this.child === child) {
        spawnError = e;
        this.childExited = true;
      }
    });
    child.on('exit', () => {
      if (this.child === child) this.childExited = true;
    });
    child.unref(); // the server must not keep the test process alive
    this.armExitKill();
    await waitFor(
      async () => {
        const c = await openSqlConn({
          driver: 'mysql',
          host: '',
          port: 0,
          socketPath: this.socketPath,
          user: 'root',
          password: this.passwordSet ? this.superuserPassword : '',
          database: '',
          connectTimeoutMs: 2000,
        });
        await c.close();
        return true;
      },
      {
        timeoutMs: 60_000,
        abort: () => this.childExited,
        describe: (e) =>
          `MariaDB (port ${this.port}, datadir ${this.dataDir}) did not come up${this.childExited ? ' (mariadbd exited)' : ''}: ${errText(spawnError ?? e)}\n--- server log tail ---\n${tailFile(this.logFile)}`,
      },
    );
  }

  private passwordSet = false;

  private async waitForTcpLogin(): Promise<void> {
    this.passwordSet = true;
    await waitFor(
      async () => {
        const c = await openSqlConn({ ...this.target(''), connectTimeoutMs: 2000 });
        await c.close();
        return true;
      },
      {
        timeoutMs: 20_000,
        describe: (e) =>
          `MariaDB on port ${this.port} refuses root over TCP: ${errText(e)}\n--- server log tail ---\n${tailFile(this.logFile)}`,
      },
    );
  }

  private serverPid(): number | undefined {
    if (this.child?.pid !== undefined && !this.childExited) return this.child.pid;
    try {
      const pid = Number(readFileSync(this.pidFile, 'utf8').trim());
      return Number.isInteger(pid) && pid > 0 && pidAlive(pid) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  private armExitKill(): void {
    if (this.unregisterKill) return;
    this.unregisterKill = registerExitCleanup(
      () => {
        const pid = this.serverPid();
        if (pid === undefined || !pidAlive(pid)) return;
        signalPid(pid, 'SIGKILL'); // test data is disposable; do not wait for a clean InnoDB shutdown
        for (let i = 0; i < 30 && pidAlive(pid); i++) sleepSync(100);
      },
      { kind: 'pidfile', path: this.pidFile, signal: 'SIGKILL', match: 'mariadbd|mysqld' },
    );
  }

  adminUrl(db = ''): string {
    return `mysql://root:${encodeURIComponent(this.superuserPassword)}@127.0.0.1:${this.port}/${encodeURIComponent(db)}`;
  }

  private target(db: string): SqlTarget {
    return {
      driver: 'mysql',
      host: this.host,
      port: this.port,
      user: 'root',
      password: this.superuserPassword,
      database: db,
    };
  }

  async query(db: string, sql: string, params?: unknown[]): Promise<any[]> {
    return withSqlConn(this.target(db), (c) => c.native(sql, params));
  }

  async exec(db: string, script: string): Promise<void> {
    await withSqlConn(this.target(db), (c) => c.exec(script));
  }

  async createDatabase(name: string, owner?: string): Promise<void> {
    assertSimpleName('database name', name);
    await this.query(
      '',
      `CREATE DATABASE ${quoteIdent('mysql', name)} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`,
    );
    if (owner) {
      assertSimpleName('owner', owner);
      await this.query(
        '',
        `GRANT ALL PRIVILEGES ON ${quoteIdent('mysql', name)}.* TO ${quoteLiteral('mysql', owner)}@'%'`,
      );
    }
  }

  async createRole(name: string, password: string, opts: RoleOptions = {}): Promise<void> {
    assertSimpleName('user name', name);
    await this.query(
      '',
      `CREATE USER ${quoteLiteral('mysql', name)}@'%' IDENTIFIED BY ${quoteLiteral('mysql', password)}`,
    );
    if (opts.superuser) {
      await this.query('', `GRANT ALL PRIVILEGES ON *.* TO ${quoteLiteral('mysql', name)}@'%' WITH GRANT OPTION`);
    } else if (opts.createdb) await this.query('', `GRANT CREATE ON *.* TO ${quoteLiteral('mysql', name)}@'%'`);
  }

  async setPassword(name: string, password: string): Promise<void> {
    assertSimpleName('user name', name);
    await this.query(
      '',
      `ALTER USER ${quoteLiteral('mysql', name)}@'%' IDENTIFIED BY ${quoteLiteral('mysql', password)}`,
    );
  }

  async roleExists(name: string): Promise<boolean> {
    return (await this.query('', "SELECT 1 FROM mysql.user WHERE User = ? AND Host = '%'", [name])).length > 0;
  }

  async dropDatabase(name: string): Promise<void> {
    assertSimpleName('database name', name);
    await this.query('', `DROP DATABASE IF EXISTS ${quoteIdent('mysql', name)}`);
  }

  clientEnv(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      MYSQL_PWD: this.superuserPassword,
      MYSQL_HOST: this.host,
      MYSQL_TCP_PORT: String(this.port),
    };
  }

  isRunning(): boolean {
    return this.serverPid() !== undefined;
  }

  async start(): Promise<void> {
    if (this.destroyed) throw new Error('this MariaDB server was destroyed');
    if (this.isRunning()) return;
    await this.spawnAndWait();
    await this.waitForTcpLogin();
  }

  async stop(): Promise<void> {
    const pid = this.serverPid();
    if (pid === undefined) return;
    signalPid(pid, 'SIGTERM');
    if (!(await waitPidGone(pid, 60_000))) {
      signalPid(pid, 'SIGKILL');
      await waitPidGone(pid, 10_000);
    }
    this.childExited = true;
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    await this.stop().catch(() => undefined);
    this.destroyed = true;
    this.unregisterKill?.();
    await removeTempDir(this.baseDir);
  }
}
