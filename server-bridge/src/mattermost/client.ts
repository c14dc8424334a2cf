/**
 * The sidecar's Mattermost REST client: Mattermost's own `Client4` (@mattermost/client), with
 * what a server process needs on top of the browser client it was written for:
 * - a timeout on every request (Client4 has none; a hung Mattermost must not hang the sidecar);
 * - errors translated once, here: a Mattermost error answer becomes MattermostApiError with the
 *   HTTP `status` and Mattermost's error `errorId` as data (callers branch on those, never on
 *   message text); no answer at all becomes MattermostError (MATTERMOST_UNAVAILABLE);
 * - a caller's browser session forwarded as a Cookie header (Node's fetch has no cookie jar);
 * - the few calls Client4 lacks or shapes differently from the API description (see below).
 * Tokens go only into the Authorization header, never into a URL, so no error can carry them.
 */
import { Client4, ClientError } from '@mattermost/client';
import type { Options } from '@mattermost/types/client4';
import type { Command } from '@mattermost/types/integrations';
import type { Post } from '@mattermost/types/posts';
import type { Team } from '@mattermost/types/teams';
import type { UserProfile } from '@mattermost/types/users';
import { BridgeError, MattermostError, type ErrorCode } from '../core/errors';
import { redact } from '../core/redact';

/** A Mattermost error answer: the HTTP `status` and Mattermost's error `errorId` are kept for decisions. */
export class MattermostApiError extends BridgeError {
  constructor(
    readonly status: number,
    readonly errorId: string,
    message: string,
    opts: { cause?: unknown } = {},
  ) {
    super(codeFor(status), message, { ...opts, details: { status, error_id: errorId } });
  }
}

/** 401: our token is not (or no longer) accepted; 404: no such thing; anything else: Mattermost cannot do it now. */
function codeFor(status: number): ErrorCode {
  if (status === 401) return 'PRECONDITION_FAILED';
  if (status === 404) return 'NOT_FOUND';
  return 'MATTERMOST_UNAVAILABLE';
}

/**
 * True when `err` says Mattermost could not be asked (no answer, a timeout, a 5xx or 429): worth
 * retrying later. False for an answer that will not change by asking again (401, 403, 404…).
 */
export function isOutage(err: unknown): boolean {
  if (err instanceof MattermostApiError) return err.status >= 500 || err.status === 429;
  return err instanceof MattermostError;
}

/** Teams per page when listing every team (Mattermost's maximum). */
const TEAMS_PER_PAGE = 200;

/** How a request authenticates: a token (bot or admin), or a browser session forwarded as-is. */
export type MmAuth = { token: string } | { cookie: string; csrf?: string } | { bearer: string };

export class MattermostClient extends Client4 {
  readonly baseUrl: string;

  constructor(
    baseUrl: string,
    private readonly auth?: MmAuth,
    private readonly timeoutMs = 10_000,
  ) {
    super();
    // Client4 appends /api/v4 to the URL as given, so a server under a sub-path works too.
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.setUrl(this.baseUrl);
    // `credentials: 'include'` means nothing without a browser's cookie jar; the session is sent explicitly.
    this.setIncludeCookies(false);
    if (auth && 'token' in auth) this.setToken(auth.token);
    if (auth && 'bearer' in auth) this.setToken(auth.bearer);
    if (auth && 'cookie' in auth) {
      this.setHeader('Cookie', auth.cookie);
      if (auth.csrf) this.setCSRF(auth.csrf);
    }
    const send = this.doFetch;
    // Client4 lets fetch's own errors through untouched and throws ClientError for error
    // answers; both become our typed errors here, once, for every call.
    this.doFetch = async <T>(url: string, options: Options): Promise<T> => {
      try {
        return await send<T>(url, options);
      } catch (err) {
        throw this.translate(err, (options.method ?? 'get').toUpperCase(), url);
      }
    };
  }

  withAuth(auth: MmAuth): MattermostClient {
    return new MattermostClient(this.baseUrl, auth, this.timeoutMs);
  }

  /** Every request gets a deadline: Client4 passes no signal of its own. */
  override getOptions(options: Options): ReturnType<Client4['getOptions']> {
    const o = super.getOptions(options);
    return { ...o, signal: o.signal ?? AbortSignal.timeout(this.timeoutMs) };
  }

  // Calls Client4 lacks or shapes differently, on Client4's own transport and routes.

  /** POST /posts?set_online=false: a status post must not mark the bot online (Client4's createPost cannot say so). */
  createPostQuietly(post: {
    channel_id: string;
    message: string;
    root_id?: string;
    props?: Record<string, unknown>;
  }): Promise<Post> {
    return this.doFetch(`${this.getPostsRoute()}?set_online=false`, { method: 'post', body: JSON.stringify(post) });
  }

  /**
   * Every team the caller sees (a system admin: all), page by page. Client4's getTeams reads
   * one page of 60 and also sends `for_directory`, which the API description does not have.
   */
  async getAllTeams(): Promise<Team[]> {
    const teams: Team[] = [];
    for (let page = 0; ; page++) {
      const batch = await this.doFetch<Team[]>(`${this.getTeamsRoute()}?page=${page}&per_page=${TEAMS_PER_PAGE}`, {
        method: 'get',
      });
      teams.push(...batch);
      if (batch.length < TEAMS_PER_PAGE) return teams;
    }
  }

  /** GET /commands/{id}: Client4 has no call for one command. The id is caller input, so it is encoded. */
  getCommand(commandId: string): Promise<Command & { delete_at: number }> {
    return this.doFetch(`${this.getCommandsRoute()}/${encodeURIComponent(commandId)}`, { method: 'get' });
  }

  private translate(err: unknown, method: string, url: string): BridgeError {
    if (err instanceof BridgeError) return err;
    const path = url.startsWith(this.baseUrl) ? url.slice(this.baseUrl.length).split('?')[0] : '';
    if (err instanceof ClientError && typeof err.status_code === 'number' && err.status_code > 0) {
      // Mattermost's error body repeats the HTTP status (FACTS §f, error body); Client4 reads it from there.
      const id = err.server_error_id ?? '';
      const text = `Mattermost answered ${err.status_code} to ${method} ${path}: ${err.message}${id ? ` (${id})` : ''}`;
      return new MattermostApiError(err.status_code, id, redact(text), { cause: err });
    }
    if (err instanceof ClientError && !err.cause) {
      // An error answer without Mattermost's error body: a proxy's page while Mattermost is down.
      return new MattermostError(
        redact(
          `Mattermost at ${this.baseUrl} answered ${method} ${path} with an error that is not Mattermost's (a proxy in between?)`,
        ),
        { cause: err },
      );
    }
    // No answer: refused, reset, timed out, or a body that broke off.
    const cause = asError(asError(err)?.cause) ?? asError(err);
    let why = cause?.message ?? String(err);
    if (cause?.name === 'TimeoutError') why = `no answer within ${this.timeoutMs / 1000} s`;
    return new MattermostError(redact(`Mattermost at ${this.baseUrl} is not reachable (${why})`), { cause: err });
  }
}

/** Duck-typed: errors from fetch come from another realm under test runners, so instanceof misses them. */
function asError(x: unknown): { name: string; message: string; cause?: unknown } | undefined {
  return typeof x === 'object' && x !== null && typeof (x as Error).message === 'string' ? (x as Error) : undefined;
}

export function isSystemAdmin(u: Pick<UserProfile, 'roles' | 'delete_at'>): boolean {
  return u.roles.split(' ').includes('system_admin') && !u.delete_at;
}
