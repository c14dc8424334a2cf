/**
 * Bots and access tokens: POST /bots, GET /bots/{bot_user_id}, POST/GET /users/{user_id}/tokens.
 */
import { isAdmin, mustCaller } from './auth';
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

/** model.IsValidUsername: 3-22 of a-z 0-9 . - _, starting with a letter. */
const USERNAME = /^[a-z][a-z0-9.\-_]{2,21}$/;

function createBot(ctx: Ctx): ApiResult {
  const c = mustCaller(ctx.caller);
  const b = ctx.body as { username: string; display_name?: string; description?: string };
  // Order as in api4/bot.go: create_bot permission, caller not a bot, then the setting.
  if (!isAdmin(c.user) || c.user.is_bot) throw permissionError();
  if (!ctx.store.config.ServiceSettings.EnableBotAccountCreation) throw err(403, 'api.bot.create_disabled');
  const username = (b.username ?? '').toLowerCase();
  if (!USERNAME.test(username)) throw err(400, 'model.user.is_valid.username.app_error');
  if (ctx.store.userByName(username)) throw err(400, 'app.user.save.username_exists.app_error');
  const { bot } = ctx.store.addBot({
    username,
    display_name: b.display_name,
    description: b.description,
    ownerId: c.user.id,
  });
  return { status: 201, body: { ...bot } };
}

/** Without read_others_bots (admins) the bot is reported missing rather than forbidden (api4/bot.go getBot). */
function getBot(ctx: Ctx): ApiResult {
  const c = mustCaller(ctx.caller);
  const id = ctx.params.bot_user_id;
  if (!isValidId(id)) throw invalidUrlParam('bot_user_id');
  const bot = ctx.store.bots.get(id);
  const visible = bot && (queryBool(ctx.url, 'include_deleted') || bot.delete_at === 0);
  if (!visible || !isAdmin(c.user)) throw err(404, 'store.sql_bot.get.missing.app_error');
  return { status: 200, body: { ...bot } };
}

function createToken(ctx: Ctx): ApiResult {
  const c = mustCaller(ctx.caller);
  const b = ctx.body as { description: string };
  if (!b.description) throw invalidBodyParam('description');
  // create_user_access_token + edit_other_users / manage bots: system admins by default.
  if (!isAdmin(c.user)) throw permissionError();
  const uid = ctx.params.user_id === 'me' ? c.user.id : ctx.params.user_id;
  if (!isValidId(uid)) throw invalidUrlParam('user_id');
  const target = ctx.store.users.get(uid);
  if (!target) throw err(404, 'app.user.missing_account.const');
  if (!ctx.store.config.ServiceSettings.EnableUserAccessTokens && !target.is_bot) {
    throw err(501, 'app.user_access_token.disabled');
  }
  const row = ctx.store.createAccessToken(target.id, b.description);
  return {
    status: 201,
    body: {
      id: row.id,
      token: row.token,
      user_id: row.user_id,
      description: row.description,
      is_active: row.is_active,
    },
  };
}

function listTokens(ctx: Ctx): ApiResult {
  const c = mustCaller(ctx.caller);
  if (!isAdmin(c.user)) throw permissionError(); // read_user_access_token
  const uid = ctx.params.user_id === 'me' ? c.user.id : ctx.params.user_id;
  if (!isValidId(uid)) throw invalidUrlParam('user_id');
  const page = Number(ctx.url.searchParams.get('page') ?? 0);
  const perPage = Number(ctx.url.searchParams.get('per_page') ?? 60);
  const rows = [...ctx.store.accessTokens.values()].filter((t) => t.user_id === uid);
  return {
    status: 200,
    body: rows
      .slice(page * perPage, (page + 1) * perPage)
      .map((t) => ({ id: t.id, user_id: t.user_id, description: t.description, is_active: t.is_active })),
  };
}

export const botTokenRoutes: Route[] = [
  { method: 'POST', path: '/api/v4/bots', session: true, handler: createBot },
  { method: 'GET', path: '/api/v4/bots/{bot_user_id}', session: true, handler: getBot },
  { method: 'POST', path: '/api/v4/users/{user_id}/tokens', session: true, handler: createToken },
  { method: 'GET', path: '/api/v4/users/{user_id}/tokens', session: true, handler: listTokens },
];
