/**
 * Who may reach a route is decided on the route that MATCHED, never on the URL text: every
 * route needs a system-admin session unless its config says `public: true`. Paths that are
 * not in canonical form (percent-encoding, `//`, `.`/`..` segments, `;`, a trailing `/`,
 * anything but [A-Za-z0-9._-] in a segment) are refused before any route or check runs, so a
 * path the router would decode into a protected route can never look like another one.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Caller, SessionAuth } from './auth';
import { HttpError } from './errors';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Reachable without a Mattermost session (the route checks what it needs itself). */
    public?: boolean;
  }
  interface FastifyRequest {
    /** The authenticated caller; set on every non-public route before its handler runs. */
    caller?: Caller;
  }
}

// Segments start with a letter, digit, `_` or `-` (so never `.` or `..`); no empty segment.
const CANONICAL_PATH = /^(?:\/|(?:\/[A-Za-z0-9_-][A-Za-z0-9._-]*)+)$/;

/** True when the request-target's path (before `?`) is in the only form the routes are written in. */
export function isCanonicalPath(rawUrl: string): boolean {
  const q = rawUrl.indexOf('?');
  const p = q === -1 ? rawUrl : rawUrl.slice(0, q);
  return p.length <= 512 && CANONICAL_PATH.test(p);
}

/** A registered route as the guard sees it. */
export interface RouteEntry {
  method: string;
  url: string;
  public: boolean;
}

const tables = new WeakMap<FastifyInstance, RouteEntry[]>();

/** Every route registered on `app` after installRouteGuard (so tests can walk all of them). */
export function routeTable(app: FastifyInstance): RouteEntry[] {
  return [...(tables.get(app) ?? [])];
}

/** Installs the path check and the default-deny session check; call before any route is added. */
export function installRouteGuard(app: FastifyInstance, auth: SessionAuth): void {
  const table: RouteEntry[] = [];
  tables.set(app, table);
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) {
      table.push({ method, url: r.url, public: r.config?.public === true });
    }
  });
  app.addHook('onRequest', async (req) => {
    if (!isCanonicalPath(req.raw.url ?? '')) {
      throw new HttpError(
        400,
        'mm_backup.request.non_canonical_path',
        'the request path is not in canonical form (no percent-encoding, empty, "." or ".." segments, or trailing "/")',
      );
    }
    if (isPublic(req)) return;
    req.caller = await auth.authenticate(req);
  });
}

function isPublic(req: FastifyRequest): boolean {
  // No route matched: the not-found handler answers 404 and reveals nothing else.
  if (req.routeOptions.url === undefined) return true;
  // @fastify/cors's catch-all preflight route: its hook answers allowed preflights before this
  // one; what reaches the handler is sent to the not-found handler.
  if (req.method === 'OPTIONS' && req.routeOptions.url === '*') return true;
  return req.routeOptions.config.public === true;
}

/** The authenticated caller of a protected route; a 401 (not a crash) if the guard did not run. */
export function callerOf(req: FastifyRequest): Caller {
  if (!req.caller) throw new HttpError(401, 'api.context.session_expired.app_error', 'no Mattermost session');
  return req.caller;
}
