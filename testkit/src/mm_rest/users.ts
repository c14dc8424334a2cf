/**
 * Users and login: GET /users/me, /users/{user_id}, /users/username/{username}, POST /users/login.
 */
import { isAdmin, mustCaller } from './auth';
import { err, invalidUrlParam, isValidId, type ApiResult } from './http_util';
import type { Ctx, Route } from './routes';
import type { MmUserRecord } from './types';

/** user.Sanitize / SanitizeProfile: others do not see notify props and password dates. */
export function userView(u: MmUserRecord, viewer?: MmUserRecord): Record<string, unknown> {
  const out: Record<string, unknown> = { ...structuredClone(u) };
  if (!u.is_bot) {
    delete out.is_bot;
    delete out.bot_description;
  }
  if (viewer && viewer.id !== u.id && !isAdmin(viewer)) {
    delete out.notify_props;
    delete out.last_password_update;
  }
  return out;
}

function getUser(ctx: Ctx): ApiResult {
  const c = mustCaller(ctx.caller);
  const id = ctx.params.user_id === 'me' || ctx.params.user_id === undefined ? c.user.id : ctx.params.user_id;
  if (!isValidId(id)) throw invalidUrlParam('user_id');
  const u = ctx.store.users.get(id);
  if (!u) throw err(404, 'app.user.missing_account.const');
  return { status: 200, body: userView(u, c.user) };
}

function getUserByUsername(ctx: Ctx): ApiResult {
  const c = mustCaller(ctx.caller);
  const u = ctx.store.userByName(ctx.params.username ?? '');
  if (!u) throw err(404, 'app.user.missing_account.const');
  return { status: 200, body: userView(u, c.user) };
}

/** POST /users/login: Token header always; cookies only for X-Requested-With: XMLHttpRequest. */
function login(ctx: Ctx): ApiResult {
  const b = (ctx.body ?? {}) as { login_id?: string; password?: string };
  const loginId = (b.login_id ?? '').toLowerCase();
  const u = [...ctx.store.users.values()].find((x) => x.username === loginId || x.email === loginId);
  if (!u || u.is_bot || u.delete_at !== 0 || ctx.store.passwords.get(u.id) !== b.password) {
    throw err(401, 'api.user.login.invalid_credentials_email_username');
  }
  const s = ctx.store.newSession(u.id, 'session');
  const headers: Record<string, string | string[]> = { Token: s.token };
  if (ctx.req.headers['x-requested-with'] === 'XMLHttpRequest') {
    const secure = ctx.req.headers['x-forwarded-proto'] === 'https' ? '; Secure' : '';
    const maxAge = Math.floor((s.expires_at - Date.now()) / 1000);
    const expires = new Date(s.expires_at).toUTCString();
    headers['Set-Cookie'] = [
      `MMAUTHTOKEN=${s.token}; Path=/; Expires=${expires}; Max-Age=${maxAge}; HttpOnly${secure}`,
      `MMUSERID=${u.id}; Path=/; Expires=${expires}; Max-Age=${maxAge}${secure}`,
      `MMCSRF=${s.csrf}; Path=/; Expires=${expires}; Max-Age=${maxAge}${secure}`,
    ];
  }
  return { status: 200, body: userView(u, u), headers };
}

export const userRoutes: Route[] = [
  { method: 'GET', path: '/api/v4/users/{user_id}', session: true, handler: getUser },
  { method: 'GET', path: '/api/v4/users/username/{username}', session: true, handler: getUserByUsername },
  { method: 'POST', path: '/api/v4/users/login', session: false, handler: login },
];
