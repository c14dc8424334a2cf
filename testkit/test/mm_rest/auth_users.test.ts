import { FAKE_SETTING } from '../../src/mm_rest';
import { expectAppError, world, type World } from './helpers';

let w: World;
beforeEach(async () => {
  w = await world();
});
afterEach(async () => {
  expect(w.rest.violations).toEqual([]);
  await w.close();
});

test('GET /users/me with a bearer token; every answer carries X-Request-ID and X-Version-ID', async () => {
  const r = await w.call('GET', '/api/v4/users/me', { token: w.user.token });
  expect(r.status).toBe(200);
  expect(r.json).toMatchObject({ id: w.user.id, username: 'alice', roles: 'system_user' });
  expect(r.headers.get('x-request-id')).toMatch(/^[a-z0-9]{26}$/);
  expect(r.headers.get('x-version-id')).toMatch(/^11\.2\.0\.11\.2\.0\.[0-9a-f]{32}\.false$/);
});

test('GET /users/{id} and /users/username/{name}; unknown user 404, bad id 400', async () => {
  expect((await w.call('GET', `/api/v4/users/${w.admin.id}`, { token: w.user.token })).json.roles).toBe(
    'system_user system_admin',
  );
  expect((await w.call('GET', '/api/v4/users/username/sysadmin', { token: w.user.token })).json.id).toBe(w.admin.id);
  expectAppError(
    await w.call('GET', '/api/v4/users/username/nobody', { token: w.user.token }),
    404,
    'app.user.missing_account.const',
  );
  expectAppError(
    await w.call('GET', '/api/v4/users/not-an-id', { token: w.user.token }),
    400,
    'api.context.invalid_url_param.app_error',
  );
});

test('no session, unknown, expired and revoked tokens are 401 session_expired', async () => {
  expectAppError(await w.call('GET', '/api/v4/users/me'), 401, 'api.context.session_expired.app_error');
  expectAppError(
    await w.call('GET', '/api/v4/users/me', { token: 'x'.repeat(26) }),
    401,
    'api.context.session_expired.app_error',
  );
  const s = w.rest.state.login('alice');
  w.rest.state.expireSession(s.token);
  expectAppError(
    await w.call('GET', '/api/v4/users/me', { token: s.token }),
    401,
    'api.context.session_expired.app_error',
  );
  w.rest.state.revokeSession(w.user.token);
  expectAppError(
    await w.call('GET', '/api/v4/users/me', { token: w.user.token }),
    401,
    'api.context.session_expired.app_error',
  );
});

test('login: Token header always, cookies only with X-Requested-With: XMLHttpRequest', async () => {
  const plain = await w.call('POST', '/api/v4/users/login', { body: { login_id: 'alice', password: 'Password1!' } });
  expect(plain.status).toBe(200);
  expect(plain.headers.get('token')).toMatch(/^[a-z0-9]{26}$/);
  expect(plain.headers.get('set-cookie')).toBeNull();
  const xhr = await w.call('POST', '/api/v4/users/login', {
    body: { login_id: 'alice', password: 'Password1!' },
    headers: { 'X-Requested-With': 'XMLHttpRequest' },
  });
  const cookies = xhr.headers.getSetCookie();
  expect(cookies.map((c) => c.split('=')[0])).toEqual(['MMAUTHTOKEN', 'MMUSERID', 'MMCSRF']);
  expect(cookies[0]).toContain('HttpOnly');
  expect(cookies[1]).not.toContain('HttpOnly');
  const token = xhr.headers.get('token')!;
  expect((await w.call('GET', '/api/v4/users/me', { token })).json.id).toBe(w.user.id);
  expectAppError(
    await w.call('POST', '/api/v4/users/login', { body: { login_id: 'alice', password: 'wrong' } }),
    401,
    'api.user.login.invalid_credentials_email_username',
  );
});

