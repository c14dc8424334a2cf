/**
 * The Mattermost REST calls the sidecar makes (FACTS §e, §f). Every call has a timeout; errors
 * carry Mattermost's own error id and HTTP status; an unreachable server is MATTERMOST_UNAVAILABLE.
 * Credentials: the bot token (Bearer) by default, or a caller's session for `getMe`.
 */
import { BridgeError, MattermostError } from '../core/errors';
import { redact } from '../core/redact';

export interface MmUser {
  id: string;
  username: string;
  roles: string;
  is_bot?: boolean;
  delete_at?: number;
}
export interface MmTeam { id: string; name: string; display_name: string }
export interface MmChannel { id: string; team_id: string; name: string; display_name: string; type: string }
export interface MmPost { id: string; channel_id: string; root_id?: string; message: string; props?: Record<string, unknown>; create_at?: number }
export interface MmCommand { id: string; team_id: string; trigger: string; url: string; method: string; token: string; auto_complete?: boolean }
export interface MmBot { user_id: string; username: string; display_name?: string; owner_id?: string; delete_at?: number }

/** A Mattermost answer other than 2xx: `status` and Mattermost's error `id` are kept for decisions. */
export class MattermostApiError extends BridgeError {
  constructor(readonly status: number, readonly errorId: string, message: string) {
    super(status === 401 ? 'PRECONDITION_FAILED' : status === 404 ? 'NOT_FOUND' : 'MATTERMOST_UNAVAILABLE', message);
  }
}

/** How a request authenticates: a token (bot or admin), or a browser session forwarded as-is. */
export type MmAuth = { token: string } | { cookie: string; csrf?: string } | { bearer: string };

export class MattermostClient {
  constructor(readonly baseUrl: string, private readonly auth?: MmAuth, private readonly timeoutMs = 10_000) {}

  withAuth(auth: MmAuth): MattermostClient {
    return new MattermostClient(this.baseUrl, auth, this.timeoutMs);
  }

  async request<T>(method: string, path: string, body?: unknown, query?: Record<string, string>): Promise<T> {
    const url = new URL(`/api/v4${path}`, this.baseUrl);
    for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, v);
    const headers: Record<string, string> = { 'X-Requested-With': 'XMLHttpRequest', Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const a = this.auth;
    if (a && 'token' in a) headers.Authorization = `Bearer ${a.token}`;
    if (a && 'bearer' in a) headers.Authorization = `Bearer ${a.bearer}`;
    if (a && 'cookie' in a) {
      headers.Cookie = a.cookie;
      if (a.csrf) headers['X-CSRF-Token'] = a.csrf;
    }
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw new MattermostError(`Mattermost at ${this.baseUrl} is not reachable (${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message})`, { cause: err });
    }
    const text = await res.text();
    if (!res.ok) {
      let id = '';
      let message = text.slice(0, 200);
      try {
        const e = JSON.parse(text) as { id?: string; message?: string };
        id = e.id ?? '';
        message = e.message ?? message;
      } catch { /* not JSON */ }
      throw new MattermostApiError(res.status, id, redact(`Mattermost answered ${res.status} to ${method} ${path}: ${message}${id ? ` (${id})` : ''}`));
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  getMe(): Promise<MmUser> { return this.request('GET', '/users/me'); }
  getUser(id: string): Promise<MmUser> { return this.request('GET', `/users/${encodeURIComponent(id)}`); }
  getUserByUsername(name: string): Promise<MmUser> { return this.request('GET', `/users/username/${encodeURIComponent(name)}`); }
  getTeams(): Promise<MmTeam[]> { return this.request('GET', '/teams', undefined, { per_page: '200' }); }
  getTeamByName(name: string): Promise<MmTeam> { return this.request('GET', `/teams/name/${encodeURIComponent(name)}`); }
  getChannelByName(team: string, channel: string): Promise<MmChannel> {
    return this.request('GET', `/teams/name/${encodeURIComponent(team)}/channels/name/${encodeURIComponent(channel)}`);
  }
  createPost(p: { channel_id: string; message: string; root_id?: string; props?: Record<string, unknown> }): Promise<MmPost> {
    return this.request('POST', '/posts', p, { set_online: 'false' });
  }
  patchPost(id: string, p: { message?: string; props?: Record<string, unknown> }): Promise<MmPost> {
    return this.request('PUT', `/posts/${encodeURIComponent(id)}/patch`, p);
  }
  createBot(b: { username: string; display_name: string; description: string }): Promise<MmBot> { return this.request('POST', '/bots', b); }
  getBot(userId: string): Promise<MmBot> { return this.request('GET', `/bots/${encodeURIComponent(userId)}`); }
  createToken(userId: string, description: string): Promise<{ id: string; token: string; user_id: string }> {
    return this.request('POST', `/users/${encodeURIComponent(userId)}/tokens`, { description });
  }
  addTeamMember(teamId: string, userId: string): Promise<unknown> {
    return this.request('POST', `/teams/${encodeURIComponent(teamId)}/members`, { team_id: teamId, user_id: userId });
  }
  addChannelMember(channelId: string, userId: string): Promise<unknown> {
    return this.request('POST', `/channels/${encodeURIComponent(channelId)}/members`, { user_id: userId });
  }
  listCommands(teamId: string): Promise<MmCommand[]> {
    return this.request('GET', '/commands', undefined, { team_id: teamId, custom_only: 'true' });
  }
  createCommand(c: Omit<MmCommand, 'id' | 'token'> & Record<string, unknown>): Promise<MmCommand> { return this.request('POST', '/commands', c); }
  updateCommand(c: MmCommand & Record<string, unknown>): Promise<MmCommand> { return this.request('PUT', `/commands/${encodeURIComponent(c.id)}`, c); }
  getConfig(): Promise<Record<string, Record<string, unknown>>> { return this.request('GET', '/config'); }
}

export function isSystemAdmin(u: MmUser): boolean {
  return u.roles.split(' ').includes('system_admin') && !u.delete_at;
}
