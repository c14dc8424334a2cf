/**
 * A restore confirmation belongs to the admin who prepared it: another system admin cannot
 * start the restore with it (API or /backup code), and the attempt does not use it up.
 */
import { eventually, setupService, type ServiceEnv } from '../support/service_env';

let env: ServiceEnv;
beforeAll(async () => {
  env = await setupService();
}, 120_000);
afterAll(async () => {
  await env?.cleanup();
});
afterEach(() => {
  expect(env.rest.violations).toEqual([]);
});

test("a confirmation prepared by admin A is refused for admin B and stays A's", async () => {
  // The service's own start-up check may still hold the lock for a moment (409).
  const backup = await eventually(
    async () => {
      const r = await env.api('POST', '/v1/jobs', { body: { kind: 'backup', mode: 'online' } });
      return r.status === 409 ? undefined : r;
    },
    30_000,
    'the start-up check to release the lock',
  );
  expect(backup.status).toBe(202);
  await env.sidecar.jobs.idle();
  expect((await env.api('GET', `/v1/jobs/${backup.body.id}`)).body.status).toBe('succeeded');

  const other = env.rest.state.addUser({ username: 'otheradmin', roles: 'system_user system_admin' });
  const b = env.rest.state.login('otheradmin');
  const prepared = await env.api('POST', '/v1/restore/prepare', { body: { snapshot_id: 'latest' } });
  expect(prepared.status).toBe(200);
  const token = prepared.body.confirmation_token as string;
  const jobsBefore = (await env.api('GET', '/v1/jobs')).body.jobs.length as number;

  const stolen = await env.api('POST', '/v1/jobs', { as: b, body: { kind: 'restore', confirmation_token: token } });
  expect(stolen.status).toBe(412);
  expect(stolen.body.message).toMatch(/unknown or expired/);
  expect(env.sidecar.restores.byCode(token.slice(0, 8), other.id)).toBeUndefined();
  expect(env.sidecar.jobs.current).toBeUndefined();
  expect((await env.api('GET', '/v1/jobs')).body.jobs.length).toBe(jobsBefore);
  // Not used up by B's attempt: still A's.
  await eventually(
    () => env.sidecar.restores.byCode(token.slice(0, 8), env.admin.id),
    1000,
    'the confirmation to still be pending for A',
  );
});
