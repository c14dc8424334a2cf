/**
 * Custom slash commands: list, create, get, update, delete, regen_token, and POST /commands/execute.
 */
import { newId } from '../ids';
import { canPost, canManageCommands, isAdmin, mustCaller, type Caller } from './auth';
import {
  err,
  invalidBodyParam,
  invalidUrlParam,
  isValidId,
  permissionError,
  queryBool,
  type ApiResult,
} from './http_util';
import type { Ctx, Route } from './routes';
import { commandResponseJson, executeCommand } from './slash_exec';
import type { MmCommandRecord } from './types';

/** Built-in triggers (commandProviders): a custom command may not reuse them. */
export const BUILT_IN_TRIGGERS = [
  'away',
  'code',
  'collapse',
  'dnd',
  'echo',
  'expand',
  'groupmsg',
  'header',
  'help',
  'invite',
  'invite_people',
  'join',
  'kick',
  'leave',
  'logout',
  'me',
  'msg',
  'mute',
  'offline',
  'online',
  'open',
  'purpose',
  'remove',
  'rename',
  'search',
  'settings',
  'shortcuts',
  'shrug',
  'status',
];

function requireEnabled(ctx: Ctx): void {
  if (!ctx.store.config.ServiceSettings.EnableCommands) throw err(501, 'api.command.disabled.app_error');
}

/** model.Command.IsValid, in its order. */
function validate(c: MmCommandRecord): void {
  if (!isValidId(c.team_id)) throw err(400, 'model.command.is_valid.team_id.app_error');
  if (c.trigger.length < 1 || c.trigger.length > 128 || c.trigger.startsWith('/') || /\s/.test(c.trigger)) {
    throw err(400, 'model.command.is_valid.trigger.app_error');
  }
  let urlOk = false;
  try {
    const u = new URL(c.url);
    urlOk = (u.protocol === 'http:' || u.protocol === 'https:') && c.url.length <= 1024;
  } catch {
    /* invalid */
  }
  if (!urlOk) throw err(400, 'model.command.is_valid.url.app_error');
  if (c.method !== 'P' && c.method !== 'G') throw err(400, 'model.command.is_valid.method.app_error');
  if (c.display_name.length > 64) throw err(400, 'model.command.is_valid.display_name.app_error');
  if (c.description.length > 128) throw err(400, 'model.command.is_valid.description.app_error');
}

function fromBody(b: Record<string, unknown>, base: Partial<MmCommandRecord>): MmCommandRecord {
  const str = (k: string) => (typeof b[k] === 'string' ? b[k] : '');
  return {
    id: '',
    token: '',
    create_at: 0,
    update_at: 0,
    delete_at: 0,
    creator_id: '',
    plugin_id: '',
    team_id: str('team_id'),
    trigger: str('trigger').toLowerCase(),
    method: str('method') as 'P' | 'G',
    username: str('username'),
    icon_url: str('icon_url'),
    auto_complete: b.auto_complete === true,
    auto_complete_desc: str('auto_complete_desc'),
    auto_complete_hint: str('auto_complete_hint'),
    display_name: str('display_name'),
    description: str('description'),
    url: str('url'),
    ...base,
  };
}

function checkTrigger(ctx: Ctx, c: MmCommandRecord): void {
  const taken = ctx.store.commands(c.team_id).some((x) => x.trigger === c.trigger && x.id !== c.id);
  if (taken || BUILT_IN_TRIGGERS.includes(c.trigger)) throw err(400, 'api.command.duplicate_trigger.app_error');
}

function listCommands(ctx: Ctx): ApiResult {
  const c = mustCaller(ctx.caller);
  const teamId = ctx.url.searchParams.get('team_id') ?? '';
  if (!isValidId(teamId)) throw invalidBodyParam('team_id');
  const manage = canManageCommands(c.user);
  if (queryBool(ctx.url, 'custom_only')) {
    if (!manage) throw permissionError();
    requireEnabled(ctx);
    return { status: 200, body: ctx.store.commands(teamId) };
  }
  const builtIns = BUILT_IN_TRIGGERS.map((t) => ({
    ...fromBody({ trigger: t, auto_complete: true }, {}),
    method: '' as 'P',
  }));
  const custom = ctx.store.config.ServiceSettings.EnableCommands
    ? ctx.store.commands(teamId).filter((x) => manage || x.auto_complete)
    : [];
  return { status: 200, body: [...builtIns, ...custom.map((x) => (manage ? x : { ...x, token: '' }))] };
}

