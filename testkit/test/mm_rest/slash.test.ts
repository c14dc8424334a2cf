import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expectAppError, seedBot, world, type World } from './helpers';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A tiny integration: records each request and answers with `reply`. */
async function integration(reply: (s: Seen) => { status?: number; type?: string; body?: string; hang?: boolean }) {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      const s = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      seen.push(s);
      const r = reply(s);
      if (r.hang) return;
      res.writeHead(r.status ?? 200, { 'Content-Type': r.type ?? 'application/json' });
      res.end(r.body ?? '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    seen,
    url: `http://127.0.0.1:${port}/slash`,
    port,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

let w: World;
let reply: (s: Seen) => { status?: number; type?: string; body?: string; hang?: boolean };
let app: Awaited<ReturnType<typeof integration>>;
let command: { id: string; token: string };

beforeEach(async () => {
  w = await world({ slashTimeouts: { connectMs: 3000, totalMs: 1500 } });
  reply = () => ({ body: JSON.stringify({ response_type: 'ephemeral', text: 'Backup queued' }) });
  app = await integration((s) => reply(s));
  const r = await w.call('POST', '/api/v4/commands', {
    token: w.admin.token,
    body: { team_id: w.teamId, trigger: 'backup', url: app.url, method: 'P' },
  });
  command = r.json;
});
afterEach(async () => {
  expect(w.rest.violations).toEqual([]);
  await app.close();
  await w.close();
});

const run = (text = '/backup now --online') =>
  w.rest.executeSlashCommand({ userId: w.user.id, channelId: w.townId, text });
const allowLoopback = () => {
  w.rest.state.config.ServiceSettings.AllowedUntrustedInternalConnections = '127.0.0.1/32';
};

test('loopback URLs are refused until AllowedUntrustedInternalConnections lists them', async () => {
  const refused = await run();
  expect(refused.status).toBe(500);
  expect(refused.body).toMatchObject({
    id: 'api.command.execute_command.failed.app_error',
    message: "Command with a trigger of 'backup' failed.",
  });
  expect(app.seen).toHaveLength(0);
  w.rest.state.config.ServiceSettings.AllowedUntrustedInternalConnections = '10.0.0.0/8, localhost';
  expect((await run()).status).toBe(500); // 127.0.0.1 is neither in 10/8 nor named "localhost"
  w.rest.state.config.ServiceSettings.AllowedUntrustedInternalConnections = '10.0.0.0/8 127.0.0.1/32';
  expect((await run()).status).toBe(200);
  expect(app.seen).toHaveLength(1);
});

test('a host name listed in the setting is allowed without a CIDR', async () => {
  w.rest.state.config.ServiceSettings.AllowedUntrustedInternalConnections = 'localhost';
  await w.call('PUT', `/api/v4/commands/${command.id}`, {
    token: w.admin.token,
    body: { ...command, url: `http://localhost:${app.port}/slash` },
  });
  expect((await run()).status).toBe(200);
});

test('the request Mattermost sends: POST form, headers and fields', async () => {
  allowLoopback();
  const r = await run('/Backup now --online @alice ~town-square');
  expect(r.status).toBe(200);
  const s = app.seen[0]!;
  expect(s.method).toBe('POST');
  expect(s.url).toBe('/slash');
  expect(s.headers).toMatchObject({
    accept: 'application/json',
    authorization: `Token ${command.token}`,
    'user-agent': 'Mattermost-Bot/1.1',
    'content-type': 'application/x-www-form-urlencoded',
  });
  const f = new URLSearchParams(s.body);
  expect([...new Set(f.keys())]).toEqual([...new Set(f.keys())].sort()); // Go's url.Values.Encode sorts keys
  expect(Object.fromEntries(f)).toMatchObject({
    token: command.token,
    team_id: w.teamId,
    team_domain: 'ops',
    channel_id: w.townId,
    channel_name: 'town-square',
    user_id: w.user.id,
    user_name: 'alice',
    command: '/backup',
    text: 'now --online @alice ~town-square',
    root_id: '',
  });
  expect(f.getAll('user_mentions')).toEqual(['alice']);
  expect(f.getAll('channel_mentions_ids')).toEqual([w.townId]);
  expect(f.get('trigger_id')).toBeTruthy();
  expect(f.get('response_url')).toMatch(new RegExp(`^${w.url}/hooks/commands/[a-z0-9]{26}$`));
  expect(s.body).toContain('text=now+--online+%40alice+~town-square'); // Go's QueryEscape keeps ~
});

test('method G sends the fields as query parameters without a Content-Type', async () => {
  allowLoopback();
  await w.call('PUT', `/api/v4/commands/${command.id}`, {
    token: w.admin.token,
    body: { ...command, method: 'G', url: `${app.url}?x=1` },
  });
  await run();
  const s = app.seen[0]!;
  expect(s.method).toBe('GET');
  expect(s.headers['content-type']).toBeUndefined();
  const q = new URL(s.url, 'http://x').searchParams;
  expect([q.get('x'), q.get('command'), q.get('text')]).toEqual(['1', '/backup', 'now --online']);
});

test('ephemeral replies go to the user only; in_channel replies are posts by the invoking user; plain text is ephemeral', async () => {
  allowLoopback();
  const r = await run();
  expect(r.body).toMatchObject({ response_type: 'ephemeral', text: 'Backup queued' });
  expect(w.rest.state.ephemeral(w.user.id).map((p) => p.message)).toEqual(['Backup queued']);
  expect(w.rest.state.posts(w.townId)).toEqual([]);
  reply = () => ({
    body: JSON.stringify({
      response_type: 'in_channel',
      text: 'Backup started by @alice',
      props: { from_webhook: 'false', job: 7 },
    }),
  });
  await run();
  const posts = w.rest.state.posts(w.townId);
  expect(posts.map((p) => [p.user_id, p.message])).toEqual([[w.user.id, 'Backup started by @alice']]);
  expect(posts[0]!.props).toEqual({ job: 7 }); // reserved keys are dropped
  reply = () => ({ type: 'text/plain', body: 'plain answer' });
  await run();
  expect(w.rest.state.ephemeral(w.user.id).map((p) => p.message)).toEqual(['Backup queued', 'plain answer']);
  reply = () => ({ type: 'text/plain', body: '' });
  expect((await run()).status).toBe(200); // silent acknowledgement
  expect(w.rest.state.ephemeral(w.user.id)).toHaveLength(2);
});

test('a non-200 answer is an error shown to the user; so is a timeout and EnableCommands=false', async () => {
  allowLoopback();
  reply = () => ({ status: 503, body: 'busy' });
  const r = await run();
  expect(r).toMatchObject({
    status: 500,
    body: {
      id: 'api.command.execute_command.failed_resp.app_error',
      message: "Command with a trigger of 'backup' returned response 503 Service Unavailable.",
    },
  });
  reply = () => ({ hang: true });
  const t0 = Date.now();
  expect((await run()).body).toMatchObject({ id: 'api.command.execute_command.failed.app_error' });
  expect(Date.now() - t0).toBeLessThan(3000);
  w.rest.state.config.ServiceSettings.EnableCommands = false;
  expect(await run()).toMatchObject({ status: 501, body: { id: 'api.command.disabled.app_error' } });
  expect((await run('/nothing')).status).toBe(501);
  w.rest.state.config.ServiceSettings.EnableCommands = true;
  expect(await run('/nothing')).toMatchObject({
    status: 404,
    body: { id: 'api.command.execute_command.not_found.app_error' },
  });
});

test('response_url: works 5 times, the 6th is 400; unknown hooks are 404', async () => {
  allowLoopback();
  await run();
  const hook = new URLSearchParams(app.seen[0]!.body).get('response_url')!;
  for (let i = 1; i <= 5; i++) {
    const r = await fetch(hook, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ response_type: 'in_channel', text: `step ${i}` }),
    });
    expect([r.status, await r.text(), r.headers.get('content-type')]).toEqual([200, 'ok', 'text/plain']);
  }
  const sixth = await w.call('POST', new URL(hook).pathname, { body: { text: 'too many' } });
  expectAppError(sixth, 400, 'app.command_webhook.try_use.invalid');
  expect(w.rest.state.posts(w.townId).map((p) => p.message)).toEqual([
    'step 1',
    'step 2',
    'step 3',
    'step 4',
    'step 5',
  ]);
  expect(w.rest.state.posts(w.townId).every((p) => p.user_id === w.user.id)).toBe(true);
  expectAppError(
    await w.call('POST', '/hooks/commands/aaaaaaaaaaaaaaaaaaaaaaaaaa', {
      raw: 'late',
      headers: { 'Content-Type': 'text/plain' },
    }),
    404,
    'app.command_webhook.get.missing',
  );
  // Plain text to the hook is an ephemeral reply.
  await run();
  const hook2 = new URLSearchParams(app.seen[1]!.body).get('response_url')!;
  await fetch(hook2, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'Backup finished' });
  expect(w.rest.state.ephemeral(w.user.id).map((p) => p.message)).toContain('Backup finished');
});

