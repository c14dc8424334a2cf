import { expectAppError, seedBot, world, type World } from './helpers';

let w: World;
beforeEach(async () => {
  w = await world();
});
afterEach(async () => {
  await w.close();
});

const noViolations = () => expect(w.rest.violations).toEqual([]);

test('teams and channels by name and id; non-members of a private channel get 403', async () => {
  const teams = await w.call('GET', '/api/v4/teams?per_page=200', { token: w.user.token });
  expect(teams.json.map((t: { name: string }) => t.name)).toEqual(['ops']);
  expect(teams.json[0].email).toBe(''); // sanitized for non-admins
  expect((await w.call('GET', '/api/v4/teams/name/ops', { token: w.user.token })).json.id).toBe(w.teamId);
  expectAppError(
    await w.call('GET', '/api/v4/teams/name/nope', { token: w.user.token }),
    404,
    'app.team.get_by_name.missing.app_error',
  );
  const ch = await w.call('GET', '/api/v4/teams/name/ops/channels/name/town-square', { token: w.user.token });
  expect(ch.json).toMatchObject({ id: w.townId, team_id: w.teamId, type: 'O', display_name: 'Town Square' });
  expectAppError(
    await w.call('GET', '/api/v4/teams/name/ops/channels/name/backups', { token: w.user.token }),
    403,
    'api.context.permissions.app_error',
  );
  expectAppError(
    await w.call('GET', '/api/v4/teams/name/ops/channels/name/none', { token: w.user.token }),
    404,
    'app.channel.get_by_name.missing.app_error',
  );
  expect((await w.call('GET', `/api/v4/channels/${w.privateId}`, { token: w.admin.token })).json.name).toBe('backups');
  expectAppError(
    await w.call('GET', `/api/v4/channels/${w.privateId}`, { token: w.user.token }),
    403,
    'api.context.permissions.app_error',
  );
  noViolations();
});

test('a bot posts only where it is a member; the admin adds it to team and channel', async () => {
  const { user: bot } = w.rest.state.addBot({ username: 'backup-bot', ownerId: w.admin.id });
  const token = w.rest.state.createAccessToken(bot.id).token;
  const post = { channel_id: w.privateId, message: 'Backup started' };
  expectAppError(
    await w.call('POST', '/api/v4/posts?set_online=false', { token, body: post }),
    403,
    'api.context.permissions.app_error',
  );
  // add_user_to_team belongs to team members; an outsider cannot add anyone.
  w.rest.state.addUser({ username: 'outsider' });
  const outsider = w.rest.state.login('outsider').token;
  expectAppError(
    await w.call('POST', `/api/v4/teams/${w.teamId}/members`, {
      token: outsider,
      body: { team_id: w.teamId, user_id: bot.id },
    }),
    403,
    'api.context.permissions.app_error',
  );
  const tm = await w.call('POST', `/api/v4/teams/${w.teamId}/members`, {
    token: w.admin.token,
    body: { team_id: w.teamId, user_id: bot.id },
  });
  expect(tm.status).toBe(201);
  expect(tm.json).toMatchObject({ team_id: w.teamId, user_id: bot.id, roles: 'team_user' });
  const cm = await w.call('POST', `/api/v4/channels/${w.privateId}/members`, {
    token: w.admin.token,
    body: { user_id: bot.id },
  });
  expect(cm.status).toBe(201);
  expect(cm.json).toMatchObject({ channel_id: w.privateId, user_id: bot.id });
  const created = await w.call('POST', '/api/v4/posts?set_online=false', { token, body: post });
  expect(created.status).toBe(201);
  expect(created.json).toMatchObject({
    channel_id: w.privateId,
    user_id: bot.id,
    message: 'Backup started',
    root_id: '',
    edit_at: 0,
  });
  expect(created.json.id).toMatch(/^[a-z0-9]{26}$/);
  noViolations();
});

