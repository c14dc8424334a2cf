/**
 * A running sidecar against real parts: PostgreSQL and a sandbox install for the engine, the
 * Mattermost REST stand-in (spec-checked) whose port really closes when the sidecar's
 * `service.stop` command runs, and the sidecar itself on a real port.
 */
import http from 'node:http';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pino from 'pino';
import {
  assertNoSpecViolations,
  freePort,
  generateSandbox,
  makeTempDir,
  removeTempDir,
  startPostgres,
  type PgServer,
  type Sandbox,
} from '@mm-backup/testkit';
import { createMattermostRest, type MattermostRest } from '@mm-backup/testkit/mm_rest';
import { Sidecar } from '../../src/service/sidecar';
import { runCli, type CliResult } from './cli';

export interface ServiceEnv {
  rest: MattermostRest;
  /** The sandbox's PostgreSQL cluster (physical-mode tests enable archiving on it). */
  pg: PgServer;
  sb: Sandbox;
  sidecar: Sidecar;
  sidecarUrl: string;
  mmUrl: string;
  cfgFile: string;
  root: string;
  admin: { id: string; token: string; csrf: string };
  alice: { id: string; token: string; csrf: string };
  team: { id: string; name: string };
  channel: { id: string; name: string };
  /** Calls the sidecar's API as `who` (bearer, or cookie with optional CSRF header). */
  api(
    method: string,
    route: string,
    opts?: {
      body?: unknown;
      as?: { token: string; csrf?: string };
      cookie?: boolean;
      csrf?: string | null;
      headers?: Record<string, string>;
    },
  ): Promise<{ status: number; body: any; headers: Headers }>;
  restart(opts?: { authFreshMs?: number }): Promise<void>;
  /** From now on a service start waits (Mattermost stays down) until the returned function is called. */
  holdStart(): () => void;
  /** Stops everything and removes the temp dir; then fails if the stand-in recorded any spec violation. */
  cleanup(): Promise<void>;
}

