/** The sidecar's HTTP API over real HTTP: who may call it, bad input, connect, settings, metrics. */
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { API_VERSION, API_VERSION_HEADER } from '@mm-backup/api';
import { setupService, type ServiceEnv } from '../support/service_env';
import { COMPONENT_IDS } from '../../src/config/schema';

let env: ServiceEnv;
beforeAll(async () => {
  env = await setupService({ authFreshMs: 300 });
}, 120_000);
afterAll(async () => {
  await env?.cleanup();
});
afterEach(() => {
  expect(env.rest.violations).toEqual([]);
});

test('healthz and metrics need no session and reveal no secrets', async () => {
  const h = await env.api('GET', '/healthz', { as: null as never });
  expect(h).toMatchObject({ status: 200, body: { status: 'ok', version: expect.any(String) } });
  const m = await env.api('GET', '/metrics', { as: null as never });
  expect(m.status).toBe(200);
  expect(m.body).toContain('# TYPE mm_backup_snapshots gauge');
  expect(m.body).not.toContain(env.sb.dbPassword);
});

test('GET /v1/components names every component kind of the registry, to an admin only', async () => {
  const r = await env.api('GET', '/v1/components');
  expect(r.status).toBe(200);
  const list = (
    r.body as {
      components: Array<{
        id: string;
        title: string;
        description: string;
        store: string;
        location: string;
        secrets?: boolean;
      }>;
    }
  ).components;
  expect(list.map((c) => c.id)).toEqual([...COMPONENT_IDS]);
  expect(list.find((c) => c.id === 'data')).toEqual({
    id: 'data',
    title: 'File store (attachments)',
    description: expect.stringMatching(/\w/),
    store: 'files',
    location: 'FileSettings.Directory',
    secrets: false,
  });
  expect(list.filter((c) => c.secrets).map((c) => c.id)).toEqual([
    'database',
    'config_store',
    'config',
    'env_file',
    'tls',
  ]);
  expect(list.find((c) => c.id === 'database')?.store).toBe('database');
  expect((await env.api('GET', '/v1/components', { as: env.alice })).status).toBe(403);
  expect((await env.api('GET', '/v1/components', { as: null as never })).status).toBe(401);
});