test('replies, patch (props object is allowed: relaxed spec), PUT replace and GET; history is kept', async () => {
  const bot = seedBot(w, 'backup-bot', w.townId);
  const root = (
    await w.call('POST', '/api/v4/posts', {
      token: bot.token,
      body: { channel_id: w.townId, message: 'Backup 1/3', props: { progress: 0 } },
    })
  ).json;
  const reply = await w.call('POST', '/api/v4/posts', {
    token: bot.token,
    body: { channel_id: w.townId, message: 'details', root_id: root.id },
  });
  expect(reply.json.root_id).toBe(root.id);
  expectAppError(
    await w.call('POST', '/api/v4/posts', {
      token: bot.token,
      body: { channel_id: w.townId, message: 'x', root_id: reply.json.id },
    }),
    400,
    'api.post.create_post.root_id.app_error',
  );
  const patched = await w.call('PUT', `/api/v4/posts/${root.id}/patch`, {
    token: bot.token,
    body: { message: 'Backup 2/3', props: { progress: 50 } },
  });
  expect(patched.status).toBe(200);
  expect(patched.json).toMatchObject({ message: 'Backup 2/3', props: { progress: 50 } });
  expect(patched.json.edit_at).toBeGreaterThan(0);
  const replaced = await w.call('PUT', `/api/v4/posts/${root.id}`, {
    token: bot.token,
    body: { id: root.id, message: 'Backup done' },
  });
  expect(replaced.json).toMatchObject({ message: 'Backup done', props: {} }); // omitted props are blanked
  expectAppError(
    await w.call('PUT', `/api/v4/posts/${root.id}`, { token: bot.token, body: { id: reply.json.id, message: 'x' } }),
    400,
    'api.context.invalid_body_param.app_error',
  );
  expect((await w.call('GET', `/api/v4/posts/${root.id}`, { token: w.user.token })).json.message).toBe('Backup done');
  // Someone else's post: edit_others_posts is for admins only.
  expectAppError(
    await w.call('PUT', `/api/v4/posts/${root.id}/patch`, { token: w.user.token, body: { message: 'hijack' } }),
    403,
    'api.context.permissions.app_error',
  );
  expect(
    (await w.call('PUT', `/api/v4/posts/${root.id}/patch`, { token: w.admin.token, body: { is_pinned: true } })).json
      .is_pinned,
  ).toBe(true);
  const seen = w.rest.state.posts(w.townId);
  expect(seen.map((p) => p.message)).toEqual(['Backup done', 'details']);
  expect(seen[0]!.history.map((h) => h.message)).toEqual(['Backup 1/3', 'Backup 2/3']);
  expect(seen[0]!.reply_count).toBe(1);
  noViolations();
});

test('PostEditTimeLimit applies to message changes', async () => {
  const bot = seedBot(w, 'backup-bot', w.townId);
  const p = (await w.call('POST', '/api/v4/posts', { token: bot.token, body: { channel_id: w.townId, message: 'a' } }))
    .json;
  w.rest.state.config.ServiceSettings.PostEditTimeLimit = 0;
  await new Promise((r) => setTimeout(r, 5));
  expectAppError(
    await w.call('PUT', `/api/v4/posts/${p.id}/patch`, { token: bot.token, body: { message: 'b' } }),
    400,
    'api.post.update_post.permissions_time_limit.app_error',
  );
  noViolations();
});

test('ephemeral posts: system admins only, shown to the target user, not stored in the channel', async () => {
  const body = { user_id: w.user.id, post: { channel_id: w.townId, message: 'only you' } };
  expectAppError(
    await w.call('POST', '/api/v4/posts/ephemeral', { token: w.user.token, body }),
    403,
    'api.context.permissions.app_error',
  );
  const r = await w.call('POST', '/api/v4/posts/ephemeral', { token: w.admin.token, body });
  expect(r.status).toBe(201);
  expect(r.json.type).toBe('system_ephemeral');
  expect(w.rest.state.ephemeral(w.user.id).map((p) => p.message)).toEqual(['only you']);
  expect(w.rest.state.posts(w.townId)).toEqual([]);
  noViolations();
});

test('requests that break the spec are recorded and answered 400; valid ones are not', async () => {
  const r = await w.call('POST', '/api/v4/posts', { token: w.user.token, body: { message: 'no channel' } });
  expect(r.status).toBe(400);
  expect(w.rest.violations).toHaveLength(1);
  expect(w.rest.violations[0]).toMatchObject({ method: 'POST', path: '/api/v4/posts' });
  expect(w.rest.violations[0]!.problem).toContain('channel_id');
  await w.call('POST', '/api/v4/posts?set_online=maybe', {
    token: w.user.token,
    body: { channel_id: w.townId, message: 'x' },
  });
  await w.call('GET', '/api/v4/teams?bogus=1', { token: w.user.token });
  await w.call('POST', '/api/v4/posts', {
    token: w.user.token,
    raw: '{"channel_id":"x","message":"y"}',
    headers: { 'Content-Type': 'text/plain' },
  });
  expect(w.rest.violations.map((v) => v.problem)).toEqual([
    expect.stringContaining('channel_id'),
    expect.stringContaining('set_online'),
    expect.stringContaining('bogus'),
    expect.stringContaining('Content-Type'),
  ]);
  expect(w.rest.state.posts(w.townId)).toEqual([]);
});