test('POST /api/v4/commands/execute runs the command for the session user (channel members only)', async () => {
  allowLoopback();
  reply = () => ({ body: JSON.stringify({ response_type: 'in_channel', text: 'ok from sidecar' }) });
  const r = await w.call('POST', '/api/v4/commands/execute', {
    token: w.user.token,
    body: { channel_id: w.townId, command: '/backup status' },
  });
  expect(r.status).toBe(200);
  expect(r.json).toMatchObject({
    response_type: 'in_channel',
    text: 'ok from sidecar',
    trigger_id: expect.any(String),
  });
  expect(new URLSearchParams(app.seen[0]!.body).get('response_url')).toMatch(new RegExp(`^${w.url}/hooks/commands/`));
  expectAppError(
    await w.call('POST', '/api/v4/commands/execute', {
      token: w.user.token,
      body: { channel_id: w.privateId, command: '/backup' },
    }),
    403,
    'api.context.permissions.app_error',
  );
  expectAppError(
    await w.call('POST', '/api/v4/commands/execute', {
      token: w.user.token,
      body: { channel_id: w.townId, command: 'backup' },
    }),
    400,
    'api.command.execute_command.start.app_error',
  );
  const bot = seedBot(w, 'backup-bot', w.townId);
  expect(
    (
      await w.call('POST', '/api/v4/commands/execute', {
        token: bot.token,
        body: { channel_id: w.townId, command: '/backup' },
      })
    ).status,
  ).toBe(200);
});
