import { expectAppError, seedBot, world, type World } from './helpers';

let w: World;
beforeEach(async () => {
  w = await world();
});
afterEach(async () => {
  expect(w.rest.violations).toEqual([]);
  await w.close();
});

test('POST /bots: 403 api.bot.create_disabled until EnableBotAccountCreation; non-admins 403', async () => {
  const body = { username: 'mm-backup', display_name: 'Backup', description: 'Backups' };
  expectAppError(await w.call('POST', '/api/v4/bots', { token: w.admin.token, body }), 403, 'api.bot.create_disabled');
  w.rest.state.config.ServiceSettings.EnableBotAccountCreation = true;
  expectAppError(
    await w.call('POST', '/api/v4/bots', { token: w.user.token, body }),
    403,
    'api.context.permissions.app_error',
  );
  const r = await w.call('POST', '/api/v4/bots', { token: w.admin.token, body });
  expect(r.status).toBe(201);
  expect(r.json).toMatchObject({ username: 'mm-backup', display_name: 'Backup', owner_id: w.admin.id, delete_at: 0 });
  expectAppError(
    await w.call('POST', '/api/v4/bots', { token: w.admin.token, body }),
    400,
    'app.user.save.username_exists.app_error',
  );
  expect((await w.call('GET', `/api/v4/bots/${r.json.user_id}`, { token: w.admin.token })).json.username).toBe(
    'mm-backup',
  );
  expectAppError(
    await w.call('GET', `/api/v4/bots/${r.json.user_id}`, { token: w.user.token }),
    404,
    'store.sql_bot.get.missing.app_error',
  );
  const u = await w.call('GET', `/api/v4/users/${r.json.user_id}`, { token: w.admin.token });
  expect(u.json).toMatchObject({ is_bot: true, roles: 'system_user' });
});

test('tokens: value only at creation; bot tokens work with EnableUserAccessTokens=false, personal ones do not', async () => {
  const bot = w.rest.state.addBot({ username: 'mm-backup', ownerId: w.admin.id }).user;
  const created = await w.call('POST', `/api/v4/users/${bot.id}/tokens`, {
    token: w.admin.token,
    body: { description: 'sidecar' },
  });
  expect(created.status).toBe(201);
  expect(created.json).toMatchObject({
    user_id: bot.id,
    description: 'sidecar',
    token: expect.stringMatching(/^[a-z0-9]{26}$/),
  });
  const list = await w.call('GET', `/api/v4/users/${bot.id}/tokens`, { token: w.admin.token });
  expect(list.json).toEqual([{ id: created.json.id, user_id: bot.id, description: 'sidecar', is_active: true }]);
  expect((await w.call('GET', '/api/v4/users/me', { token: created.json.token })).json.id).toBe(bot.id);
  expectAppError(
    await w.call('POST', `/api/v4/users/${w.user.id}/tokens`, { token: w.admin.token, body: { description: 'x' } }),
    501,
    'app.user_access_token.disabled',
  );
  expectAppError(
    await w.call('POST', `/api/v4/users/${bot.id}/tokens`, { token: w.user.token, body: { description: 'x' } }),
    403,
    'api.context.permissions.app_error',
  );
  // A personal token created while allowed stops working when the setting is switched off.
  w.rest.state.config.ServiceSettings.EnableUserAccessTokens = true;
  const pat = (
    await w.call('POST', `/api/v4/users/${w.user.id}/tokens`, { token: w.admin.token, body: { description: 'pat' } })
  ).json.token;
  expect((await w.call('GET', '/api/v4/users/me', { token: pat })).status).toBe(200);
  w.rest.state.revokeSession(pat);
  expectAppError(await w.call('GET', '/api/v4/users/me', { token: pat }), 401, 'api.context.session_expired.app_error');
});

