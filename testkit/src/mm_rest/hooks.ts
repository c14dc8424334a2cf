/**
 * POST /hooks/commands/{id}: the delayed-response URL handed to a slash command (web/webhook.go
 * commandWebhook + app.HandleCommandWebhook). No authentication; valid 30 minutes, 5 uses.
 */
import { err, type ApiResult } from './http_util';
import type { Ctx, Route } from './routes';
import { handleCommandResponse, parseCommandResponse } from './slash_exec';
import type { CommandResponse } from './types';

export const HOOK_TTL_MS = 30 * 60 * 1000;
export const HOOK_MAX_USES = 5;

function commandHook(ctx: Ctx): ApiResult {
  let response: CommandResponse;
  try {
    response = parseCommandResponse(ctx.req.headers['content-type'] ?? '', ctx.rawBody);
  } catch {
    throw err(400, 'web.command_webhook.parse.app_error');
  }
  const hook = ctx.store.hooks.get(ctx.params.id ?? '');
  if (!hook || hook.create_at <= Date.now() - HOOK_TTL_MS) {
    throw err(404, 'app.command_webhook.get.missing', { hook_id: ctx.params.id ?? '' });
  }
  const cmd = ctx.store.commandRows.get(hook.command_id);
  if (!cmd) throw err(400, 'web.command_webhook.command.app_error');
  if (hook.use_count >= HOOK_MAX_USES) throw err(400, 'app.command_webhook.try_use.invalid');
  hook.use_count += 1;
  handleCommandResponse(
    ctx.core,
    cmd,
    { userId: hook.user_id, channelId: hook.channel_id, rootId: hook.root_id },
    response,
  );
  return { status: 200, raw: 'ok', contentType: 'text/plain' };
}

export const hookRoutes: Route[] = [
  { method: 'POST', path: '/hooks/commands/{id}', session: false, handler: commandHook },
];
