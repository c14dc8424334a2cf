/**
 * Wire helpers shared by the route groups: the handler result type, Mattermost's AppError body,
 * request body reading, cookie parsing and Go's url.Values encoding.
 */
import type { IncomingMessage } from 'node:http';

/** What a handler returns; `body` is sent as JSON unless `raw` is given. */
export interface ApiResult {
  status: number;
  body?: unknown;
  raw?: string;
  contentType?: string;
  headers?: Record<string, string | string[]>;
}

/** Thrown by handlers and helpers; turned into an AppError body. */
export class AppErr extends Error {
  /** Extra response headers (e.g. the cookie-clearing Set-Cookie of a failed session). */
  headers?: Record<string, string>;
  constructor(
    readonly status: number,
    readonly id: string,
    message: string,
    readonly detailed = '',
  ) {
    super(message);
  }
}

/** Messages of the i18n ids the stand-in uses (server/i18n/en.json). */
const MESSAGES: Record<string, string> = {
  'api.context.session_expired.app_error': 'Invalid or expired session, please login again.',
  'api.context.permissions.app_error': 'You do not have the appropriate permissions.',
  'api.context.invalid_body_param.app_error': 'Invalid or missing {{.Name}} in request body.',
  'api.context.invalid_url_param.app_error': 'Invalid or missing {{.Name}} parameter in request URL.',
  'api.context.invalid_param.app_error': 'Invalid {{.Name}} parameter.',
  'api.user.login.invalid_credentials_email_username': 'Enter a valid email or username and/or password.',
  'app.user.missing_account.const': 'Unable to find the user.',
  'app.team.get_by_name.missing.app_error': 'Unable to find the existing team.',
  'app.team.get.find.app_error': 'Unable to find the existing team.',
  'app.team.get_member.missing.app_error': 'No team member found for that user ID and team ID.',
  'app.channel.get_by_name.missing.app_error': 'Channel does not exist.',
  'app.channel.get.existing.app_error': 'Unable to find the existing channel.',
  'app.post.get.app_error': 'Unable to get post.',
  'api.post.create_post.root_id.app_error': 'Invalid RootId parameter.',
  'model.post.is_valid.message_length.app_error': 'Post Message property is longer than the maximum permitted length.',
  'api.post.update_post.permissions_time_limit.app_error':
    'Post edit is only allowed for {{.timeLimit}} seconds. Please ask your System Administrator for details.',
  'api.bot.create_disabled': 'Bot creation has been disabled.',
  'store.sql_bot.get.missing.app_error': 'Bot does not exist.',
  'app.user.save.username_exists.app_error': 'An account with that username already exists.',
  'model.user.is_valid.username.app_error':
    "Username must begin with a letter, and contain between 3 to 22 lowercase characters made up of numbers, letters, and the symbols '.', '-', and '_'.",
  'app.user_access_token.disabled':
    'Personal access tokens are disabled on this server. Please contact your system administrator for details.',
  'api.command.disabled.app_error': 'Commands have been disabled by the system admin.',
  'api.command.duplicate_trigger.app_error': 'This trigger word is already in use. Please choose another word.',
  'model.command.is_valid.method.app_error': 'Invalid method.',
  'model.command.is_valid.trigger.app_error': 'Invalid trigger.',
  'model.command.is_valid.url.app_error': 'Invalid URL.',
  'model.command.is_valid.team_id.app_error': 'Invalid team ID.',
  'model.command.is_valid.display_name.app_error': 'Invalid title.',
  'model.command.is_valid.description.app_error': 'Invalid description.',
  'model.command.is_valid.autocomplete_data.app_error': 'Invalid AutocompleteData',
  'store.sql_command.save.get.app_error': 'Unable to get the command.',
  'api.command.execute_command.start.app_error': 'No command trigger found.',
  'api.command.team_mismatch.app_error': 'Unable to update commands across teams.',
  'api.command.execute_command.format.app_error': 'Command trigger word is missing the leading slash character',
  'api.command.execute_command.not_found.app_error':
    'Command with a trigger of \'{{.Trigger}}\' not found. To send a message beginning with "/", try adding an empty space at the beginning of the message.',
  'api.command.execute_command.failed.app_error': "Command with a trigger of '{{.Trigger}}' failed.",
  'api.command.execute_command.failed_resp.app_error':
    "Command with a trigger of '{{.Trigger}}' returned response {{.Status}}.",
  'api.command.execute_command.failed_empty.app_error':
    "Command with a trigger of '{{.Trigger}}' returned an empty response.",
  'api.command.execute_command.create_post_failed.app_error':
    "Command '{{.Trigger}}' failed to post response. Please contact your System Administrator.",
  'api.command.command_post.forbidden.app_error': 'Specified user is not a member of specified channel.',
  'app.command_webhook.get.missing': 'Unable to find the webhook.',
  'app.command_webhook.try_use.invalid': 'Invalid use.',
  'web.command_webhook.parse.app_error': 'Unable to parse incoming data.',
  'web.command_webhook.command.app_error': "Couldn't find the command.",
  'api.config.client.old_format.app_error':
    'New format for the client configuration is not supported yet. Please specify format=old in the query string.',
  'api.context.500.app_error': 'An internal error occurred.',
  'api.context.404.app_error': 'Sorry, we could not find the page.',
  'api.context.server_busy.app_error': 'Server is busy, non-critical services are temporarily unavailable.',
};

