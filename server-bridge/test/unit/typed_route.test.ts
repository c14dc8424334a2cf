/**
 * http/typed_route.ts on a real Fastify instance: the sidecar validates its own answers with
 * the API schema (an answer that does not match is a logged 500, never sent), sends only the
 * fields the schema names, and lists request problems by path.
 */
import fastify from 'fastify';
import { ROUTES } from '@mm-backup/api';
import { toErrorBody } from '../../src/http/errors';
import { route } from '../../src/http/typed_route';

/** Real HTTP on loopback (light-my-request's inject does not load under jest). */
async function call(a: ReturnType<typeof fastify>, method: string, url: string, payload?: unknown) {
  const base = await a.listen({ host: '127.0.0.1', port: 0 });
  try {
    const res = await fetch(`${base}${url}`, {
      method,
      headers: payload ? { 'content-type': 'application/json' } : {},
      body: payload ? JSON.stringify(payload) : undefined,
    });
    const body = await res.text();
    return { statusCode: res.status, body, json: () => JSON.parse(body) };
  } finally {
    await a.close();
  }
}

function app() {
  const logged: Array<{ fields: Record<string, unknown>; message: string }> = [];
  const a = fastify();
  a.setErrorHandler((err, req, reply) => {
    const b = toErrorBody(err, req.id);
    void reply.code(b.status_code).send(b);
  });
  return {
    a,
    logged,
    log: { error: (fields: Record<string, unknown>, message: string) => logged.push({ fields, message }) },
  };
}

const settings = {
  schedule: { backup: null, verify: null, timezone: 'UTC', prune_after_backup: true },
  retention: { keep_last: 7, keep_daily: 7, keep_weekly: 4, keep_monthly: 6 },
  backup: { mode: 'offline' as const, exclude: [] },
  notify: { successes: 'each' as const, daily_summary_at: '09:00' },
  status_channel: null,
};

test('an answer its schema refuses is a 500 with a clear log, and is not sent', async () => {
  const { a, logged, log } = app();
  // The handler's type forbids this; a cast stands for a bug the compiler cannot see (data read from disk).
  route(
    a,
    ROUTES.getSettings,
    log,
    async () =>
      ({ ...settings, retention: { ...settings.retention, keep_last: 'seven' } }) as unknown as typeof settings,
  );
  const r = await call(a, 'GET', '/v1/settings');
  expect(r.statusCode).toBe(500);
  expect(r.json()).toMatchObject({ id: 'mm_backup.response.invalid', status_code: 500 });
  expect(r.body).not.toContain('seven');
  expect(logged).toEqual([
    {
      fields: { route: 'GET /v1/settings', problems: [expect.stringMatching(/^retention\.keep_last: /)] },
      message: expect.stringMatching(/schema refuses/),
    },
  ]);
});

test('only the fields the schema names leave the sidecar', async () => {
  const { a, logged, log } = app();
  route(a, ROUTES.getSettings, log, async () => ({ ...settings, secret: 'hunter2' }));
  const r = await call(a, 'GET', '/v1/settings');
  expect(r.statusCode).toBe(200);
  expect(r.json()).toEqual(settings);
  expect(logged).toEqual([]);
});

test('request problems come back one per field, by path', async () => {
  const { a, log } = app();
  route(a, ROUTES.putSettings, log, async () => settings);
  const r = await call(a, 'PUT', '/v1/settings', {
    notify: { daily_summary_at: '9' },
    status_channel: 'Town Square',
    extra: true,
  });
  expect(r.statusCode).toBe(400);
  expect(r.json().errors).toEqual([
    { path: 'notify.daily_summary_at', message: 'must be HH:MM' },
    { path: 'status_channel', message: expect.stringMatching(/team-name\/channel-name/) },
    { path: 'extra', message: expect.stringMatching(/Unrecognized key/) },
  ]);
  expect(r.json().message).toMatch(/^body\.notify\.daily_summary_at: must be HH:MM; /);
});
