/**
 * createMattermostRest: the in-memory Mattermost REST stand-in. Every request is checked against
 * the API description before it is served and every response before it is sent; mismatches are
 * recorded in `violations` and answered 400. Usable as a request handler (mounted into the
 * process-level stand-in) or as its own node:http server.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { newId } from '../ids';
import { authenticate } from './auth';
import { botTokenRoutes } from './bots_tokens';
import { commandRoutes } from './commands';
import { versionId } from './config';
import { systemRoutes } from './config_system';
import { hookRoutes } from './hooks';
import { AppErr, appErrorBody, err, readBody, type ApiResult } from './http_util';
import { checkRequest, checkResponse, UNSPECIFIED_ROUTES } from './openapi_check';
import { postRoutes } from './posts';
import { Router, type Core, type Ctx } from './routes';
import { commandResponseJson, executeCommand } from './slash_exec';
import { MmStore } from './state';
import { teamChannelRoutes } from './teams_channels';
import type { MmConfigInput } from './types';
import { userRoutes } from './users';

export interface MattermostRestOptions {
  /** Server version reported in X-Version-ID and the client config (default 11.2.0). */
  version?: string;
  /** ServiceSettings.SiteURL, and the base of response_url for executeSlashCommand (default: the listener's URL). */
  siteUrl?: string;
  config?: MmConfigInput;
  /** Outgoing slash-command limits; Mattermost's are 3 s to connect and 30 s overall. Lower them in tests only. */
  slashTimeouts?: { connectMs?: number; totalMs?: number };
  /** Told of each violation as it is recorded (the process-level stand-in appends them to a file tests read). */
  onViolation?: (v: Violation) => void;
}

export interface Violation {
  method: string;
  path: string;
  problem: string;
}

export interface MattermostRest {
  /** Serves the request if it is one of the stand-in's routes; false otherwise (nothing written). */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /** A standalone server on 127.0.0.1 (port 0 = any free port). */
  listen(port?: number): Promise<{ url: string; close: () => Promise<void> }>;
  readonly state: MmStore;
  readonly violations: Violation[];
  /** Runs "/trigger args" as the user would type it in the channel (what the webapp's POST /commands/execute does). */
  executeSlashCommand(o: {
    userId: string;
    channelId: string;
    text: string;
    rootId?: string;
  }): Promise<{ status: number; body: unknown }>;
  /** Down: the standalone listener is closed (callers get ECONNREFUSED); handle() answers 503. Up: reopened on the same port. */
  setDown(down: boolean): Promise<void>;
  readonly down: boolean;
  readonly version: string;
}

const ROUTER = new Router([
  ...userRoutes,
  ...teamChannelRoutes,
  ...postRoutes,
  ...botTokenRoutes,
  ...commandRoutes,
  ...systemRoutes,
  ...hookRoutes,
]);