describe('auth matrix', () => {
  test("no session: 401 in Mattermost's error shape", async () => {
    const r = await env.api('GET', '/v1/status', { as: null as never });
    expect(r.status).toBe(401);
    expect(r.body).toEqual({
      id: 'api.context.session_expired.app_error',
      message: expect.stringMatching(/no Mattermost session/),
      detailed_error: '',
      request_id: expect.stringMatching(/^[a-z0-9]{26}$/),
      status_code: 401,
    });
  });
  test('a regular user: 403', async () => {
    const r = await env.api('GET', '/v1/status', { as: env.alice });
    expect(r.status).toBe(403);
    expect(r.body.message).toMatch(/@alice is not a system admin/);
  });
  test('an admin with a bearer token or a cookie can read', async () => {
    expect((await env.api('GET', '/v1/status')).status).toBe(200);
    expect((await env.api('GET', '/v1/snapshots', { cookie: true })).status).toBe(200);
  });
  test('a bot token: 403', async () => {
    const bot = env.rest.state.addBot({ username: 'somebot' });
    const token = env.rest.state.createAccessToken(bot.user.id).token;
    const r = await env.api('GET', '/v1/status', { as: { token } });
    expect(r.status).toBe(403);
  });
  test('cookie auth: a state change needs X-CSRF-Token equal to MMCSRF', async () => {
    const missing = await env.api('POST', '/v1/jobs', {
      cookie: true,
      csrf: null,
      body: { kind: 'prune', dry_run: true },
    });
    expect(missing.status).toBe(401);
    expect(missing.body.message).toMatch(/X-CSRF-Token/);
    const wrong = await env.api('POST', '/v1/jobs', {
      cookie: true,
      csrf: 'x'.repeat(26),
      body: { kind: 'prune', dry_run: true },
    });
    expect(wrong.status).toBe(401);
    const right = await env.api('POST', '/v1/jobs', { cookie: true, body: { kind: 'prune', dry_run: true } });
    expect(right.status).toBe(202);
    await env.sidecar.jobs.idle();
    // Bearer requests are not CSRF-checked (as in Mattermost).
    expect((await env.api('POST', '/v1/jobs', { body: { kind: 'prune', dry_run: true } })).status).toBe(202);
    await env.sidecar.jobs.idle();
  });
  test('an expired or revoked session: 401 once Mattermost says so', async () => {
    const s = env.rest.state.login('sysadmin');
    expect((await env.api('GET', '/v1/status', { as: s })).status).toBe(200);
    env.rest.state.expireSession(s.token);
    await new Promise((r) => setTimeout(r, 400)); // past the short validation cache of this test
    expect((await env.api('GET', '/v1/status', { as: s })).status).toBe(401);
  });
  test('while Mattermost is down, a recently validated session keeps working; a new one does not', async () => {
    const known = env.rest.state.login('sysadmin');
    expect((await env.api('GET', '/v1/snapshots', { as: known })).status).toBe(200);
    const unknown = env.rest.state.login('sysadmin');
    await env.rest.setDown(true);
    try {
      await new Promise((r) => setTimeout(r, 400));
      expect((await env.api('GET', '/v1/snapshots', { as: known })).status).toBe(200);
      const r = await env.api('GET', '/v1/snapshots', { as: unknown });
      expect(r.status).toBe(503);
      expect(r.body.message).toMatch(/Mattermost cannot be reached/);
    } finally {
      await env.rest.setDown(false);
    }
    // Back up: the revoked session stops working.
    env.rest.state.revokeSession(known.token);
    await new Promise((r) => setTimeout(r, 400));
    expect((await env.api('GET', '/v1/snapshots', { as: known })).status).toBe(401);
  });
  test('CORS only for the configured origin', async () => {
    const ok = await fetch(`${env.sidecarUrl}/v1/status`, {
      method: 'OPTIONS',
      headers: { Origin: env.mmUrl, 'Access-Control-Request-Method': 'GET' },
    });
    expect(ok.headers.get('access-control-allow-origin')).toBe(env.mmUrl);
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
    const evil = await fetch(`${env.sidecarUrl}/v1/status`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'GET' },
    });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('bad input gets a clear 4xx and changes nothing', () => {
  test.each([
    ['POST', '/v1/jobs', { kind: 'backup', extra: 1 }, 400, /Unrecognized key/],
    ['POST', '/v1/jobs', { kind: 'nuke' }, 400, /kind/],
    ['POST', '/v1/jobs', { kind: 'backup', mode: 7 }, 400, /mode/],
    ['POST', '/v1/jobs', { kind: 'verify', snapshot_id: '../../etc/passwd' }, 400, /not a snapshot id/],
    ['POST', '/v1/jobs', { kind: 'restore', snapshot_id: '20260101T000000Z-abcdef' }, 400, /confirmation_token/],
    ['POST', '/v1/jobs', { kind: 'restore', confirmation_token: '0'.repeat(32) }, 412, /unknown or expired/],
    ['POST', '/v1/jobs', '{"kind": "backup"', 400, /JSON/],
    ['POST', '/v1/restore/prepare', { snapshot_id: 'latest/../../x' }, 400, /snapshot/],
    ['PUT', '/v1/settings', { schedule: { backup: 'at three' } }, 400, /schedule\.backup/],
    ['PUT', '/v1/settings', { retention: { keep_last: 0 } }, 400, /keep_last/],
    ['PUT', '/v1/settings', { status_channel: 'Not A Channel' }, 400, /team-name\/channel-name/],
    ['PUT', '/v1/settings', { schedule: { timezone: 'Mars/Olympus', backup: '0 3 * * *' } }, 400, /timezone/],
    ['POST', '/v1/connect', { bot_token: 'short' }, 400, /bot_token/],
    ['POST', '/v1/connect', {}, 400, /exactly one/],
  ])('%s %s %j → %i', async (method, route, body, status, message) => {
    const before = await readFile(env.cfgFile, 'utf8');
    const r = await env.api(method, route, { body });
    expect(r.status).toBe(status);
    expect(JSON.stringify(r.body)).toMatch(message);
    expect(r.body.status_code).toBe(status);
    expect(await readFile(env.cfgFile, 'utf8')).toBe(before);
    expect(env.sidecar.jobs.current).toBeUndefined();
  });
  test.each([
    '/v1/snapshots/..%2F..%2Fetc%2Fpasswd',
    '/v1/snapshots/notanid/manifest',
    '/v1/jobs/..%2Fx',
    '/v1/jobs/UPPERCASE',
  ])('GET %s → 400', async (route) => {
    const r = await env.api('GET', route);
    expect(r.status).toBe(400);
  });
  test('a missing snapshot or job is 404; an unknown route is 404 in the same shape', async () => {
    expect((await env.api('GET', '/v1/snapshots/20260101T000000Z-abcdef')).status).toBe(404);
    expect((await env.api('GET', `/v1/jobs/${'a'.repeat(26)}`)).status).toBe(404);
    const r = await env.api('GET', '/v1/nope');
    expect(r).toMatchObject({ status: 404, body: { status_code: 404 } });
  });
  test('a huge body is refused with 413', async () => {
    const r = await env.api('PUT', '/v1/settings', { body: { schedule: { backup: 'x'.repeat(200_000) } } });
    expect(r.status).toBe(413);
  });
});

test('settings: read without secrets, write with validation, applied and stored 0600', async () => {
  const before = await env.api('GET', '/v1/settings');
  expect(before.status).toBe(200);
  expect(JSON.stringify(before.body)).not.toMatch(/adminUrl|password|token/i);
  const r = await env.api('PUT', '/v1/settings', {
    body: {
      schedule: { backup: '0 3 * * *', timezone: 'Europe/Berlin' },
      retention: { keep_last: 3 },
      notify: { successes: 'daily' },
    },
  });
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({
    schedule: { backup: '0 3 * * *', timezone: 'Europe/Berlin' },
    retention: { keep_last: 3 },
    notify: { successes: 'daily' },
  });
  const file = JSON.parse(await readFile(env.cfgFile, 'utf8'));
  expect(file.schedule).toEqual({ backup: '0 3 * * *', timezone: 'Europe/Berlin' });
  expect((await stat(env.cfgFile)).mode & 0o777).toBe(0o600);
  const status = await env.api('GET', '/v1/status');
  // 03:00 in Berlin is 02:00 UTC in winter and 01:00 UTC in summer: take the offset Berlin has on that date.
  const next = new Date(status.body.next_backup);
  const offset = Number(
    /GMT([+-]\d+)/.exec(
      new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Berlin', timeZoneName: 'shortOffset' }).format(next),
    )?.[1],
  );
  expect([1, 2]).toContain(offset);
  expect(next.getUTCHours()).toBe(3 - offset);
  expect(next.getUTCMinutes()).toBe(0);
  expect(next.getTime() - Date.now()).toBeLessThanOrEqual(25 * 3_600_000);
  await env.api('PUT', '/v1/settings', { body: { schedule: { backup: null }, notify: { successes: 'each' } } });
  expect((await env.api('GET', '/v1/status')).body.next_backup).toBeNull();
});

test('settings: the off-site copy after each backup is a backup setting (backup.replicate_after), written without inventing an offsite section', async () => {
  expect((await env.api('GET', '/v1/settings')).body.backup.replicate_after).toBe(true);
  const r = await env.api('PUT', '/v1/settings', { body: { backup: { replicate_after: false } } });
  expect(r.status).toBe(200);
  expect(r.body.backup.replicate_after).toBe(false);
  expect(env.sidecar.config().backup.replicateAfter).toBe(false);
  const file = JSON.parse(await readFile(env.cfgFile, 'utf8'));
  expect(file.backup.replicateAfter).toBe(false);
  // Removing the deprecated offsite.replicateAfterBackup must not create an offsite section (none is configured).
  expect(file.offsite).toBeUndefined();
  await env.api('PUT', '/v1/settings', { body: { backup: { replicate_after: true } } });
});

test('connect with an admin token: bot, token, channel membership, /backup in every team; problems explained', async () => {
  env.rest.state.addTeam({ name: 'second', display_name: 'Second team' });
  const r = await env.api('POST', '/v1/connect', { body: { admin_token: env.admin.token } });
  expect(r.status).toBe(200);
  expect(r.body.bot_username).toBe('mm-backup');
  expect(r.body.status_channel).toBe('ops/backups');
  expect(r.body.commands.map((c: { team: string; status: string }) => `${c.team}:${c.status}`).sort()).toEqual([
    'ops:created',
    'second:created',
  ]);
  expect(r.body.problems).toEqual([]);
  const cmd = env.rest.state.commands(env.team.id).find((c) => c.trigger === 'backup');
  expect(cmd).toMatchObject({ method: 'P', url: `${env.sidecarUrl}/v1/slash`, auto_complete: true });
  expect(JSON.stringify(r.body)).not.toContain(cmd?.token);
  const state = await env.api('GET', '/v1/connect');
  expect(state.body).toMatchObject({ connected: true, problems: [] });
  expect(JSON.stringify(state.body)).not.toMatch(/"token"/);
  // Connecting again reuses the bot and updates the commands.
  const again = await env.api('POST', '/v1/connect', { body: { admin_token: env.admin.token } });
  expect(again.body.commands.every((c: { status: string }) => c.status === 'updated')).toBe(true);
});

test('connect explains the Mattermost settings that block it', async () => {
  env.rest.state.config.ServiceSettings.AllowedUntrustedInternalConnections = '';
  try {
    const r = await env.api('POST', '/v1/connect', { body: { admin_token: env.admin.token } });
    expect(r.body.problems.join('\n')).toMatch(/AllowedUntrustedInternalConnections lists "127\.0\.0\.1\/32"/);
  } finally {
    env.rest.state.config.ServiceSettings.AllowedUntrustedInternalConnections = '127.0.0.1/32';
  }
});

test('every answer says which API version the sidecar speaks: header on 200, 401 and 404; api_version in status and /healthz', async () => {
  const ok = await env.api('GET', '/v1/status');
  expect(ok.status).toBe(200);
  expect(ok.headers.get(API_VERSION_HEADER)).toBe(String(API_VERSION));
  expect(ok.body).toMatchObject({ api_version: API_VERSION, sidecar: { version: expect.any(String) } });
  const denied = await fetch(`${env.sidecarUrl}/v1/status`);
  expect(denied.status).toBe(401);
  expect(denied.headers.get(API_VERSION_HEADER)).toBe(String(API_VERSION));
  expect((await env.api('GET', '/v1/nothing')).headers.get(API_VERSION_HEADER)).toBe(String(API_VERSION));
  const health = await fetch(`${env.sidecarUrl}/healthz`);
  expect(await health.json()).toMatchObject({ status: 'ok', api_version: API_VERSION });
});

test('settings 400s list each problem by its API path: the request schema, and the config checks after it', async () => {
  const before = await readFile(env.cfgFile, 'utf8');
  const shape = await env.api('PUT', '/v1/settings', {
    body: { retention: { keep_last: 0, keep_daily: 1.5 }, backup: { exclude: ['database'] }, typo: 1 },
  });
  expect(shape.status).toBe(400);
  expect(shape.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
    'backup.exclude',
    'retention.keep_daily',
    'retention.keep_last',
    'typo',
  ]);
  expect(shape.body.errors.find((e: { path: string }) => e.path === 'retention.keep_last').message).toMatch(
    /at least 1/,
  );
  // Five fields, but no minute 61: only the config's cron check (croner) finds it, under the same path.
  const cron = await env.api('PUT', '/v1/settings', { body: { schedule: { backup: '61 3 * * *' } } });
  expect(cron.status).toBe(400);
  expect(cron.body.errors).toEqual([{ path: 'schedule.backup', message: expect.stringMatching(/61|minute|range/i) }]);
  expect(await readFile(env.cfgFile, 'utf8')).toBe(before);
});

test("settings save is atomic: when the new settings' storage cannot be opened, the file and the running sidecar stay as they were", async () => {
  const before = await readFile(env.cfgFile, 'utf8');
  const settings = (await env.api('GET', '/v1/settings')).body;
  const repo = JSON.parse(before).repository.path as string;
  // A repository with data but no marker is refused when opened (it is not the repository the config means).
  await rename(path.join(repo, 'repository.json'), path.join(repo, 'repository.json.away'));
  await mkdir(path.join(repo, 'objects', 'aa'), { recursive: true });
  await writeFile(path.join(repo, 'objects', 'aa', 'planted'), 'x');
  try {
    const r = await env.api('PUT', '/v1/settings', {
      body: { schedule: { backup: '0 4 * * *' }, retention: { keep_last: 9 } },
    });
    expect(r.status).toBe(412);
    expect(r.body.message).toMatch(/repository marker is missing/);
    expect(await readFile(env.cfgFile, 'utf8')).toBe(before);
    expect((await env.api('GET', '/v1/settings')).body).toEqual(settings);
    expect(env.sidecar.config().retention.keepLast).toBe(settings.retention.keep_last);
  } finally {
    await rm(path.join(repo, 'objects', 'aa', 'planted'));
    await rename(path.join(repo, 'repository.json.away'), path.join(repo, 'repository.json'));
  }
  const r = await env.api('PUT', '/v1/settings', { body: { retention: { keep_last: 9 } } });
  expect(r.status).toBe(200);
  expect(JSON.parse(await readFile(env.cfgFile, 'utf8')).retention.keepLast).toBe(9);
  expect(env.sidecar.config().retention.keepLast).toBe(9);
  await env.api('PUT', '/v1/settings', { body: { retention: { keep_last: settings.retention.keep_last } } });
});

test('restore/prepare takes include (API 2) and still components (API 1), not both', async () => {
  const both = await env.api('POST', '/v1/restore/prepare', {
    body: { snapshot_id: 'latest', include: ['config'], components: ['config'] },
  });
  expect(both.status).toBe(400);
  expect(both.body.errors).toEqual([{ path: 'components', message: expect.stringMatching(/not both/) }]);
  const unknown = await env.api('POST', '/v1/restore/prepare', {
    body: { snapshot_id: 'latest', include: ['nonsense'] },
  });
  expect(unknown.status).toBe(400);
  expect(unknown.body.errors).toEqual([{ path: 'include.0', message: expect.stringMatching(/unknown component/) }]);
});
