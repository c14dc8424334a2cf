/**
 * The sidecar's Client4 against a real HTTP server on loopback that misbehaves the ways a
 * Mattermost (or the proxy in front of it) can: no answer, an answer that stops half-way, an
 * error body, a proxy's page, a closed port. The well-behaved paths are covered against the
 * stand-in (test/testkit/mm_rest/posts_teams.test.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BridgeError, MattermostError } from '../../src/core/errors';
import { MattermostApiError, MattermostClient, isOutage } from '../../src/mattermost/client';
import { ping } from '../../src/mattermost/health';

const TOKEN = 'secrettoken1234567890abcdef';
let server: Server;
let base: string;
let handle: (req: IncomingMessage, res: ServerResponse) => void;
const seen: IncomingMessage[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req);
    handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  seen.length = 0;
});

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

async function caught(p: Promise<unknown>): Promise<BridgeError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BridgeError);
  return err as BridgeError;
}

test('a token goes in the Authorization header with X-Requested-With, and a sub-path base URL is kept', async () => {
  handle = (_req, res) =>
    json(res, 200, { id: 'u1', username: 'mm-backup', roles: 'system_user', is_bot: true, delete_at: 0 });
  const me = await new MattermostClient(`${base}/chat/`, { token: TOKEN }).getMe();
  expect(me.username).toBe('mm-backup');
  expect(seen[0]?.url).toBe('/chat/api/v4/users/me');
  expect(seen[0]?.headers.authorization).toBe(`BEARER ${TOKEN}`);
  expect(seen[0]?.headers['x-requested-with']).toBe('XMLHttpRequest');
});

test('a forwarded browser session goes as its cookie, with the CSRF token on changes', async () => {
  handle = (_req, res) => json(res, 200, { status: 'OK' });
  const c = new MattermostClient(base, { cookie: 'MMAUTHTOKEN=abc', csrf: 'csrf1' });
  await c.getMe();
  await c.deleteCommand('c1');
  expect(seen.map((r) => [r.method, r.headers.cookie, r.headers['x-csrf-token'], r.headers.authorization])).toEqual([
    ['GET', 'MMAUTHTOKEN=abc', undefined, undefined],
    ['DELETE', 'MMAUTHTOKEN=abc', 'csrf1', undefined],
  ]);
});

test('a Mattermost error answer keeps status and error id as data, and never the token', async () => {
  handle = (_req, res) =>
    json(res, 401, {
      id: 'api.context.session_expired.app_error',
      message: 'Invalid or expired session, please login again.',
      status_code: 401,
      detailed_error: '',
    });
  const err = await caught(new MattermostClient(base, { token: TOKEN }).getUser('u1'));
  expect(err).toBeInstanceOf(MattermostApiError);
  expect(err).toMatchObject({
    status: 401,
    errorId: 'api.context.session_expired.app_error',
    code: 'PRECONDITION_FAILED',
    details: { status: 401 },
  });
  expect(err.message).toBe(
    'Mattermost answered 401 to GET /api/v4/users/u1: Invalid or expired session, please login again. (api.context.session_expired.app_error)',
  );
  expect(isOutage(err)).toBe(false);
  const cause = err.cause as Error & { url?: string };
  expect(
    JSON.stringify(err) + JSON.stringify(cause) + cause.message + String(cause.url) + String(err.stack),
  ).not.toContain(TOKEN);
});

test('a 404 is NOT_FOUND, a 503 is an outage worth retrying', async () => {
  handle = (req, res) =>
    req.url?.includes('missing')
      ? json(res, 404, { id: 'store.sql_user.missing', message: 'not found', status_code: 404 })
      : json(res, 503, { id: '', message: 'Internal Server Error', status_code: 503 });
  const c = new MattermostClient(base, { token: TOKEN });
  expect(await caught(c.getUser('missing'))).toMatchObject({ code: 'NOT_FOUND', status: 404 });
  const busy = await caught(c.getUser('u2'));
  expect(busy).toMatchObject({ code: 'MATTERMOST_UNAVAILABLE', status: 503 });
  expect(isOutage(busy)).toBe(true);
});

test("a proxy's error page (no Mattermost error body) is MATTERMOST_UNAVAILABLE, an outage", async () => {
  handle = (_req, res) => res.writeHead(502, { 'Content-Type': 'text/html' }).end('<html>Bad Gateway</html>');
  const err = await caught(new MattermostClient(base, { token: TOKEN }).getMe());
  expect(err).toBeInstanceOf(MattermostError);
  expect(err.message).toMatch(/answered GET \/api\/v4\/users\/me with an error that is not Mattermost's/);
  expect(isOutage(err)).toBe(true);
});

test('a Mattermost that never answers, or stops half-way through the body, fails within the timeout', async () => {
  handle = () => undefined; // accepts and says nothing
  const c = new MattermostClient(base, { token: TOKEN }, 300);
  const started = Date.now();
  const silent = await caught(c.getMe());
  expect(silent).toBeInstanceOf(MattermostError);
  expect(silent.message).toMatch(/is not reachable \(no answer within 0.3 s\)/);
  handle = (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write('{"id":');
  };
  const halfway = await caught(c.getMe());
  expect(halfway).toBeInstanceOf(MattermostError);
  expect(isOutage(halfway)).toBe(true);
  expect(Date.now() - started).toBeLessThan(5000);
});

test('a closed port is MATTERMOST_UNAVAILABLE with the reason', async () => {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  const err = await caught(new MattermostClient(`http://127.0.0.1:${port}`, { token: TOKEN }).getMe());
  expect(err).toMatchObject({ code: 'MATTERMOST_UNAVAILABLE' });
  expect(err.message).toMatch(/is not reachable \(.*ECONNREFUSED/);
  expect(isOutage(err)).toBe(true);
});

test('the hand-written ping asks a sub-path install at its own /api/v4 and tells unhealthy from down', async () => {
  handle = (_req, res) => json(res, 200, { status: 'UNHEALTHY', database_status: 'UNHEALTHY', filestore_status: 'OK' });
  expect(await ping(`${base}/chat/`, 1000)).toEqual({
    state: 'unhealthy',
    detail: 'HTTP 200, status UNHEALTHY, database UNHEALTHY, file store OK',
  });
  expect(seen[0]?.url).toBe('/chat/api/v4/system/ping?get_server_status=true&use_rest_semantics=true');
  handle = () => undefined;
  expect((await ping(base, 300)).state).toBe('down');
});
