/**
 * The stand-in's REST surface. All routes live in ROUTES below; a later REST stand-in adds entries
 * there (path templates like /api/v4/posts/{post_id}) and reuses the context, error and response
 * helpers, which reproduce Mattermost's wire format (sorted JSON maps, AppError bodies, headers).
 */
import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { newId } from '../ids';
import { colSql, tableSql } from '../sandbox_schema';
import { withSqlConn } from '../sql_conn';
import type { StandinSettings } from './mm_config';

/** Per-process server state shared by all handlers. */
export interface StandinState {
  settings: StandinSettings;
  startedAt: number;
}

/** What a handler sees. */
export interface ApiContext {
  req: IncomingMessage;
  url: URL;
  /** Values of {placeholders} in the route path. */
  params: Record<string, string>;
  requestId: string;
  state: StandinState;
}

/** What a handler returns; `body` is sent as JSON unless `raw` is given. */
export interface ApiResponse {
  status: number;
  body?: unknown;
  raw?: string | Buffer;
  contentType?: string;
  headers?: Record<string, string>;
}

/** One route: method, path template with {name} segments, handler. */
export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  path: string;
  handler: (ctx: ApiContext) => Promise<ApiResponse> | ApiResponse;
}

/** Mattermost's AppError body for `status` (detailed_error is always present and empty, as without EnableDeveloper). */
export function appError(status: number, id: string, message: string, requestId: string): ApiResponse {
  return { status, body: { id, message, detailed_error: '', request_id: requestId, status_code: status } };
}

/** JSON of a flat map with keys in Go's map order (sorted by bytes), as the real server marshals map[string]string. */
export function goMapJson(m: Record<string, string>): string {
  const keys = Object.keys(m).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(m[k])}`).join(',')}}`;
}

