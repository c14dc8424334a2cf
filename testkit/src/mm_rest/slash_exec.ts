/**
 * Running a custom slash command the way app.ExecuteCommand does: trigger lookup in the channel's
 * team, the form Mattermost posts, a response_url hook, the integration's reply parsed as a
 * CommandResponse, and the reply turned into what the user sees (ephemeral or in_channel post).
 */
import { randomBytes } from 'node:crypto';
import { newId } from '../ids';
import { err, goFormEncode } from './http_util';
import { sendEphemeral } from './posts';
import type { Core } from './routes';
import { sendCommandRequest } from './slash_sender';
import type { CommandResponse, MmCommandRecord } from './types';

export interface CommandArgs {
  userId: string;
  channelId: string;
  /** The full command line, e.g. "/backup now --online". */
  command: string;
  rootId?: string;
  /** Base for response_url (the invoking request's scheme + Host). */
  siteUrl: string;
}

/** model.CommandResponseFromHTTPBody: JSON when Content-Type is application/json, else the text. */
export function parseCommandResponse(contentType: string, body: string): CommandResponse {
  if (contentType.split(';')[0]!.trim().toLowerCase() === 'application/json') {
    const parsed = JSON.parse(body) as unknown;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new Error('command response is not a JSON object');
    }
    return parsed;
  }
  return { text: body };
}

/** The JSON the server writes back for a CommandResponse (every field, Go zero values). */
export function commandResponseJson(r: CommandResponse): Required<CommandResponse> {
  return {
    response_type: r.response_type ?? '',
    text: r.text ?? '',
    username: r.username ?? '',
    channel_id: r.channel_id ?? '',
    icon_url: r.icon_url ?? '',
    type: r.type ?? '',
    props: r.props ?? {},
    goto_location: r.goto_location ?? '',
    trigger_id: r.trigger_id ?? '',
    skip_slack_parsing: r.skip_slack_parsing ?? false,
    attachments: r.attachments ?? [],
    extra_responses: (r.extra_responses ?? []).map(commandResponseJson),
  };
}

/** Props keys an integration may not set (they are the server's own markers). */
const RESERVED_PROPS = [
  'from_webhook',
  'override_username',
  'override_icon_url',
  'attachments',
  'from_bot',
  'from_plugin',
];

function postResponse(
  core: Core,
  cmd: MmCommandRecord,
  args: { userId: string; channelId: string; rootId: string },
  r: CommandResponse,
): void {
  const s = core.store;
  const props: Record<string, unknown> = Object.fromEntries(
    Object.entries(r.props ?? {}).filter(([k]) => !(RESERVED_PROPS as readonly string[]).includes(k)),
  );
  let channelId = args.channelId;
  if (r.channel_id) {
    if (!s.isChannelMember(r.channel_id, args.userId)) throw err(403, 'api.command.command_post.forbidden.app_error');
    channelId = r.channel_id;
  }
  let override = false;
  const cfg = s.config.ServiceSettings;
  if (cfg.EnablePostUsernameOverride && (cmd.username || r.username)) {
    props.override_username = cmd.username || r.username;
    override = true;
  }
  if (cfg.EnablePostIconOverride) {
    props.override_icon_url = cmd.icon_url || r.icon_url || '';
    if (cmd.icon_url || r.icon_url) override = true;
  }
  if (override) props.from_webhook = 'true';
  const type = r.type ?? '';
  if (type !== '' && !type.startsWith('custom_')) {
    throw err(400, 'api.context.invalid_param.app_error', { Name: 'post.type' });
  }
  if (r.attachments) props.attachments = r.attachments;
  const message = r.text ?? '';
  if (r.response_type === 'in_channel') {
    s.insertPost({ user_id: args.userId, channel_id: channelId, root_id: args.rootId, message, type, props });
  } else if ((r.response_type ?? '') === '' || r.response_type === 'ephemeral') {
    if (message !== '' || r.attachments) {
      sendEphemeral(s, args.userId, {
        user_id: args.userId,
        channel_id: channelId,
        root_id: args.rootId,
        message,
        props,
      });
    }
  }
}

/** app.HandleCommandResponse: the main reply and each extra response; any failure → 500 create_post_failed. */
export function handleCommandResponse(
  core: Core,
  cmd: MmCommandRecord,
  args: { userId: string; channelId: string; rootId: string },
  r: CommandResponse,
): void {
  let failed = false;
  for (const one of [r, ...(r.extra_responses ?? [])]) {
    try {
      postResponse(core, cmd, args, one);
    } catch {
      failed = true;
    }
  }
  if (failed) throw err(500, 'api.command.execute_command.create_post_failed.app_error', { Trigger: cmd.trigger });
}