export function createMattermostRest(opts: MattermostRestOptions = {}): MattermostRest {
  const version = opts.version ?? '11.2.0';
  const store = new MmStore(opts.siteUrl ?? '', opts.config);
  const violations: Violation[] = [];
  const record = (v: Violation) => {
    violations.push(v);
    opts.onViolation?.(v);
  };
  let down = false;
  let server: Server | undefined;
  let port = 0;
  let listenUrl: string | undefined;

  const core: Core = {
    store,
    version,
    siteUrlFor(req) {
      if (req?.headers.host) {
        return `${req.headers['x-forwarded-proto'] === 'https' ? 'https' : 'http'}://${req.headers.host}`;
      }
      return opts.siteUrl ?? listenUrl ?? (store.config.ServiceSettings.SiteURL || 'http://localhost:8065');
    },
    slashTimeouts: { connectMs: opts.slashTimeouts?.connectMs ?? 3000, totalMs: opts.slashTimeouts?.totalMs ?? 30_000 },
  };

  function write(req: IncomingMessage, res: ServerResponse, r: ApiResult, requestId: string): void {
    const body = r.raw ?? (r.body === undefined ? '' : JSON.stringify(r.body));
    res.writeHead(r.status, {
      'Content-Type': r.contentType ?? 'application/json',
      'X-Request-ID': requestId,
      'X-Version-ID': versionId(store.config, version),
      ...r.headers,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  async function serve(
    req: IncomingMessage,
    url: URL,
    match: NonNullable<ReturnType<Router['match']>>,
    requestId: string,
  ): Promise<ApiResult> {
    const method = req.method ?? 'GET';
    const specChecked = !UNSPECIFIED_ROUTES.includes(`${method} ${match.route.path}`);
    let rawBody: string;
    try {
      rawBody = await readBody(req);
    } catch (e) {
      return appErrorBody(
        e instanceof AppErr ? e : err(400, 'api.context.invalid_body_param.app_error', { Name: 'body' }),
        requestId,
      );
    }
    let operation;
    if (specChecked) {
      const query: Record<string, string | string[]> = {};
      for (const k of new Set(url.searchParams.keys())) {
        const all = url.searchParams.getAll(k);
        query[k] = all.length > 1 ? all : all[0]!;
      }
      const checked = checkRequest({
        method,
        pathTemplate: match.route.path,
        params: match.params,
        query,
        headers: req.headers,
        rawBody,
      });
      operation = checked.operation;
      if (checked.problems.length > 0) {
        const problem = `request: ${checked.problems.join('; ')}`;
        record({ method, path: url.pathname, problem });
        const e = err(400, 'api.context.invalid_body_param.app_error', { Name: 'request' });
        return appErrorBody(new AppErr(400, e.id, e.message, problem), requestId);
      }
    }
    let result: ApiResult;
    try {
      const caller = authenticate(store, req, match.route.session);
      let body: unknown;
      if (rawBody && (req.headers['content-type'] ?? '').startsWith('application/json')) {
        body = JSON.parse(rawBody);
      }
      const ctx: Ctx = { core, store, req, url, params: match.params, body, rawBody, requestId, caller };
      result = await match.route.handler(ctx);
    } catch (e) {
      if (e instanceof AppErr) result = appErrorBody(e, requestId);
      else {
        record({ method, path: url.pathname, problem: `handler crashed: ${(e as Error).stack ?? String(e)}` });
        result = appErrorBody(err(500, 'api.context.500.app_error'), requestId);
      }
    }
    if (operation) {
      const body =
        result.raw !== undefined && (result.contentType ?? '').startsWith('application/json')
          ? JSON.parse(result.raw)
          : (result.body ?? result.raw);
      const problems = checkResponse(operation, result.status, result.contentType ?? 'application/json', body);
      if (problems.length > 0) {
        const problem = `response ${result.status}: ${problems.join('; ')}`;
        record({ method, path: url.pathname, problem });
        return appErrorBody(
          new AppErr(
            400,
            'mm_rest.openapi.response_violation',
            'The stand-in produced a response that does not match the API description.',
            problem,
          ),
          requestId,
        );
      }
    }
    return result;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? '/', 'http://stand-in.invalid');
    const match = ROUTER.match(req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET'), url.pathname);
    if (!match) return false;
    const requestId = newId();
    if (down) {
      write(
        req,
        res,
        { ...appErrorBody(err(503, 'api.context.server_busy.app_error'), requestId), headers: { Connection: 'close' } },
        requestId,
      );
      return true;
    }
    write(req, res, await serve(req, url, match, requestId), requestId);
    return true;
  }

  async function open(p: number): Promise<void> {
    const s = createServer((req, res) => {
      void handle(req, res).then((served) => {
        if (!served) {
          const id = newId();
          write(req, res, appErrorBody(err(404, 'api.context.404.app_error'), id), id);
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(p, '127.0.0.1', () => {
        s.off('error', reject);
        resolve();
      });
    });
    server = s;
    port = (s.address() as AddressInfo).port;
    listenUrl = `http://127.0.0.1:${port}`;
  }

  async function shut(): Promise<void> {
    const s = server;
    server = undefined;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }

  return {
    handle,
    state: store,
    violations,
    version,
    get down() {
      return down;
    },
    async listen(p = 0) {
      await open(p);
      if (!store.config.ServiceSettings.SiteURL) store.config.ServiceSettings.SiteURL = listenUrl!;
      return {
        url: listenUrl!,
        close: async () => {
          down = false;
          await shut();
          listenUrl = undefined;
        },
      };
    },
    async setDown(d) {
      if (d === down) return;
      down = d;
      if (d) await shut();
      else if (listenUrl) await open(port);
    },
    async executeSlashCommand(o) {
      if (down) throw new Error('Mattermost is down: the command cannot be sent');
      const requestId = newId();
      try {
        const r = await executeCommand(core, {
          userId: o.userId,
          channelId: o.channelId,
          command: o.text,
          rootId: o.rootId,
          siteUrl: core.siteUrlFor(),
        });
        return { status: 200, body: commandResponseJson(r) };
      } catch (e) {
        if (!(e instanceof AppErr)) throw e;
        const r = appErrorBody(e, requestId);
        return { status: r.status, body: r.body };
      }
    },
  };
}
