/** The sidecar's Mattermost client against the test kit's REST stand-in, which checks every request against the spec. */
import type { Command } from '@mattermost/types/integrations';
import { world, type World } from '@mm-backup/testkit/mm_rest';
import { MattermostApiError, MattermostClient } from '../../src/mattermost/client';

let w: World;
beforeEach(async () => {
  w = await world();
});
afterEach(async () => {
  await w.close();
});

const noViolations = () => expect(w.rest.violations).toEqual([]);

test('the sidecar client (src/mattermost/client.ts) works against the stand-in without violations', async () => {
  w.rest.state.config.ServiceSettings.EnableBotAccountCreation = true;
  const admin = new MattermostClient(w.url, { token: w.admin.token });
  const me = await admin.getMe();
  expect(me.roles).toContain('system_admin');
  const bot = await admin.createBot({ username: 'mm-backup', display_name: 'Backup', description: 'backups' });
  const tok = await admin.createUserAccessToken(bot.user_id, 'sidecar');
  expect(tok.token).toMatch(/^[a-z0-9]{26}$/);
  const team = await admin.getTeamByName('ops');
  await admin.addToTeam(team.id, bot.user_id);
  const ch = await admin.getChannelByNameAndTeamName('ops', 'backups');
  await admin.addToChannel(bot.user_id, ch.id);
  expect((await admin.getAllTeams()).map((t) => t.name)).toEqual(['ops']);
  expect((await admin.getBot(bot.user_id)).username).toBe('mm-backup');
  expect((await admin.getUserByUsername('mm-backup')).is_bot).toBe(true);
  expect((await admin.getUser(w.user.id)).username).toBe('alice');
  expect((await admin.getConfig()).ServiceSettings).toBeDefined();
  const cmd = await admin.addCommand({
    team_id: team.id,
    trigger: 'backup',
    url: 'http://127.0.0.1:9/slash',
    method: 'P',
    auto_complete: true,
    auto_complete_desc: 'Back up now',
  } as Command);
  expect(cmd.token).toMatch(/^[a-z0-9]{26}$/);
  expect((await admin.getCustomTeamCommands(team.id)).map((c) => c.trigger)).toEqual(['backup']);
  expect((await admin.getCommand(cmd.id)).trigger).toBe('backup');
  expect((await admin.editCommand({ ...cmd, url: 'http://127.0.0.1:10/slash' })).url).toBe('http://127.0.0.1:10/slash');
  const botClient = admin.withAuth({ token: tok.token ?? '' });
  const post = await botClient.createPostQuietly({ channel_id: ch.id, message: 'Backup started', props: { job: 1 } });
  const patched = await botClient.patchPost({ id: post.id, message: 'Backup finished', props: { job: 1, done: true } });
  expect(patched.props).toEqual({ job: 1, done: true });
  // Bots cannot read their own bot record (no read_bots) nor create commands.
  await expect(botClient.getBot(bot.user_id)).rejects.toMatchObject({
    status: 404,
    errorId: 'store.sql_bot.get.missing.app_error',
  });
  await expect(
    botClient.addCommand({ team_id: team.id, trigger: 'x', url: 'http://a.b/', method: 'P' } as Command),
  ).rejects.toBeInstanceOf(MattermostApiError);
  const cookieClient = new MattermostClient(w.url, { cookie: w.user.cookie });
  expect((await cookieClient.getMe()).id).toBe(w.user.id);
  noViolations();
});
