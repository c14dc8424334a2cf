/** Routes without a Mattermost session: health, metrics (no secrets in either) and the slash command. */
import type { FastifyInstance } from 'fastify';
import type { SidecarApi } from './sidecar_api';

export function publicRoutes(app: FastifyInstance, s: SidecarApi): void {
  app.get('/healthz', async () => ({ status: 'ok', version: s.version }));

  app.get('/metrics', async (_req, reply) => {
    reply.type('text/plain; version=0.0.4');
    return s.metrics();
  });

  // Mattermost's own request (FACTS §d): form-encoded POST with the command token. The handler
  // checks the token and the user; it always answers 200 with a CommandResponse, because any
  // other status is shown to the user as an error page.
  app.post('/v1/slash', async (req) => {
    const form = (typeof req.body === 'object' && req.body ? req.body : {}) as Record<string, unknown>;
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(form)) flat[k] = Array.isArray(v) ? String(v[0] ?? '') : String(v ?? '');
    return s.slash({ form: flat, authorization: req.headers.authorization });
  });
}