describe('CSRF (cookie-authenticated writes only)', () => {
  const body = () => ({ channel_id: w.townId, message: 'hi' });
  test('cookie without X-CSRF-Token and without X-Requested-With → 401 and the cookie is cleared', async () => {
    const r = await w.call('POST', '/api/v4/posts', { cookie: w.user.cookie, body: body() });
    expectAppError(r, 401, 'api.context.session_expired.app_error');
    expect(r.headers.get('set-cookie')).toMatch(/^MMAUTHTOKEN=;/);
  });
  test('cookie with the session CSRF token passes', async () => {
    expect(
      (
        await w.call('POST', '/api/v4/posts', {
          cookie: w.user.cookie,
          body: body(),
          headers: { 'X-CSRF-Token': w.user.csrf },
        })
      ).status,
    ).toBe(201);
  });
  test('cookie with X-Requested-With passes unless strict CSRF enforcement is on', async () => {
    const xhr = { 'X-Requested-With': 'XMLHttpRequest' };
    expect((await w.call('POST', '/api/v4/posts', { cookie: w.user.cookie, body: body(), headers: xhr })).status).toBe(
      201,
    );
    w.rest.state.config.ServiceSettings.ExperimentalStrictCSRFEnforcement = true;
    expectAppError(
      await w.call('POST', '/api/v4/posts', { cookie: w.user.cookie, body: body(), headers: xhr }),
      401,
      'api.context.session_expired.app_error',
    );
  });
  test('a wrong X-CSRF-Token without X-Requested-With fails; GETs and bearer writes are never checked', async () => {
    expectAppError(
      await w.call('POST', '/api/v4/posts', {
        cookie: w.user.cookie,
        body: body(),
        headers: { 'X-CSRF-Token': 'nope' },
      }),
      401,
      'api.context.session_expired.app_error',
    );
    expect((await w.call('GET', '/api/v4/users/me', { cookie: w.user.cookie })).status).toBe(200);
    expect((await w.call('POST', '/api/v4/posts', { token: w.user.token, body: body() })).status).toBe(201);
  });
  test('the cookie wins over the Authorization header', async () => {
    const r = await w.call('GET', '/api/v4/users/me', { cookie: w.user.cookie, token: w.admin.token });
    expect(r.json.id).toBe(w.user.id);
  });
});

test('GET /config: admins only, secrets masked with 32 asterisks', async () => {
  expectAppError(
    await w.call('GET', '/api/v4/config', { token: w.user.token }),
    403,
    'api.context.permissions.app_error',
  );
  const r = await w.call('GET', '/api/v4/config', { token: w.admin.token });
  expect(r.status).toBe(200);
  expect(FAKE_SETTING).toBe('*'.repeat(32));
  expect(r.json.SqlSettings.DataSource).toBe(FAKE_SETTING);
  expect(r.json.SqlSettings.AtRestEncryptKey).toBe(FAKE_SETTING);
  expect(r.json.ServiceSettings.EnableCommands).toBe(true);
});

test('client config, ping and schema version', async () => {
  const cc = await w.call('GET', '/api/v4/config/client?format=old');
  expect(cc.json).toMatchObject({ Version: '11.2.0', EnableBotAccountCreation: 'false', SiteURL: w.url });
  expect(cc.text.indexOf('"BuildDate"')).toBe(1); // Go map order
  expectAppError(
    await w.call('GET', '/api/v4/config/client?format=new'),
    501,
    'api.config.client.old_format.app_error',
  );
  const ping = await w.call('GET', '/api/v4/system/ping?get_server_status=true&use_rest_semantics=true');
  expect(ping.json).toMatchObject({
    status: 'OK',
    database_status: 'OK',
    filestore_status: 'OK',
    ActiveSearchBackend: 'database',
  });
  expect(ping.headers.get('database_status')).toBe('OK');
  w.rest.state.health.database = 'UNHEALTHY';
  const sick = await w.call('GET', '/api/v4/system/ping?get_server_status=true');
  expect({ status: sick.status, body: sick.json.status }).toEqual({ status: 500, body: 'UNHEALTHY' });
  expect((await w.call('GET', '/api/v4/system/ping?get_server_status=true&use_rest_semantics=true')).status).toBe(200);
  expectAppError(
    await w.call('GET', '/api/v4/system/schema/version', { token: w.user.token }),
    403,
    'api.context.permissions.app_error',
  );
  const sv = await w.call('GET', '/api/v4/system/schema/version', { token: w.admin.token });
  expect(sv.json[0]).toEqual({ version: expect.any(Number), name: expect.any(String) });
});

test('setDown closes the listener (ECONNREFUSED) and setDown(false) reopens it with state kept', async () => {
  await w.rest.setDown(true);
  await expect(fetch(`${w.url}/api/v4/system/ping`)).rejects.toMatchObject({ cause: { code: 'ECONNREFUSED' } });
  await w.rest.setDown(false);
  expect((await w.call('GET', '/api/v4/users/me', { token: w.user.token })).status).toBe(200);
});

test('handle() falls through (false) for routes it does not serve and answers 503 while down', async () => {
  const { createServer } = await import('node:http');
  const srv = createServer((req, res) => {
    void w.rest.handle(req, res).then((served) => {
      if (!served) {
        res.writeHead(299);
        res.end('fallthrough');
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
  expect((await fetch(`${base}/api/v4/plugins`)).status).toBe(299);
  expect(
    (await fetch(`${base}/api/v4/users/me`, { headers: { Authorization: `Bearer ${w.user.token}` } })).status,
  ).toBe(200);
  await w.rest.setDown(true);
  const down = await fetch(`${base}/api/v4/users/me`, { headers: { Authorization: `Bearer ${w.user.token}` } });
  expect(down.status).toBe(503);
  await w.rest.setDown(false);
  await new Promise<void>((r) => {
    srv.close(() => r());
    srv.closeAllConnections();
  });
});
