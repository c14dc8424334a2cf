/**
 * System routes: GET /config (admins; secrets masked), GET /config/client, GET /system/ping
 * (FACTS §f) and GET /system/schema/version (not in the API description).
 */
import { isAdmin, mustCaller, requireAdmin } from './auth';
import { clientConfig, goMapJson, maskedConfig } from './config';
import { err, queryBool, type ApiResult } from './http_util';
import type { Ctx, Route } from './routes';

function getConfig(ctx: Ctx): ApiResult {
  requireAdmin(mustCaller(ctx.caller));
  return { status: 200, body: maskedConfig(ctx.store.config) };
}

function getClientConfig(ctx: Ctx): ApiResult {
  const format = ctx.url.searchParams.get('format');
  const major = Number.parseInt(ctx.core.version, 10);
  // Before v11 format=old was mandatory; v11 made it optional but still rejects other values.
  if ((format === null && major < 11) || (format !== null && format !== 'old')) {
    throw err(501, 'api.config.client.old_format.app_error');
  }
  return {
    status: 200,
    raw: goMapJson(clientConfig(ctx.store.config, ctx.core.version, ctx.caller !== undefined)),
    contentType: 'application/json',
  };
}

/** api4/system.go getSystemPing. */
function ping(ctx: Ctx): ApiResult {
  const full = queryBool(ctx.url, 'get_server_status');
  const s: Record<string, string | boolean> = {
    status: 'OK',
    ActiveSearchBackend: 'database',
    AndroidLatestVersion: '',
    AndroidMinVersion: '',
    IosLatestVersion: '',
    IosMinVersion: '',
  };
  const headers: Record<string, string> = {};
  let healthy = true;
  if (full) {
    s.database_status = ctx.store.health.database;
    s.filestore_status = ctx.store.health.filestore;
    healthy = s.database_status === 'OK' && s.filestore_status === 'OK';
    if (ctx.caller && isAdmin(ctx.caller.user)) s.root_status = process.getuid?.() === 0;
  }
  s.status = healthy ? 'OK' : 'UNHEALTHY';
  if (full) {
    Object.assign(headers, {
      status: s.status,
      database_status: String(s.database_status),
      filestore_status: String(s.filestore_status),
    });
  }
  const status = healthy || queryBool(ctx.url, 'use_rest_semantics') ? 200 : 500;
  return { status, raw: goMapJson(s), contentType: 'application/json', headers };
}

/** Applied migrations, newest first (the real list is long; a few recent ones are enough). */
export const SCHEMA_MIGRATIONS = [
  { version: 148, name: 'add_content_flagging_tables' },
  { version: 147, name: 'add_property_field_attrs_index' },
  { version: 146, name: 'add_channel_banner_info' },
];

function schemaVersion(ctx: Ctx): ApiResult {
  requireAdmin(mustCaller(ctx.caller));
  return { status: 200, body: SCHEMA_MIGRATIONS };
}

export const systemRoutes: Route[] = [
  { method: 'GET', path: '/api/v4/config', session: true, handler: getConfig },
  { method: 'GET', path: '/api/v4/config/client', session: false, handler: getClientConfig },
  { method: 'GET', path: '/api/v4/system/ping', session: false, handler: ping },
  { method: 'GET', path: '/api/v4/system/schema/version', session: true, handler: schemaVersion },
];
