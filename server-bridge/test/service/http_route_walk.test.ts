/**
 * Every registered route x every method x spellings of its path that a router might decode or
 * fold into it (%76, %31, %2F, %2E, //, . and .., case, trailing /, ;params, unicode), with no
 * session, sent byte-for-byte over a raw socket to the real sidecar: a protected route never
 * answers 2xx, nothing answers 5xx (but the designed 503 for a session that cannot be checked
 * while Mattermost is down), the config and connect state stay as they were, no job runs, and
 * the Mattermost stand-in saw only requests its spec allows.
 */
import net from 'node:net';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { buildServer } from '../../src/http/server';
import { routeTable, type RouteEntry } from '../../src/http/route_guard';
import { setupService, type ServiceEnv } from '../support/service_env';

let env: ServiceEnv;
beforeAll(async () => {
  env = await setupService();
}, 120_000);
afterAll(async () => {
  await env?.cleanup();
});

/** One HTTP/1.1 request exactly as written (fetch would normalise the path); resolves with the status. */
function rawRequest(
  url: string,
  method: string,
  target: string,
  headers: Record<string, string>,
  body = '',
): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer to ${method} ${target} within 10 s`));
    }, 10_000);
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (m) resolve({ status: Number(m[1]), text });
      else reject(new Error(`no HTTP status for ${method} ${target}: ${JSON.stringify(text.slice(0, 200))}`));
    });
    const lines = [`${method} ${target} HTTP/1.1`, `Host: ${hostname}:${port}`, 'Connection: close'];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    if (body || ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) {
      lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
    }
    // UTF-8 on the wire: non-ASCII path characters arrive as the raw bytes a client could send.
    sock.write(Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`, 'utf8'));
  });
}

/** The route's path with real-looking parameters. */
function concrete(url: string): string {
  return url.replace(/\/snapshots\/:id/, '/snapshots/20260101T000000Z-abcdef').replace(/:id/g, 'a'.repeat(26));
}