describe('commands', () => {
  const cmd = (teamId: string, extra: Record<string, unknown> = {}) => ({
    team_id: teamId,
    trigger: 'Backup',
    url: 'http://127.0.0.1:9/slash',
    method: 'P',
    ...extra,
  });

  test('create (201, id and 26-char token, trigger lower-cased), get, list, update, regen, delete', async () => {
    const c = await w.call('POST', '/api/v4/commands', {
      token: w.admin.token,
      body: cmd(w.teamId, { auto_complete: true, auto_complete_desc: 'Back up', display_name: 'Backup' }),
    });
    expect(c.status).toBe(201);
    expect(c.json).toMatchObject({
      trigger: 'backup',
      method: 'P',
      creator_id: w.admin.id,
      auto_complete: true,
      display_name: 'Backup',
    });
    expect(c.json.id).toMatch(/^[a-z0-9]{26}$/);
    expect(c.json.token).toMatch(/^[a-z0-9]{26}$/);
    expect((await w.call('GET', `/api/v4/commands/${c.json.id}`, { token: w.admin.token })).json.url).toBe(
      'http://127.0.0.1:9/slash',
    );
    expect(
      (await w.call('GET', `/api/v4/commands?team_id=${w.teamId}&custom_only=true`, { token: w.admin.token })).json.map(
        (x: { id: string }) => x.id,
      ),
    ).toEqual([c.json.id]);
    const all = await w.call('GET', `/api/v4/commands?team_id=${w.teamId}`, { token: w.user.token });
    expect(all.json.map((x: { trigger: string }) => x.trigger)).toContain('backup');
    expect(all.json.find((x: { trigger: string }) => x.trigger === 'backup').token).toBe('');
    expectAppError(
      await w.call('GET', '/api/v4/commands?custom_only=true', { token: w.admin.token }),
      400,
      'api.context.invalid_body_param.app_error',
    );
    const up = await w.call('PUT', `/api/v4/commands/${c.json.id}`, {
      token: w.admin.token,
      body: { ...c.json, url: 'http://127.0.0.1:10/x', token: 'ignored' },
    });
    expect(up.json).toMatchObject({ url: 'http://127.0.0.1:10/x', token: c.json.token });
    expectAppError(
      await w.call('PUT', `/api/v4/commands/${c.json.id}`, { token: w.admin.token, body: { ...c.json, id: w.teamId } }),
      400,
      'api.context.invalid_body_param.app_error',
    );
    const regen = await w.call('PUT', `/api/v4/commands/${c.json.id}/regen_token`, { token: w.admin.token });
    expect(regen.json.token).not.toBe(c.json.token);
    expect(w.rest.state.commands(w.teamId)[0]!.token).toBe(regen.json.token);
    expect((await w.call('DELETE', `/api/v4/commands/${c.json.id}`, { token: w.admin.token })).json).toEqual({
      status: 'OK',
    });
    expectAppError(
      await w.call('GET', `/api/v4/commands/${c.json.id}`, { token: w.admin.token }),
      404,
      'store.sql_command.save.get.app_error',
    );
    expect(w.rest.state.commands(w.teamId)).toEqual([]);
  });

  test('refusals: bots and plain users 403, EnableCommands=false 501, invalid method / trigger / url 400, duplicates 400', async () => {
    const bot = seedBot(w);
    expectAppError(
      await w.call('POST', '/api/v4/commands', { token: bot.token, body: cmd(w.teamId) }),
      403,
      'api.context.permissions.app_error',
    );
    expectAppError(
      await w.call('POST', '/api/v4/commands', { token: w.user.token, body: cmd(w.teamId) }),
      403,
      'api.context.permissions.app_error',
    );
    expectAppError(
      await w.call('GET', `/api/v4/commands?team_id=${w.teamId}&custom_only=true`, { token: bot.token }),
      403,
      'api.context.permissions.app_error',
    );
    expectAppError(
      await w.call('POST', '/api/v4/commands', { token: w.admin.token, body: cmd(w.teamId, { method: 'POST' }) }),
      400,
      'model.command.is_valid.method.app_error',
    );
    expectAppError(
      await w.call('POST', '/api/v4/commands', { token: w.admin.token, body: cmd(w.teamId, { trigger: '/backup' }) }),
      400,
      'model.command.is_valid.trigger.app_error',
    );
    expectAppError(
      await w.call('POST', '/api/v4/commands', { token: w.admin.token, body: cmd(w.teamId, { trigger: 'two words' }) }),
      400,
      'model.command.is_valid.trigger.app_error',
    );
    expectAppError(
      await w.call('POST', '/api/v4/commands', { token: w.admin.token, body: cmd(w.teamId, { url: 'ftp://x/' }) }),
      400,
      'model.command.is_valid.url.app_error',
    );
    expectAppError(
      await w.call('POST', '/api/v4/commands', { token: w.admin.token, body: cmd(w.teamId, { trigger: 'away' }) }),
      400,
      'api.command.duplicate_trigger.app_error',
    );
    expect((await w.call('POST', '/api/v4/commands', { token: w.admin.token, body: cmd(w.teamId) })).status).toBe(201);
    expectAppError(
      await w.call('POST', '/api/v4/commands', { token: w.admin.token, body: cmd(w.teamId) }),
      400,
      'api.command.duplicate_trigger.app_error',
    );
    w.rest.state.config.ServiceSettings.EnableCommands = false;
    expectAppError(
      await w.call('POST', '/api/v4/commands', { token: w.admin.token, body: cmd(w.teamId, { trigger: 'other' }) }),
      501,
      'api.command.disabled.app_error',
    );
    expectAppError(
      await w.call('GET', `/api/v4/commands?team_id=${w.teamId}&custom_only=true`, { token: w.admin.token }),
      501,
      'api.command.disabled.app_error',
    );
  });

  test('POST /commands with a spec-missing required field is a violation; extra Command fields are not', async () => {
    const r = await w.call('POST', '/api/v4/commands', {
      token: w.admin.token,
      body: { team_id: w.teamId, trigger: 'x', method: 'P' },
    });
    expect(r.status).toBe(400);
    expect(w.rest.violations.map((v) => v.problem)).toEqual([expect.stringContaining('url')]);
    w.rest.violations.length = 0;
  });
});