/** Builds AppErr for an i18n id, filling {{.Name}}-style placeholders. */
export function err(status: number, id: string, params: Record<string, string | number> = {}, detailed = ''): AppErr {
  const template = MESSAGES[id] ?? id;
  return new AppErr(
    status,
    id,
    template.replace(/\{\{\.(\w+)\}\}/g, (_, k: string) => String(params[k] ?? '')),
    detailed,
  );
}

export const permissionError = (): AppErr => err(403, 'api.context.permissions.app_error');
export const sessionExpired = (): AppErr => err(401, 'api.context.session_expired.app_error');
export const invalidBodyParam = (name: string): AppErr =>
  err(400, 'api.context.invalid_body_param.app_error', { Name: name });
export const invalidUrlParam = (name: string): AppErr =>
  err(400, 'api.context.invalid_url_param.app_error', { Name: name });

/** The AppError JSON body (handlers.go handleContextError). */
export function appErrorBody(e: AppErr, requestId: string): ApiResult {
  return {
    status: e.status,
    headers: e.headers,
    body: { id: e.id, message: e.message, detailed_error: e.detailed, request_id: requestId, status_code: e.status },
  };
}

/** Reads the whole request body (at most `limit` bytes). */
export async function readBody(req: IncomingMessage, limit = 50 * 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    const b = c as Buffer;
    size += b.length;
    if (size > limit) throw err(413, 'api.context.invalid_body_param.app_error', { Name: 'body' });
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const k = part.slice(0, eq).trim();
    if (!(k in out)) out[k] = decodeURIComponent(part.slice(eq + 1).trim());
  }
  return out;
}

/** Go's url.QueryEscape: space as '+', only A-Za-z0-9 - _ . ~ left as they are. */
export function goQueryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** Go's url.Values.Encode: keys sorted, repeated keys kept in order. */
export function goFormEncode(values: Array<[string, string]>): string {
  const keys = [...new Set(values.map(([k]) => k))].sort();
  return keys
    .flatMap((k) => values.filter(([kk]) => kk === k).map(([, v]) => `${goQueryEscape(k)}=${goQueryEscape(v)}`))
    .join('&');
}

/** Go's strconv.ParseBool truth values, used for boolean query parameters. */
export function queryBool(url: URL, name: string): boolean {
  return ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(url.searchParams.get(name) ?? '');
}

export function isValidId(id: unknown): id is string {
  return typeof id === 'string' && /^[a-z0-9]{26}$/.test(id);
}