function createCommand(ctx: Ctx): ApiResult {
  const c = mustCaller(ctx.caller);
  const b = ctx.body as Record<string, unknown>;
  const creator = typeof b.creator_id === 'string' && b.creator_id ? b.creator_id : c.user.id;
  if (!canManageCommands(c.user)) throw permissionError(); // manage_own_slash_commands (manage_others_ for creator_id)
  requireEnabled(ctx);
  const t = ctx.store.now();
  const cmd = fromBody(b, { id: newId(), token: newId(), create_at: t, update_at: t, creator_id: creator });
  validate(cmd);
  if (!ctx.store.teams.has(cmd.team_id)) throw err(404, 'app.team.get.find.app_error');
  checkTrigger(ctx, cmd);
  ctx.store.commandRows.set(cmd.id, cmd);
  return { status: 201, body: { ...cmd } };
}

/** A command the caller may manage; missing ones are 404 store.sql_command.save.get.app_error. */
function managedCommand(ctx: Ctx, c: Caller, hideAs404: boolean): MmCommandRecord {
  const id = ctx.params.command_id;
  if (!isValidId(id)) throw invalidUrlParam('command_id');
  const cmd = ctx.store.commandRows.get(id);
  if (!cmd || cmd.delete_at !== 0) throw err(404, 'store.sql_command.save.get.app_error');
  const allowed = isAdmin(c.user) || (canManageCommands(c.user) && cmd.creator_id === c.user.id);
  if (!allowed) throw hideAs404 ? err(404, 'store.sql_command.save.get.app_error') : permissionError();
  return cmd;
}

function getCommand(ctx: Ctx): ApiResult {
  const c = mustCaller(ctx.caller);
  if (!ctx.store.config.ServiceSettings.EnableCommands) throw err(404, 'store.sql_command.save.get.app_error');
  return { status: 200, body: { ...managedCommand(ctx, c, true) } };
}

function updateCommand(ctx: Ctx): ApiResult {
  const c = mustCaller(ctx.caller);
  const b = ctx.body as Record<string, unknown>;
  if (b.id !== ctx.params.command_id) throw invalidBodyParam('id');
  const old = managedCommand(ctx, c, false);
  if (typeof b.team_id === 'string' && b.team_id !== old.team_id) {
    throw err(400, 'api.command.team_mismatch.app_error', { CommandId: old.id });
  }
  requireEnabled(ctx);
  const next = fromBody(b, {
    id: old.id,
    token: old.token,
    create_at: old.create_at,
    update_at: ctx.store.now(),
    delete_at: old.delete_at,
    creator_id: old.creator_id,
    team_id: old.team_id,
    plugin_id: old.plugin_id,
  });
  validate(next);
  checkTrigger(ctx, next);
  ctx.store.commandRows.set(next.id, next);
  return { status: 200, body: { ...next } };
}

function deleteCommand(ctx: Ctx): ApiResult {
  const c = mustCaller(ctx.caller);
  const cmd = managedCommand(ctx, c, false);
  requireEnabled(ctx);
  cmd.delete_at = ctx.store.now();
  return { status: 200, body: { status: 'OK' } };
}

function regenToken(ctx: Ctx): ApiResult {
  const c = mustCaller(ctx.caller);
  const cmd = managedCommand(ctx, c, false);
  requireEnabled(ctx);
  cmd.token = newId();
  cmd.update_at = ctx.store.now();
  return { status: 200, body: { token: cmd.token } };
}

async function execute(ctx: Ctx): Promise<ApiResult> {
  const c = mustCaller(ctx.caller);
  const b = ctx.body as { channel_id: string; command: string; root_id?: string };
  if (b.command.length <= 1 || !b.command.startsWith('/') || !isValidId(b.channel_id)) {
    throw err(400, 'api.command.execute_command.start.app_error');
  }
  const ch = ctx.store.channels.get(b.channel_id);
  // use_slash_commands in the channel: members (and admins).
  if (!ch || !canPost(ctx.store, c.user, ch)) throw permissionError();
  const r = await executeCommand(ctx.core, {
    userId: c.user.id,
    channelId: ch.id,
    command: b.command,
    rootId: b.root_id,
    siteUrl: ctx.core.siteUrlFor(ctx.req),
  });
  return { status: 200, body: commandResponseJson(r) };
}

export const commandRoutes: Route[] = [
  { method: 'GET', path: '/api/v4/commands', session: true, handler: listCommands },
  { method: 'POST', path: '/api/v4/commands', session: true, handler: createCommand },
  { method: 'POST', path: '/api/v4/commands/execute', session: true, handler: execute },
  { method: 'GET', path: '/api/v4/commands/{command_id}', session: true, handler: getCommand },
  { method: 'PUT', path: '/api/v4/commands/{command_id}', session: true, handler: updateCommand },
  { method: 'DELETE', path: '/api/v4/commands/{command_id}', session: true, handler: deleteCommand },
  { method: 'PUT', path: '/api/v4/commands/{command_id}/regen_token', session: true, handler: regenToken },
];