/** Go's strconv.ParseBool truth values, used for boolean query parameters. */
function queryBool(url: URL, name: string): boolean {
  return ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(url.searchParams.get(name) ?? '');
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Mattermost's DBHealthCheckWrite + Delete: upsert and delete a health_check_<hostname> row in Systems. */
export async function checkDatabase(s: StandinSettings): Promise<void> {
  const d = s.driver;
  const table = tableSql(d, 'Systems');
  const name = colSql(d, 'Name');
  const value = colSql(d, 'Value');
  const key = `health_check_${hostname()}`;
  const upsert =
    d === 'postgres'
      ? `INSERT INTO ${table} (${name}, ${value}) VALUES (?, ?) ON CONFLICT (${name}) DO UPDATE SET ${value} = EXCLUDED.${value}`
      : `INSERT INTO ${table} (${name}, ${value}) VALUES (?, ?) ON DUPLICATE KEY UPDATE ${value} = VALUES(${value})`;
  await withTimeout(
    withSqlConn(s.db, async (c) => {
      await c.query(upsert, [key, String(Date.now())]);
      await c.query(`DELETE FROM ${table} WHERE ${name} = ?`, [key]);
    }),
    5000,
    'database health check',
  );
}

/** Mattermost's local TestFileStoreConnection: write <dir>/testfile, then remove it. */
export async function checkFileStore(s: StandinSettings): Promise<void> {
  // Like the real local backend, writing creates missing parent directories.
  await mkdir(s.fileDir, { recursive: true });
  const file = join(s.fileDir, 'testfile');
  await writeFile(file, 'testingwrite');
  await rm(file, { force: true }); // force: a concurrent ping may have removed it already
}

async function ping(ctx: ApiContext): Promise<ApiResponse> {
  const req = (ctx.state.settings.config.ClientRequirements ?? {}) as Record<string, string>;
  const s: Record<string, string> = {
    status: 'OK',
    ActiveSearchBackend: 'database',
    AndroidLatestVersion: req.AndroidLatestVersion ?? '',
    AndroidMinVersion: req.AndroidMinVersion ?? '',
    IosLatestVersion: req.IosLatestVersion ?? '',
    IosMinVersion: req.IosMinVersion ?? '',
  };
  const headers: Record<string, string> = {};
  if (queryBool(ctx.url, 'get_server_status')) {
    const [dbOk, fsOk] = await Promise.all([
      checkDatabase(ctx.state.settings).then(
        () => true,
        (e: unknown) => {
          log(`database health check failed: ${(e as Error).message}`);
          return false;
        },
      ),
      checkFileStore(ctx.state.settings).then(
        () => true,
        (e: unknown) => {
          log(`file store health check failed: ${(e as Error).message}`);
          return false;
        },
      ),
    ]);
    s.database_status = dbOk ? 'OK' : 'UNHEALTHY';
    s.filestore_status = fsOk ? 'OK' : 'UNHEALTHY';
    headers.database_status = s.database_status;
    headers.filestore_status = s.filestore_status;
  }
  let status = 200;
  let overall = 'OK';
  if (Object.values(s).includes('UNHEALTHY')) {
    overall = 'UNHEALTHY';
    if (!queryBool(ctx.url, 'use_rest_semantics')) status = 500;
  }
  s.status = overall;
  if (queryBool(ctx.url, 'get_server_status')) headers.status = overall;
  return { status, raw: goMapJson(s), contentType: 'application/json', headers };
}

/** The flat client config map (all values strings), as GET /api/v4/config/client returns it. */
export function clientConfig(state: StandinState): Record<string, string> {
  const c = state.settings.config;
  const v = state.settings.version;
  const str = (x: unknown) => (x === undefined || x === null ? '' : typeof x === 'string' ? x : JSON.stringify(x));
  return {
    AboutLink: str(c.SupportSettings?.AboutLink),
    BuildDate: 'Mon Jan  5 10:00:00 UTC 2026',
    BuildEnterpriseReady: 'false',
    BuildHash: '0123456789abcdef0123456789abcdef01234567',
    BuildHashEnterprise: 'none',
    BuildNumber: v,
    DiagnosticsEnabled: str(c.LogSettings?.EnableDiagnostics ?? true),
    EnableBotAccountCreation: str(c.ServiceSettings?.EnableBotAccountCreation ?? false),
    EnableCommands: str(c.ServiceSettings?.EnableCommands ?? true),
    EnableUserAccessTokens: str(c.ServiceSettings?.EnableUserAccessTokens ?? false),
    PluginsEnabled: str(c.PluginSettings?.Enable ?? true),
    SiteName: str(c.TeamSettings?.SiteName ?? 'Mattermost'),
    SiteURL: str(c.ServiceSettings?.SiteURL),
    TelemetryId: '',
    Version: v,
    WebsocketURL: str(c.ServiceSettings?.WebsocketURL),
  };
}

function getClientConfig(ctx: ApiContext): ApiResponse {
  const format = ctx.url.searchParams.get('format');
  const major = Number.parseInt(ctx.state.settings.version, 10);
  // Before v11 the handler insisted on format=old; v11 made it optional but still rejects other values.
  if ((format === null && major < 11) || (format !== null && format !== 'old')) {
    return appError(
      501,
      'api.config.client.old_format.app_error',
      'New format for the client configuration is not supported yet. Please specify format=old in the query string.',
      ctx.requestId,
    );
  }
  return { status: 200, raw: goMapJson(clientConfig(ctx.state)), contentType: 'application/json' };
}

/** The route table: the one place routes are declared. */
export const ROUTES: Route[] = [
  { method: 'GET', path: '/api/v4/system/ping', handler: ping },
  { method: 'GET', path: '/api/v4/config/client', handler: getClientConfig },
];

interface Compiled {
  route: Route;
  re: RegExp;
  names: string[];
}

const compiled: Compiled[] = ROUTES.map((route) => {
  const names: string[] = [];
  const re = new RegExp(
    `^${route.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_, n: string) => {
      names.push(n);
      return '([^/]+)';
    })}/?$`,
  );
  return { route, re, names };
});

/** Finds the route for method+path: the match, 'method' when only the method differs, or undefined. */
export function matchRoute(
  method: string,
  pathname: string,
): { route: Route; params: Record<string, string> } | 'method' | undefined {
  let pathMatched = false;
  for (const c of compiled) {
    const m = c.re.exec(pathname);
    if (!m) continue;
    pathMatched = true;
    if (c.route.method !== method && !(method === 'HEAD' && c.route.method === 'GET')) continue;
    const params: Record<string, string> = {};
    c.names.forEach((n, i) => {
      params[n] = decodeURIComponent(m[i + 1] ?? '');
    });
    return { route: c.route, params };
  }
  return pathMatched ? 'method' : undefined;
}

/** X-Version-ID value: <version>.<build number>.<client config hash>.<licensed>. */
export function versionId(state: StandinState): string {
  const hash = createHash('md5')
    .update(goMapJson(clientConfig(state)))
    .digest('hex');
  return `${state.settings.version}.${state.settings.version}.${hash}.false`;
}

/** Handles one request end to end (never throws): route, run, map errors to AppError bodies. */
export async function handleApi(
  state: StandinState,
  req: IncomingMessage,
): Promise<ApiResponse & { requestId: string }> {
  const requestId = newId();
  const url = new URL(req.url ?? '/', 'http://standin.invalid');
  const found = matchRoute(req.method ?? 'GET', url.pathname);
  try {
    if (found === undefined) {
      return {
        ...appError(404, 'api.context.404.app_error', 'Sorry, we could not find the page.', requestId),
        requestId,
      };
    }
    if (found === 'method') {
      return { ...appError(405, 'api.context.405.app_error', 'Method not allowed.', requestId), requestId };
    }
    const res = await found.route.handler({ req, url, params: found.params, requestId, state });
    return { ...res, requestId };
  } catch (err) {
    log(`handler error on ${req.method} ${url.pathname}: ${(err as Error).stack ?? String(err)}`);
    return { ...appError(500, 'api.context.500.app_error', 'An internal error occurred.', requestId), requestId };
  }
}

/** Timestamped line on stdout (the stand-in's log file). */
export function log(msg: string): void {
  process.stdout.write(`${new Date().toISOString()} ${msg}\n`);
}
