/** Routes without a Mattermost session: health, metrics (no secrets in either) and the slash command. */
import { API_VERSION, ROUTES } from '@mm-backup/api';
import type { FastifyInstance } from 'fastify';
import formbody from '@fastify/formbody';
import type { SidecarApi } from './sidecar_api';
import { route } from './typed_route';

export async function publicRoutes(app: FastifyInstance, s: SidecarApi): Promise<void> {
  route(app, ROUTES.health, s.log, async () => ({
    status: 'ok' as const,
    version: s.version,
    api_version: API_VERSION,
  }));

  app.get('/metrics', { config: { public: true } }, async (_req, reply) => {
    reply.type('text/plain; version=0.0.4');
    return s.metrics();
  });

  // Mattermost's own request (FACTS §d): form-encoded POST with the command token. The handler
  // checks the token and the user; it always answers 200 with a CommandResponse, because any
  // other status is shown to the user as an error page. Form bodies are parsed in this scope
  // only: elsewhere a cross-site "simple" form POST gets 415.
  await app.register(async (scope) => {
    await scope.register(formbody, { bodyLimit: 16 * 1024 });
    scope.post('/v1/slash', { config: { public: true } }, async (req) => {
      const form = (typeof req.body === 'object' && req.body ? req.body : {}) as Record<string, unknown>;
      const flat: Record<string, string> = {};
      // Only text is taken: String() of a hostile JSON object ({"toString":1}) throws, a 500.
      for (const [k, v] of Object.entries(form)) flat[k] = textOf(Array.isArray(v) ? v[0] : v);
      return s.slash({ form: flat, authorization: req.headers.authorization });
    });
  });
}

/** A form field as text: strings as sent, numbers and booleans spelled out, anything else empty. */
function textOf(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
}
