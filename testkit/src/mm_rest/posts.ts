/**
 * Posts: create (POST /posts), patch, replace, get, and ephemeral posts.
 */
import { newId } from '../ids';
import { canPost, canReadChannel, isAdmin, mustCaller, type Caller } from './auth';
import { err, invalidBodyParam, invalidUrlParam, isValidId, permissionError, type ApiResult } from './http_util';
import type { Ctx, Route } from './routes';
import type { MmStore } from './state';
import type { MmPostRecord } from './types';

/** model.PostMessageMaxRunesV2. */
export const POST_MESSAGE_MAX_RUNES = 16383;

function checkMessage(message: string): void {
  if (Array.from(message).length > POST_MESSAGE_MAX_RUNES) {
    throw err(400, 'model.post.is_valid.message_length.app_error');
  }
}

function postView(p: MmPostRecord): MmPostRecord {
  return structuredClone(p);
}

function createPost(ctx: Ctx): ApiResult {
  const c = mustCaller(ctx.caller);
  const b = ctx.body as {
    channel_id: string;
    message: string;
    root_id?: string;
    file_ids?: string[];
    props?: Record<string, unknown>;
    metadata?: { priority?: unknown };
  };
  if (!isValidId(b.channel_id)) throw invalidBodyParam('channel_id');
  const ch = ctx.store.channels.get(b.channel_id);
  if (!ch || ch.delete_at !== 0) {
    throw isAdmin(c.user) ? err(404, 'app.channel.get.existing.app_error') : permissionError();
  }
  if (!canPost(ctx.store, c.user, ch)) throw permissionError();
  checkMessage(b.message);
  const rootId = b.root_id ?? '';
  if (rootId) {
    const root = ctx.store.post(rootId);
    if (!root || root.channel_id !== ch.id || root.root_id !== '') {
      throw err(400, 'api.post.create_post.root_id.app_error');
    }
  }
  const metadata: Record<string, unknown> = {};
  if (b.metadata?.priority) metadata.priority = b.metadata.priority;
  const row = ctx.store.insertPost({
    user_id: c.user.id,
    channel_id: ch.id,
    message: b.message,
    root_id: rootId,
    props: b.props ?? {},
    file_ids: b.file_ids,
    metadata,
  });
  return { status: 201, body: postView(row) };
}

/** The post to edit, as updatePost/patchPost find it: a missing post is a permission error there. */
function editablePost(ctx: Ctx, c: Caller, message: string | undefined): MmPostRecord {
  const id = ctx.params.post_id;
  if (!isValidId(id)) throw invalidUrlParam('post_id');
  const p = ctx.store.post(id);
  if (!p) throw permissionError();
  const ch = ctx.store.channels.get(p.channel_id);
  const own = p.user_id === c.user.id;
  // edit_post (own, channel member) or edit_others_posts (admins).
  if (!ch || !(isAdmin(c.user) || (own && canPost(ctx.store, c.user, ch)))) throw permissionError();
  checkTimeLimit(ctx.store, p, message);
  return p;
}

function checkTimeLimit(store: MmStore, p: MmPostRecord, message: string | undefined): void {
  const limit = store.config.ServiceSettings.PostEditTimeLimit;
  if (limit !== -1 && message !== undefined && message !== p.message && store.now() > p.create_at + limit * 1000) {
    throw err(400, 'api.post.update_post.permissions_time_limit.app_error', { timeLimit: limit });
  }
}

function patchPost(ctx: Ctx): ApiResult {
  const c = mustCaller(ctx.caller);
  const b = ctx.body as {
    message?: string;
    props?: Record<string, unknown>;
    file_ids?: string[];
    is_pinned?: boolean;
    has_reactions?: boolean;
  };
  const p = editablePost(ctx, c, b.message);
  if (b.message !== undefined) checkMessage(b.message);
  ctx.store.editPost(p, {
    message: b.message,
    props: b.props,
    file_ids: b.file_ids,
    is_pinned: b.is_pinned,
    has_reactions: b.has_reactions,
  });
  return { status: 200, body: postView(p) };
}

/** PUT /posts/{id}: omitted fields are blanked, file ids kept. */
function updatePost(ctx: Ctx): ApiResult {
  const c = mustCaller(ctx.caller);
  const b = ctx.body as {
    id: string;
    message?: string;
    props?: Record<string, unknown>;
    is_pinned?: boolean;
    has_reactions?: boolean;
  };
  if (b.id !== ctx.params.post_id) throw invalidBodyParam('id');
  const message = b.message ?? '';
  const p = editablePost(ctx, c, message);
  checkMessage(message);
  ctx.store.editPost(p, {
    message,
    props: b.props ?? {},
    is_pinned: b.is_pinned ?? false,
    has_reactions: b.has_reactions ?? false,
  });
  return { status: 200, body: postView(p) };
}

function getPost(ctx: Ctx): ApiResult {
  const c = mustCaller(ctx.caller);
  const id = ctx.params.post_id;
  if (!isValidId(id)) throw invalidUrlParam('post_id');
  const p = ctx.store.post(id);
  if (!p) throw err(404, 'app.post.get.app_error');
  const ch = ctx.store.channels.get(p.channel_id);
  if (!ch || !canReadChannel(ctx.store, c.user, ch)) throw permissionError();
  return { status: 200, body: postView(p) };
}

/** Shows `post` to `userId` only (app.SendEphemeralPost); never stored as a channel post. */
export function sendEphemeral(
  store: MmStore,
  userId: string,
  post: Partial<MmPostRecord> & { channel_id: string; message: string; user_id: string },
): MmPostRecord {
  const t = store.now();
  const row: MmPostRecord = {
    id: newId(),
    create_at: t,
    update_at: t,
    edit_at: 0,
    delete_at: 0,
    is_pinned: false,
    root_id: '',
    original_id: '',
    props: {},
    hashtags: '',
    pending_post_id: '',
    reply_count: 0,
    last_reply_at: 0,
    participants: null,
    metadata: {},
    ...post,
    type: 'system_ephemeral',
  };
  const list = store.ephemeralPosts.get(userId) ?? [];
  list.push(row);
  store.ephemeralPosts.set(userId, list);
  return row;
}

function createEphemeral(ctx: Ctx): ApiResult {
  const c = mustCaller(ctx.caller);
  const b = ctx.body as { user_id: string; post: { channel_id: string; message: string } };
  if (!isAdmin(c.user)) throw permissionError(); // create_post_ephemeral: system admins only
  if (!isValidId(b.user_id)) throw invalidBodyParam('user_id');
  if (!isValidId(b.post.channel_id)) throw invalidBodyParam('channel_id');
  checkMessage(b.post.message);
  const row = sendEphemeral(ctx.store, b.user_id, {
    channel_id: b.post.channel_id,
    message: b.post.message,
    user_id: c.user.id,
  });
  return { status: 201, body: postView(row) };
}

export const postRoutes: Route[] = [
  { method: 'POST', path: '/api/v4/posts', session: true, handler: createPost },
  { method: 'POST', path: '/api/v4/posts/ephemeral', session: true, handler: createEphemeral },
  { method: 'GET', path: '/api/v4/posts/{post_id}', session: true, handler: getPost },
  { method: 'PUT', path: '/api/v4/posts/{post_id}', session: true, handler: updatePost },
  { method: 'PUT', path: '/api/v4/posts/{post_id}/patch', session: true, handler: patchPost },
];