/** Spellings of `p` that are not `p` itself but that some router or proxy might treat as it. */
function variants(p: string): string[] {
  const segs = p.split('/').filter(Boolean);
  // A fixed (never a parameter) segment to respell: the one after /v1, or the only one.
  const fixed = segs.length > 1 ? 1 : 0;
  const respell = (f: (seg: string) => string) => `/${segs.map((s, i) => (i === fixed ? f(s) : s)).join('/')}`;
  const out = new Set<string>([
    p.replace('v1', '%761'),
    p.replace('v1', 'v%31'),
    p.replace('v1', '%76%31'),
    p.replace(/^\/(.)/, (_m, c: string) => `/%${c.charCodeAt(0).toString(16)}`),
    p.replace(/^\/(.)/, (_m, c: string) => `/%${c.charCodeAt(0).toString(16).toUpperCase()}`),
    `/${segs[0]}%2F${segs.slice(1).join('/')}`,
    `/${segs[0]}%2f${segs.slice(1).join('/')}`,
    `/%2E/${segs.join('/')}`,
    `/${segs[0]}/%2e%2e/${segs.join('/')}`,
    `/./${segs.join('/')}`,
    `/x/../${segs.join('/')}`,
    `/${segs[0]}/./${segs.slice(1).join('/')}`,
    `/${p}`,
    p.replace(/\/([^/]*)$/, '//$1'),
    `${p}/`,
    `${p}//`,
    `${p}/.`,
    `${p}/..`,
    p.toUpperCase(),
    p.replace(/^\/(.)/, (_m, c: string) => `/${c.toUpperCase()}`),
    respell((x) => x.slice(0, -1) + x.slice(-1).toUpperCase()),
    `${p};x=1`,
    p.replace(/^\/([^/]*)/, '/$1;x'),
    `${p}%00`,
    `${p}%20`,
    `${p}\\`,
    p.replace(/\//g, '\\'),
    respell((x) => `${x.slice(0, -1)}\u0430`),
    respell((x) => `${x}\u200b`),
    respell((x) => `${x}%u0073`),
    p.replace(/^\/(.)/, (_m, c: string) => `/${String.fromCharCode(c.charCodeAt(0) + 0xfee0)}`),
    respell((x) => `${x.slice(0, -1)}%C0%AF`),
    respell((x) => `${x}%E2%80%8B`),
    p.replace('v1', 'v1%2F..%2Fv1'),
    `http://127.0.0.1${p}`,
    '*',
  ]);
  out.delete(p);
  return [...out];
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];
const WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

test('no route answers an unauthenticated or non-canonical request with 2xx (protected) or 5xx (any)', async () => {
  const app = await buildServer(env.sidecar);
  const routes: RouteEntry[] = routeTable(app).filter((r) => r.url !== '*');
  await app.close();
  // The table is the app's own, so a new route is walked without touching this test.
  expect(routes.map((r) => `${r.method} ${r.url}`)).toEqual(
    expect.arrayContaining([
      'GET /v1/status',
      'PUT /v1/settings',
      'POST /v1/connect',
      'POST /v1/jobs',
      'POST /v1/slash',
      'GET /healthz',
    ]),
  );
  expect(
    routes
      .filter((r) => r.public)
      .map((r) => r.url)
      .sort(),
  ).toEqual(['/healthz', '/healthz', '/metrics', '/metrics', '/v1/slash']);

  const cfgBefore = await readFile(env.cfgFile, 'utf8');
  const stateFile = path.join(JSON.parse(cfgBefore).repository.path, 'sidecar-state.json');
  const stateBefore = await readFile(stateFile, 'utf8').catch(() => 'absent');
  const bot = env.rest.state.addUser({ username: 'notabot' });
  const nonBotToken = env.rest.state.createAccessToken(bot.id).token;
  // What an attacker would send: a config rewrite, a job, a restore, a non-bot connect.
  const hostileJson: Record<string, string> = {
    '/v1/settings': JSON.stringify({ schedule: { backup: '* * * * *' }, retention: { keep_last: 1 } }),
    '/v1/jobs': JSON.stringify({ kind: 'backup' }),
    '/v1/restore/prepare': JSON.stringify({ snapshot_id: 'latest' }),
    '/v1/connect': JSON.stringify({
      bot_token: nonBotToken,
      command_tokens: [{ team_id: env.team.id, team_name: 'ops', command_id: 'b'.repeat(26), token: 'c'.repeat(26) }],
    }),
  };

  const paths = new Map<string, boolean>(); // concrete path -> public
  for (const r of routes) paths.set(concrete(r.url), (paths.get(concrete(r.url)) ?? false) || r.public);
  const cases: Array<{
    method: string;
    target: string;
    canonical: boolean;
    publicRoute: boolean;
    headers: Record<string, string>;
    body: string;
  }> = [];
  for (const [p, pub] of paths) {
    for (const method of METHODS) {
      const bodies: Array<[Record<string, string>, string]> = WITH_BODY.has(method)
        ? [
            [{ 'Content-Type': 'application/json' }, hostileJson[p] ?? '{}'],
            [{ 'Content-Type': 'application/x-www-form-urlencoded' }, 'kind=backup&admin_token=x'],
            [{ 'Content-Type': 'text/plain' }, '{"kind":"backup"}'],
            [{ 'Content-Type': 'application/json' }, '{"kind":'],
          ]
        : [[{}, '']];
      for (const target of [p, ...variants(p)]) {
        for (const [headers, body] of bodies) {
          cases.push({ method, target, canonical: target === p, publicRoute: pub, headers, body });
        }
      }
      // Malformed credentials, on the canonical path only (each reaches Mattermost's /users/me).
      cases.push({
        method,
        target: p,
        canonical: true,
        publicRoute: pub,
        headers: { Authorization: `Bearer ${'z'.repeat(26)}` },
        body: '',
      });
      cases.push({
        method,
        target: p,
        canonical: true,
        publicRoute: pub,
        headers: { Cookie: `MMAUTHTOKEN=${'z'.repeat(26)}; MMCSRF=x`, 'X-CSRF-Token': 'x' },
        body: '',
      });
      cases.push({
        method,
        target: p,
        canonical: true,
        publicRoute: pub,
        headers: { Authorization: 'Basic Zm9vOmJhcg==' },
        body: '',
      });
    }
  }

  const failures: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const c = cases[next++] as (typeof cases)[number];
      const r = await rawRequest(env.sidecarUrl, c.method, c.target, c.headers, c.body);
      const what = `${c.method} ${JSON.stringify(c.target)} ${c.headers['Content-Type'] ?? Object.keys(c.headers).join(',')} → ${r.status}`;
      if (r.status >= 500) failures.push(`5xx: ${what}`);
      else if (r.status < 400 && !(c.canonical && c.publicRoute)) failures.push(`not refused: ${what}`);
      else if (!c.canonical && ![400, 404].includes(r.status)) {
        failures.push(`non-canonical path not refused with 400/404: ${what}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));

  // Mattermost down: only a request that carries a session may get the designed 503 (the
  // session cannot be checked); without one it is still a plain 4xx.
  await env.rest.setDown(true);
  try {
    for (const [p, pub] of paths) {
      for (const method of METHODS) {
        for (const headers of [{}, { Authorization: `Bearer ${'y'.repeat(26)}` }] as Array<Record<string, string>>) {
          const r = await rawRequest(env.sidecarUrl, method, p, headers);
          const what = `Mattermost down: ${method} ${p} ${Object.keys(headers).join(',')} → ${r.status}`;
          const designed =
            r.status === 503 &&
            headers.Authorization !== undefined &&
            (method === 'HEAD' || r.text.includes('"id":"mm_backup.mattermost_unavailable"')); // HEAD: no body
          if (r.status >= 500 && !designed) failures.push(`5xx: ${what}`);
          else if (r.status < 400 && !pub) failures.push(`not refused: ${what}`);
        }
      }
    }
  } finally {
    await env.rest.setDown(false);
  }

  expect(cases.length).toBeGreaterThan(2000);
  expect(failures).toEqual([]);
  expect(await readFile(env.cfgFile, 'utf8')).toBe(cfgBefore);
  expect(await readFile(stateFile, 'utf8').catch(() => 'absent')).toBe(stateBefore);
  expect(env.sidecar.jobs.current).toBeUndefined();
  expect(await env.sidecar.jobs.list(10)).toEqual([]);
  expect(env.rest.violations).toEqual([]);
}, 300_000);

test("form bodies are parsed only for /v1/slash: an admin's form POST elsewhere is 415 and changes nothing", async () => {
  const before = await readFile(env.cfgFile, 'utf8');
  for (const [method, route, body] of [
    ['PUT', '/v1/settings', 'retention[keep_last]=1'],
    ['POST', '/v1/jobs', 'kind=prune'],
    ['POST', '/v1/connect', `bot_token=${'a'.repeat(26)}`],
  ]) {
    const r = await fetch(`${env.sidecarUrl}${route}`, {
      method,
      body,
      headers: { Authorization: `Bearer ${env.admin.token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(r.status).toBe(415);
  }
  expect(await readFile(env.cfgFile, 'utf8')).toBe(before);
  expect(env.sidecar.jobs.current).toBeUndefined();
});

test('a session token no Mattermost could have issued (control or non-Latin-1 characters once the cookie is decoded) is 401, never a 5xx', async () => {
  const failures: string[] = [];
  const tokens = ['%0A', '%0D%0Ax', '%00', '%E2%82%AC', 'a%7Fb', 'a%09b', '%C3%A9'];
  for (const t of tokens) {
    for (const [method, target] of [
      ['GET', '/v1/status'],
      ['HEAD', '/v1/status'],
      ['GET', '/v1/snapshots'],
    ]) {
      const r = await rawRequest(env.sidecarUrl, method as string, target as string, { Cookie: `MMAUTHTOKEN=${t}` });
      if (r.status !== 401) failures.push(`${method} ${target} MMAUTHTOKEN=${t} → ${r.status}`);
    }
  }
  // A bearer token has no decoding, but bytes the header parser lets through (obs-text) count too.
  for (const t of ['\u00e9', 'a\u00ffb']) {
    const r = await rawRequest(env.sidecarUrl, 'GET', '/v1/status', { Authorization: `Bearer ${t}` });
    if (r.status !== 401) failures.push(`GET /v1/status Bearer ${JSON.stringify(t)} → ${r.status}`);
  }
  expect(failures).toEqual([]);
  expect(env.rest.violations).toEqual([]);
});

test('/v1/slash with a JSON body whose fields are not text (objects that cannot be made strings) answers 200, never a 5xx', async () => {
  const failures: string[] = [];
  for (const body of [
    '{"token":{"toString":1}}',
    '{"token":{"toString":1,"valueOf":1},"text":"backup"}',
    '{"text":{"toString":null}}',
    '{"token":[{"toString":1}]}',
    '{"user_id":[[]]}',
  ]) {
    const r = await rawRequest(env.sidecarUrl, 'POST', '/v1/slash', { 'Content-Type': 'application/json' }, body);
    if (r.status !== 200) failures.push(`${body} → ${r.status}`);
  }
  expect(failures).toEqual([]);
  expect(env.sidecar.jobs.current).toBeUndefined();
});
