/**
 * POST /v1/connect trusts only what Mattermost confirms: the bot token must belong to a bot,
 * and each command token must be the /backup command Mattermost holds for that team (checked
 * with the calling admin's own session). Nothing is stored when either check fails.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setupService, type ServiceEnv } from '../support/service_env';

let env: ServiceEnv;
let stateFile: string;
beforeAll(async () => {
  env = await setupService();
  stateFile = path.join(JSON.parse(await readFile(env.cfgFile, 'utf8')).repository.path, 'sidecar-state.json');
}, 120_000);
afterAll(async () => {
  await env?.cleanup();
});
afterEach(() => {
  expect(env.rest.violations).toEqual([]);
});

const state = () => readFile(stateFile, 'utf8').catch(() => 'absent');
const slash = (text: string) => env.rest.executeSlashCommand({ userId: env.admin.id, channelId: env.channel.id, text });
const lastEphemeral = () => env.rest.state.ephemeral(env.admin.id).at(-1)?.message ?? '';

/** A /backup command as the System Console page registers it, with the admin's session. */
async function registerBackupCommand(): Promise<{ id: string; token: string }> {
  const res = await fetch(`${env.mmUrl}/api/v4/commands`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${env.admin.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      team_id: env.team.id,
      trigger: 'backup',
      method: 'P',
      url: `${env.sidecarUrl}/v1/slash`,
      auto_complete: true,
    }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; token: string };
}

test("a person's token is refused as the bot token, even an admin's", async () => {
  env.rest.state.addUser({ username: 'notabot', roles: 'system_user system_admin' });
  const token = env.rest.state.login('notabot').token;
  const before = await state();
  const r = await env.api('POST', '/v1/connect', { body: { bot_token: token } });
  expect(r.status).toBe(412);
  expect(r.body.message).toMatch(/@notabot, which is not a bot account/);
  expect(JSON.stringify(r.body)).not.toContain(token);
  expect(await state()).toBe(before);
});

test('made-up or mismatched command tokens are refused and stored nowhere; the real one works', async () => {
  const bot = env.rest.state.addBot({ username: 'mm-backup' });
  const botToken = env.rest.state.createAccessToken(bot.user.id).token;
  const cmd = await registerBackupCommand();
  const before = await state();
  const forged = [
    { team_id: env.team.id, team_name: env.team.name, command_id: 'b'.repeat(26), token: 'c'.repeat(26) }, // no such command
    { team_id: env.team.id, team_name: env.team.name, command_id: cmd.id, token: 'c'.repeat(26) }, // real command, wrong token
    { team_id: 'd'.repeat(26), team_name: env.team.name, command_id: cmd.id, token: cmd.token }, // real command, other team
  ];
  for (const c of forged) {
    const r = await env.api('POST', '/v1/connect', { body: { bot_token: botToken, command_tokens: [c] } });
    expect(r.status).toBe(412);
    expect(r.body.message).toMatch(/not that team's \/backup command/);
    expect(JSON.stringify(r.body)).not.toContain(c.token);
    expect(await state()).toBe(before);
  }
  // The forged token does not run anything.
  const direct = await fetch(`${env.sidecarUrl}/v1/slash`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Token ${'c'.repeat(26)}` },
    body: new URLSearchParams({
      token: 'c'.repeat(26),
      team_id: env.team.id,
      user_id: env.admin.id,
      channel_id: env.channel.id,
      command: '/backup',
      text: 'now',
    }).toString(),
  });
  expect(((await direct.json()) as { text: string }).text).toMatch(/not registered/);
  expect(env.sidecar.jobs.current).toBeUndefined();

  const ok = await env.api('POST', '/v1/connect', {
    cookie: true,
    body: {
      bot_token: botToken,
      command_tokens: [{ team_id: env.team.id, team_name: env.team.name, command_id: cmd.id, token: cmd.token }],
    },
  });
  expect(ok.status).toBe(200);
  expect(ok.body.commands).toEqual([{ team: env.team.name, status: 'updated' }]);
  expect(JSON.stringify(ok.body)).not.toContain(cmd.token);
  await slash('/backup help');
  expect(lastEphemeral()).not.toMatch(/not registered/);
  expect(lastEphemeral()).toMatch(/\/backup now/);
});
