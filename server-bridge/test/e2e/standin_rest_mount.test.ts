/** The process stand-in serves the whole REST surface through the one REST stand-in. */
import { setupE2E, type E2E } from '../support/e2e_env';

let env: E2E;
beforeAll(async () => {
  env = await setupE2E('postgres');
}, 120_000);
afterAll(async () => {
  await env?.cleanup();
});

test('REST routes answer like Mattermost; ping still checks the real database', async () => {
  const me = await fetch(`${env.url}/api/v4/users/me`);
  expect(me.status).toBe(401);
  expect(await me.json()).toMatchObject({ id: 'api.context.session_expired.app_error', status_code: 401 });
  const ping = await fetch(`${env.url}/api/v4/system/ping?get_server_status=true`);
  expect(ping.headers.get('database_status')).toBe('OK');
  const missing = await fetch(`${env.url}/api/v4/nonexistent`);
  expect(missing.status).toBe(404);
});
