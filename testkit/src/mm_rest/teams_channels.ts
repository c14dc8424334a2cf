/**
 * Teams and channels: listing and lookup by name or id, and adding members to both.
 */
import { canReadChannel, canViewTeam, isAdmin, mustCaller } from './auth';
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
import type { MmChannelRecord, MmTeamRecord, MmUserRecord } from './types';

/** team.Sanitize for callers without manage_system: no email, no invite id. */
function teamView(t: MmTeamRecord, viewer: MmUserRecord): MmTeamRecord {
  return isAdmin(viewer) ? { ...t } : { ...t, email: '', invite_id: '' };
}

function getTeams(ctx: Ctx): ApiResult {
  const c = mustCaller(ctx.caller);
  const page = Number(ctx.url.searchParams.get('page') ?? 0);
  const perPage = Math.min(Number(ctx.url.searchParams.get('per_page') ?? 60), 200);
  // Without manage_system the server lists only open (public) teams.
  const all = [...ctx.store.teams.values()].filter(
    (t) => t.delete_at === 0 && (isAdmin(c.user) || (t.type === 'O' && t.allow_open_invite)),
  );
  return { status: 200, body: all.slice(page * perPage, (page + 1) * perPage).map((t) => teamView(t, c.user)) };
}

function teamByName(ctx: Ctx, name: string): MmTeamRecord {
  const t = [...ctx.store.teams.values()].find((x) => x.name === name && x.delete_at === 0);
  if (!t) throw err(404, 'app.team.get_by_name.missing.app_error');
  return t;
}

function getTeamByName(ctx: Ctx): ApiResult {
  const c = mustCaller(ctx.caller);
  const t = teamByName(ctx, ctx.params.name ?? '');
  if (!canViewTeam(ctx.store, c.user, t)) throw permissionError();
  return { status: 200, body: teamView(t, c.user) };
}

function getChannelByNames(ctx: Ctx): ApiResult {
  const c = mustCaller(ctx.caller);
  const t = teamByName(ctx, ctx.params.team_name ?? '');
  const includeDeleted = queryBool(ctx.url, 'include_deleted');
  const ch = [...ctx.store.channels.values()].find(
    (x) => x.team_id === t.id && x.name === ctx.params.channel_name && (includeDeleted || x.delete_at === 0),
  );
  if (!ch) throw err(404, 'app.channel.get_by_name.missing.app_error');
  if (!canReadChannel(ctx.store, c.user, ch)) throw permissionError();
  return { status: 200, body: { ...ch } };
}

/** A channel the caller may read; a missing one is 403 for non-admins (the permission check comes first). */
export function readableChannel(ctx: Ctx, id: string | undefined): MmChannelRecord {
  const c = mustCaller(ctx.caller);
  if (!isValidId(id)) throw invalidUrlParam('channel_id');
  const ch = ctx.store.channels.get(id);
  if (!ch) throw isAdmin(c.user) ? err(404, 'app.channel.get.existing.app_error') : permissionError();
  if (!canReadChannel(ctx.store, c.user, ch)) throw permissionError();
  return ch;
}

function getChannel(ctx: Ctx): ApiResult {
  return { status: 200, body: { ...readableChannel(ctx, ctx.params.channel_id) } };
}

function addTeamMember(ctx: Ctx): ApiResult {
  const c = mustCaller(ctx.caller);
  const teamId = ctx.params.team_id ?? '';
  const b = (ctx.body ?? {}) as { team_id?: string; user_id?: string };
  if (!isValidId(teamId)) throw invalidUrlParam('team_id');
  if (b.team_id !== teamId) throw invalidBodyParam('team_id');
  if (!isValidId(b.user_id)) throw invalidBodyParam('user_id');
  const t = ctx.store.teams.get(teamId);
  if (!t) throw err(404, 'app.team.get.find.app_error');
  const self = b.user_id === c.user.id;
  // Joining an open team needs only join_public_teams; adding someone else needs add_user_to_team (team members have it).
  const allowed =
    isAdmin(c.user) || (self ? t.type === 'O' && t.allow_open_invite : ctx.store.isTeamMember(t.id, c.user.id));
  if (!allowed) throw permissionError();
  if (!ctx.store.users.get(b.user_id)) throw err(404, 'app.user.missing_account.const');
  ctx.store.addMember(t.id, b.user_id);
  return {
    status: 201,
    body: {
      team_id: t.id,
      user_id: b.user_id,
      roles: 'team_user',
      delete_at: 0,
      scheme_guest: false,
      scheme_user: true,
      scheme_admin: false,
      explicit_roles: '',
      msg_count: 0,
      mention_count: 0,
      msg_count_root: 0,
      mention_count_root: 0,
    },
  };
}

function addChannelMember(ctx: Ctx): ApiResult {
  const c = mustCaller(ctx.caller);
  const b = (ctx.body ?? {}) as { user_id?: string; user_ids?: string[] };
  const ids = b.user_ids ?? (b.user_id === undefined ? [] : [b.user_id]);
  if (ids.length === 0 || !ids.every(isValidId)) throw invalidBodyParam('user_id');
  const ch = readableChannel(ctx, ctx.params.channel_id);
  for (const uid of ids) {
    const self = uid === c.user.id;
    // join_public_channels for oneself; manage_{public,private}_channel_members (channel members) for others.
    const allowed =
      isAdmin(c.user) ||
      (self ? ch.type === 'O' && ctx.store.isTeamMember(ch.team_id, uid) : ctx.store.isChannelMember(ch.id, c.user.id));
    if (!allowed) throw permissionError();
    if (!ctx.store.users.get(uid)) throw err(404, 'app.user.missing_account.const');
    if (!ctx.store.isTeamMember(ch.team_id, uid)) throw err(404, 'app.team.get_member.missing.app_error');
  }
  for (const uid of ids) ctx.store.addMember(ch.id, uid);
  const now = Date.now();
  return {
    status: 201,
    body: {
      channel_id: ch.id,
      user_id: ids[ids.length - 1],
      roles: 'channel_user',
      last_viewed_at: 0,
      msg_count: 0,
      mention_count: 0,
      mention_count_root: 0,
      urgent_mention_count: 0,
      msg_count_root: 0,
      last_update_at: now,
      scheme_guest: false,
      scheme_user: true,
      scheme_admin: false,
      explicit_roles: '',
      notify_props: {
        desktop: 'default',
        email: 'default',
        ignore_channel_mentions: 'default',
        mark_unread: 'all',
        push: 'default',
      },
    },
  };
}

export const teamChannelRoutes: Route[] = [
  { method: 'GET', path: '/api/v4/teams', session: true, handler: getTeams },
  { method: 'GET', path: '/api/v4/teams/name/{name}', session: true, handler: getTeamByName },
  {
    method: 'GET',
    path: '/api/v4/teams/name/{team_name}/channels/name/{channel_name}',
    session: true,
    handler: getChannelByNames,
  },
  { method: 'GET', path: '/api/v4/channels/{channel_id}', session: true, handler: getChannel },
  { method: 'POST', path: '/api/v4/teams/{team_id}/members', session: true, handler: addTeamMember },
  { method: 'POST', path: '/api/v4/channels/{channel_id}/members', session: true, handler: addChannelMember },
];