export async function setupService(
  opts: {
    authFreshMs?: number;
    /** Merged over the config; a function is given the cluster and the temp root first. */
    config?: Record<string, unknown> | ((pg: PgServer, root: string) => Record<string, unknown>);
    /** The sidecar's physical-mode reading interval (Sidecar.open's pitrPollMs). */
    pitrPollMs?: number;
  } = {},
): Promise<ServiceEnv> {
  const pg = await startPostgres();
  const root = await makeTempDir('svc-');
  const mmPort = await freePort();
  const sb = await generateSandbox({ root, db: pg, port: mmPort });
  const rest = createMattermostRest({
    version: '11.2.0',
    config: {
      ServiceSettings: { EnableBotAccountCreation: true, AllowedUntrustedInternalConnections: '127.0.0.1/32' },
    },
  });
  const main = await rest.listen(mmPort);
  // holdStart() keeps Mattermost down after a stop until released (a slow start, seen from outside).
  let startGate: Promise<void> | undefined;
  const control = http.createServer((req, res) => {
    void (req.url === '/start' && startGate ? startGate : Promise.resolve())
      .then(() => rest.setDown(req.url === '/stop'))
      .then(
        () => res.end('ok'),
        (err: unknown) => {
          res.statusCode = 500;
          res.end((err as Error).message);
        },
      );
  });
  await new Promise<void>((r) => control.listen(0, '127.0.0.1', r));
  const controlUrl = `http://127.0.0.1:${(control.address() as { port: number }).port}`;
  const script = path.resolve(__dirname, 'standin_control.cjs');

  const adminUser = rest.state.addUser({ username: 'sysadmin', roles: 'system_user system_admin' });
  const aliceUser = rest.state.addUser({ username: 'alice' });
  const team = rest.state.addTeam({ name: 'ops', display_name: 'Ops' });
  const channel = rest.state.addChannel(team.id, { name: 'backups', display_name: 'Backups', type: 'O' });
  for (const u of [adminUser, aliceUser]) {
    rest.state.addMember(team.id, u.id);
    rest.state.addMember(channel.id, u.id);
  }
  const adminLogin = rest.state.login('sysadmin');
  const aliceLogin = rest.state.login('alice');

  const sidecarPort = await freePort();
  const cfgFile = path.join(root, 'mm-backup.json');
  await writeFile(
    cfgFile,
    JSON.stringify({
      mattermost: { installDir: sb.installDir, url: main.url, envFile: sb.envFilePath, statusChannel: 'ops/backups' },
      service: {
        stop: [process.execPath, script, 'stop', controlUrl],
        start: [process.execPath, script, 'start', controlUrl],
        stopTimeoutSeconds: 20,
        healthTimeoutSeconds: 30,
      },
      repository: { path: path.join(root, 'repo') },
      database: { adminUrl: pg.adminUrl(sb.dbName) },
      listen: {
        host: '127.0.0.1',
        port: sidecarPort,
        publicUrl: `http://127.0.0.1:${sidecarPort}`,
        allowedOrigins: [main.url],
      },
      ...(typeof opts.config === 'function' ? opts.config(pg, root) : opts.config),
    }),
    { mode: 0o600 },
  );
  const log = pino({ level: 'silent' });
  let sidecar = await Sidecar.open(cfgFile, { log, authFreshMs: opts.authFreshMs, pitrPollMs: opts.pitrPollMs });
  const sidecarUrl = await sidecar.listen();

  const env: ServiceEnv = {
    rest,
    pg,
    sb,
    sidecar,
    sidecarUrl,
    mmUrl: main.url,
    cfgFile,
    root,
    admin: { id: adminUser.id, token: adminLogin.token, csrf: adminLogin.csrf },
    alice: { id: aliceUser.id, token: aliceLogin.token, csrf: aliceLogin.csrf },
    team: { id: team.id, name: team.name },
    channel: { id: channel.id, name: channel.name },
    async api(method, route, o = {}) {
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      const who = o.as === undefined ? env.admin : o.as;
      if (who && o.cookie) {
        headers.Cookie = `MMAUTHTOKEN=${who.token}; MMCSRF=${who.csrf ?? ''}`;
        if (o.csrf !== null) headers['X-CSRF-Token'] = o.csrf ?? who.csrf ?? '';
      } else if (who) {
        headers.Authorization = `Bearer ${who.token}`;
      }
      if (o.body !== undefined) headers['Content-Type'] = 'application/json';
      const res = await fetch(`${env.sidecarUrl}${route}`, {
        method,
        headers,
        body: o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body),
      });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        /* text */
      }
      return { status: res.status, body, headers: res.headers };
    },
    holdStart() {
      let release: () => void = () => undefined;
      startGate = new Promise<void>((r) => {
        release = r;
      });
      return () => {
        startGate = undefined;
        release();
      };
    },
    async restart(o = {}) {
      await env.sidecar.close();
      sidecar = await Sidecar.open(cfgFile, {
        log,
        authFreshMs: o.authFreshMs ?? opts.authFreshMs,
        pitrPollMs: opts.pitrPollMs,
      });
      env.sidecar = sidecar;
      env.sidecarUrl = await sidecar.listen();
    },
    async cleanup() {
      await env.sidecar.jobs.idle();
      await env.sidecar.close();
      await main.close();
      await new Promise<void>((r) => control.close(() => r()));
      await pg.destroy();
      await removeTempDir(root);
      // Last, so a failing check never leaves servers behind.
      assertNoSpecViolations(rest.violations);
    },
  };
  return env;
}

/**
 * setupService for physical mode: `pitr` with `stanza`, its pgBackRest config under the temp root,
 * archive_timeout 30 s and PostgreSQL restarted by pg_ctl, with `config` merged beside it; then
 * the temp root opened to postgres and the sidecar connected as the admin (no problem named).
 * If a step after setupService fails, the env is cleaned up before the error is thrown.
 */
export async function setupPitrService(
  stanza: string,
  opts: { pitrPollMs: number; config?: Record<string, unknown> },
): Promise<ServiceEnv> {
  const env = await setupService({
    pitrPollMs: opts.pitrPollMs,
    config: (pg, root) => ({
      pitr: {
        stanza,
        configDir: path.join(root, 'pgbackrest-conf'),
        archiveTimeoutSeconds: 30,
        postgresService: { preset: 'pg_ctl', binDir: pg.binDir, logFile: pg.logFile },
      },
      ...opts.config,
    }),
  });
  try {
    // postgres must traverse to the repository and to its config, as on a real host's /var and /etc.
    await chmod(env.root, 0o711);
    const c = await env.api('POST', '/v1/connect', { body: { admin_token: env.admin.token } });
    expect(c.body.problems).toEqual([]);
  } catch (err) {
    await env.cleanup().catch(() => undefined);
    throw err;
  }
  return env;
}

/** `pitr enable --restart-postgres --yes` by the CLI with `env`'s config (archiving starts). */
export function enablePitr(env: ServiceEnv): Promise<CliResult> {
  return runCli(['--config', env.cfgFile, '--json', 'pitr', 'enable', '--restart-postgres', '--yes']);
}

/** Polls until `fn` returns a truthy value. */
export async function eventually<T>(
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
