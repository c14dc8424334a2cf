/**
 * Who is calling (FACTS §e): token from the MMAUTHTOKEN cookie, then Authorization Bearer, then
 * Authorization Token; sessions and access tokens; the CSRF rule for cookie-authenticated writes;
 * and the default-role permission checks the routes need.
 */
import type { IncomingMessage } from 'node:http';
import { permissionError, parseCookies, sessionExpired } from './http_util';
import type { MmStore } from './state';
import type { MmChannelRecord, MmSession, MmTeamRecord, MmUserRecord } from './types';

export interface Caller {
  session: MmSession;
  user: MmUserRecord;
  via: 'cookie' | 'header';
}

/** app.ParseAuthTokenFromRequest: the first match wins (cookie before header). */
export function tokenFromRequest(req: IncomingMessage): { token: string; via: 'cookie' | 'header' } | undefined {
  const cookie = parseCookies(req.headers.cookie).MMAUTHTOKEN;
  if (cookie) return { token: cookie, via: 'cookie' };
  const auth = req.headers.authorization ?? '';
  const m = /^(bearer|token)\s+(.+)$/i.exec(auth.trim());
  if (m) return { token: m[2]!.trim(), via: 'header' };
  return undefined;
}

/** app.GetSession: a live session, or a session made from an active access token; undefined if invalid. */
export function sessionFor(store: MmStore, token: string): MmSession | undefined {
  let s = store.sessions.get(token);
  if (!s) {
    const pat = store.accessTokens.get(token);
    const user = pat ? store.users.get(pat.user_id) : undefined;
    if (!pat || !pat.is_active || !user || user.delete_at !== 0) return undefined;
    // Personal tokens need EnableUserAccessTokens; bot tokens are exempt (app/session.go).
    if (!store.config.ServiceSettings.EnableUserAccessTokens && !user.is_bot) return undefined;
    s = store.newSession(user.id, 'access_token', token);
  }
  if (s.expires_at !== 0 && s.expires_at < Date.now()) return undefined;
  const user = store.users.get(s.user_id);
  if (!user || user.delete_at !== 0) return undefined;
  return s;
}

/** Cookie that clears MMAUTHTOKEN (Context.RemoveSessionCookie). */
export const CLEAR_SESSION_COOKIE = 'MMAUTHTOKEN=; Path=/; Max-Age=0; HttpOnly';

function expired(clearCookie: boolean) {
  const e = sessionExpired();
  if (clearCookie) e.headers = { 'Set-Cookie': CLEAR_SESSION_COOKIE };
  return e;
}

/**
 * Resolves the caller for a route. Throws AppErr 401 (session_expired) when the route needs a
 * session and there is none / it is invalid / the CSRF check fails. Routes without a session
 * requirement get undefined for an unknown token.
 */
export function authenticate(store: MmStore, req: IncomingMessage, requireSession: boolean): Caller | undefined {
  const t = tokenFromRequest(req);
  if (!t) {
    if (requireSession) throw sessionExpired();
    return undefined;
  }
  const session = sessionFor(store, t.token);
  if (!session) {
    if (requireSession) throw expired(t.via === 'cookie');
    return undefined;
  }
  const user = store.users.get(session.user_id)!;
  if (requireSession && t.via === 'cookie' && req.method !== 'GET' && req.method !== 'HEAD') {
    const header = req.headers['x-csrf-token'];
    const ok =
      header === session.csrf ||
      (req.headers['x-requested-with'] === 'XMLHttpRequest' &&
        !store.config.ServiceSettings.ExperimentalStrictCSRFEnforcement);
    if (!ok) throw expired(true);
  }
  return { session, user, via: t.via };
}

export function isAdmin(u: MmUserRecord): boolean {
  return u.roles.split(' ').includes('system_admin');
}

/** A caller that a route marked as needing a session always has. */
export function mustCaller(c: Caller | undefined): Caller {
  if (!c) throw sessionExpired();
  return c;
}

export function requireAdmin(c: Caller): void {
  if (!isAdmin(c.user)) throw permissionError();
}

/** read_channel: members; public channels also for team members; admins always. */
export function canReadChannel(store: MmStore, u: MmUserRecord, ch: MmChannelRecord): boolean {
  return isAdmin(u) || store.isChannelMember(ch.id, u.id) || (ch.type === 'O' && store.isTeamMember(ch.team_id, u.id));
}

/** create_post: channel members (channel_user role); admins always. */
export function canPost(store: MmStore, u: MmUserRecord, ch: MmChannelRecord): boolean {
  return isAdmin(u) || store.isChannelMember(ch.id, u.id);
}

/** view_team: members; open teams for everyone; admins always. */
export function canViewTeam(store: MmStore, u: MmUserRecord, t: MmTeamRecord): boolean {
  return isAdmin(u) || store.isTeamMember(t.id, u.id) || (t.type === 'O' && t.allow_open_invite);
}

/** manage_own_slash_commands: team admins and system admins by default; never plain users or bots. */
export function canManageCommands(u: MmUserRecord): boolean {
  return isAdmin(u);
}
