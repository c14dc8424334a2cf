/**
 * The route contract shared by the route groups: what a handler sees (Ctx), how a route is
 * declared, and matching of a method + path to the most specific route.
 */
import type { IncomingMessage } from 'node:http';
import type { Caller } from './auth';
import type { ApiResult } from './http_util';
import type { MmStore } from './state';

/** Instance-wide things handlers need besides the store. */
export interface Core {
  store: MmStore;
  version: string;
  /** Base URL of the server as the request reached it (scheme + Host), for response_url. */
  siteUrlFor(req?: IncomingMessage): string;
  /** Outgoing slash-command request limits (Mattermost: 3 s connect, 30 s overall). */
  slashTimeouts: { connectMs: number; totalMs: number };
}

export interface Ctx {
  core: Core;
  store: MmStore;
  req: IncomingMessage;
  url: URL;
  params: Record<string, string>;
  /** Parsed JSON body (undefined when empty or not JSON). */
  body: any;
  rawBody: string;
  requestId: string;
  caller?: Caller;
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  /** Needs a valid session (401 otherwise); false for ping, client config, login and hooks. */
  session: boolean;
  handler(ctx: Ctx): ApiResult | Promise<ApiResult>;
}

interface Compiled {
  route: Route;
  re: RegExp;
  names: string[];
}

export class Router {
  private readonly compiled: Compiled[];

  constructor(routes: Route[]) {
    this.compiled = routes.map((route) => {
      const names: string[] = [];
      const src = route.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_, n: string) => {
        names.push(n);
        return '([^/]+)';
      });
      return { route, re: new RegExp(`^${src}/?$`), names };
    });
  }

  /** The matching route with the fewest placeholders (so /users/login wins over /users/{user_id}). */
  match(method: string, pathname: string): { route: Route; params: Record<string, string> } | undefined {
    let best: { route: Route; params: Record<string, string> } | undefined;
    let bestVars = Infinity;
    for (const c of this.compiled) {
      if (c.route.method !== method) continue;
      const m = c.re.exec(pathname);
      if (!m || c.names.length >= bestVars) continue;
      const params: Record<string, string> = {};
      c.names.forEach((n, i) => {
        params[n] = decodeURIComponent(m[i + 1] ?? '');
      });
      best = { route: c.route, params };
      bestVars = c.names.length;
    }
    return best;
  }
}