function mentionFields(core: Core, teamId: string, text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const m of text.matchAll(/\B@([A-Za-z0-9][A-Za-z0-9.\-_:]*)/g)) {
    const u = core.store.userByName(m[1]!.replace(/[.\-_:]+$/, ''));
    if (u && core.store.isTeamMember(teamId, u.id)) {
      out.push(['user_mentions', u.username], ['user_mentions_ids', u.id]);
    }
  }
  for (const m of text.matchAll(/\B~([a-z0-9.\-_]+)/g)) {
    const ch = [...core.store.channels.values()].find((c) => c.team_id === teamId && c.name === m[1] && c.type === 'O');
    if (ch) out.push(['channel_mentions', ch.name], ['channel_mentions_ids', ch.id]);
  }
  return out;
}

/** app.ExecuteCommand for custom commands; returns the CommandResponse or throws AppErr. */
export async function executeCommand(core: Core, args: CommandArgs): Promise<CommandResponse> {
  const s = core.store;
  const ws = /\s/.exec(args.command);
  let trigger = (ws ? args.command.slice(0, ws.index) : args.command).toLowerCase();
  const message = ws ? args.command.slice(ws.index + 1) : '';
  if (!trigger.startsWith('/')) throw err(400, 'api.command.execute_command.format.app_error', { Trigger: trigger });
  trigger = trigger.slice(1);
  if (!s.config.ServiceSettings.EnableCommands) throw err(501, 'api.command.disabled.app_error');
  const channel = s.channels.get(args.channelId);
  if (!channel) throw err(404, 'app.channel.get.existing.app_error');
  const team = s.teams.get(channel.team_id);
  const user = s.users.get(args.userId);
  if (!team) throw err(404, 'app.team.get.find.app_error');
  if (!user) throw err(404, 'app.user.missing_account.const');
  const cmd = s.commands(team.id).find((c) => c.trigger === trigger);
  if (!cmd) throw err(404, 'api.command.execute_command.not_found.app_error', { Trigger: trigger });
  const triggerId = randomBytes(48).toString('base64');
  const hook = {
    id: newId(),
    command_id: cmd.id,
    user_id: user.id,
    channel_id: channel.id,
    root_id: args.rootId ?? '',
    create_at: Date.now(),
    use_count: 0,
  };
  s.hooks.set(hook.id, hook);
  const fields: Array<[string, string]> = [
    ['token', cmd.token],
    ['team_id', cmd.team_id],
    ['team_domain', team.name],
    ['channel_id', channel.id],
    ['channel_name', channel.name],
    ['user_id', user.id],
    ['user_name', user.username],
    ['command', `/${trigger}`],
    ['text', message],
    ['trigger_id', triggerId],
    ['root_id', args.rootId ?? ''],
    ...mentionFields(core, team.id, message),
    ['response_url', `${args.siteUrl}/hooks/commands/${hook.id}`],
  ];
  const limitMs = Math.min(
    core.slashTimeouts.totalMs,
    s.config.ServiceSettings.OutgoingIntegrationRequestsTimeout * 1000,
  );
  let reply;
  try {
    reply = await sendCommandRequest({
      url: cmd.url,
      method: cmd.method,
      token: cmd.token,
      form: goFormEncode(fields),
      allowedUntrusted: s.config.ServiceSettings.AllowedUntrustedInternalConnections,
      connectMs: core.slashTimeouts.connectMs,
      totalMs: limitMs,
    });
  } catch (e) {
    throw err(
      500,
      'api.command.execute_command.failed.app_error',
      { Trigger: trigger },
      s.config.ServiceSettings.EnableDeveloper ? (e as Error).message : '',
    );
  }
  if (reply.status !== 200) {
    throw err(
      500,
      'api.command.execute_command.failed_resp.app_error',
      { Trigger: trigger, Status: reply.statusLine },
      s.config.ServiceSettings.EnableDeveloper ? reply.body : '',
    );
  }
  let response: CommandResponse;
  try {
    response = parseCommandResponse(reply.contentType, reply.body);
  } catch {
    throw err(500, 'api.command.execute_command.failed.app_error', { Trigger: trigger });
  }
  handleCommandResponse(core, cmd, { userId: user.id, channelId: channel.id, rootId: args.rootId ?? '' }, response);
  return { ...response, trigger_id: triggerId };
}
