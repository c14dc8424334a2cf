/** Builds the sidecar's HTTP server: CORS for the configured origins only, the route guard, one error shape. */
import fastify, { type FastifyInstance } from 'fastify';
import cors from '@fastify/cors';
import { randomBytes } from 'node:crypto';
import { API_VERSION, API_VERSION_HEADER } from '@mm-backup/api';
import { toErrorBody } from './errors';
import { installRouteGuard } from './route_guard';
import { apiRoutes } from './routes_api';
import { browseRoutes } from './routes_browse';
import { publicRoutes } from './routes_public';
import type { SidecarApi } from './sidecar_api';

export async function buildServer(s: SidecarApi): Promise<FastifyInstance> {
  const app = fastify({
    logger: false,
    bodyLimit: 64 * 1024,
    genReqId: () => randomBytes(13).toString('hex').slice(0, 26),
    // Stated rather than left to defaults: one spelling per route (`;` stays part of the path,
    // fastify's default); the route guard refuses every other spelling before routing.
    routerOptions: { caseSensitive: true, ignoreTrailingSlash: false, ignoreDuplicateSlashes: false },
  });
  const origins = new Set(s.config().listen.allowedOrigins.map((o) => new URL(o).origin));
  await app.register(cors, {
    origin: (origin, cb) => cb(null, origin ? origins.has(origin) : false),
    credentials: true,
    allowedHeaders: ['Content-Type', 'X-CSRF-Token', 'X-Requested-With', 'Authorization'],
    methods: ['GET', 'POST', 'PUT'],
    // The page reads the API version of cross-origin answers too.
    exposedHeaders: [API_VERSION_HEADER],
  });
  // Every answer, errors and 404s included, says which API it speaks: a plugin older or newer
  // than this sidecar can then say which one to upgrade (added before the guard, so a 401 says it too).
  app.addHook('onRequest', async (_req, reply) => {
    void reply.header(API_VERSION_HEADER, String(API_VERSION));
  });
  installRouteGuard(app, s.auth);
  app.setErrorHandler((err, req, reply) => {
    const body = toErrorBody(err, req.id);
    void reply.code(body.status_code).send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({
      id: 'api.context.404.app_error',
      message: `no route ${req.method} ${req.url.split('?')[0]}`,
      detailed_error: '',
      request_id: req.id,
      status_code: 404,
    });
  });
  await publicRoutes(app, s);
  apiRoutes(app, s);
  browseRoutes(app, s);
  return app;
}
