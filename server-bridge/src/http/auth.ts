/**
 * Who may call the API: a Mattermost system admin, proven by forwarding the caller's own session
 * (MMAUTHTOKEN cookie, which wins as in Mattermost, or Authorization: Bearer) to /users/me.
 * Cookie-authenticated state changes must carry X-CSRF-Token equal to the MMCSRF cookie.
 * Validated sessions are cached: briefly while Mattermost answers (so revocations bite soon),
 * longer while it is unreachable (so the page keeps working during a backup or restore).
 */
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { parse as parseCookies } from 'cookie';
import { constantTimeEqual } from '../core/constant_time';
import { MattermostError } from '../core/errors';
import type { UserProfile } from '@mattermost/types/users';
import { MattermostApiError, MattermostClient, isSystemAdmin, type MmAuth } from '../mattermost/client';
import { HttpError } from './errors';

/** Kept here too for callers of the HTTP room (service/connect.ts); it lives in core/constant_time.ts. */
export { constantTimeEqual };

export interface AuthOptions {
  mattermostUrl: string;
  /** How long a validated session is trusted without asking Mattermost again. */
  freshMs?: number;
  /** How long a validated session stays usable while Mattermost cannot be reached. */
  outageMs?: number;
}

export interface Caller {
  user: UserProfile;
  via: 'cookie' | 'bearer';
  /** The caller's own session, to ask Mattermost something as them (never stored or logged). */
  session: MmAuth;
}

interface Cached {
  user: UserProfile;
  validatedAt: number;
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);
const TOKEN68 = /^[A-Za-z0-9._~+/-]{1,512}=*$/;

export class SessionAuth {
  private readonly cache = new Map<string, Cached>();
  private readonly freshMs: number;
  private readonly outageMs: number;

  constructor(private readonly opts: AuthOptions) {
    this.freshMs = opts.freshMs ?? 30_000;
    this.outageMs = opts.outageMs ?? 30 * 60_000;
  }

  async authenticate(req: FastifyRequest): Promise<Caller> {
    const cookies = parseCookies(req.headers.cookie ?? '') as Record<string, string | undefined>;
    const cookieToken = cookies.MMAUTHTOKEN;
    const header = req.headers.authorization ?? '';
    const bearer = /^bearer\s+(\S+)$/i.exec(header)?.[1];
    if (!cookieToken && !bearer) {
      throw new HttpError(
        401,
        'api.context.session_expired.app_error',
        'no Mattermost session: sign in to Mattermost, or send Authorization: Bearer <token>',
      );
    }
    const via = cookieToken ? 'cookie' : 'bearer';
    if (via === 'cookie' && !SAFE.has(req.method)) {
      const sent = String(req.headers['x-csrf-token'] ?? '');
      const expected = cookies.MMCSRF ?? '';
      if (!sent || !expected || !constantTimeEqual(sent, expected)) {
        throw new HttpError(
          401,
          'api.context.session_expired.app_error',
          'missing or wrong X-CSRF-Token: it must equal the MMCSRF cookie',
        );
      }
    }
    const token = (cookieToken ?? bearer) as string;
    // Only what a token can be (RFC 7235 token68; Mattermost's are 26 letters and digits) is
    // forwarded: a decoded cookie with control or non-Latin-1 characters cannot go into a header
    // (fetch throws, which read as "Mattermost unreachable", a 503) and a ';' would add cookies.
    if (!TOKEN68.test(token)) {
      throw new HttpError(
        401,
        'api.context.session_expired.app_error',
        'the session token is malformed: sign in to Mattermost again',
      );
    }
    const key = createHash('sha256').update(token).digest('hex');
    const session: MmAuth = via === 'cookie' ? { cookie: `MMAUTHTOKEN=${token}` } : { bearer: token };
    const user = await this.validate(key, session);
    if (user.is_bot) {
      throw new HttpError(403, 'api.context.permissions.app_error', 'bot accounts cannot use the backup API');
    }
    if (!isSystemAdmin(user)) {
      throw new HttpError(
        403,
        'api.context.permissions.app_error',
        `@${user.username} is not a system admin; backups are managed by system admins only`,
      );
    }
    return { user, via, session };
  }

  /** Drops sessions too old to be used even during an outage; keeps the cache bounded. */
  private evict(): void {
    const now = Date.now();
    for (const [k, v] of this.cache) if (now - v.validatedAt > this.outageMs) this.cache.delete(k);
    while (this.cache.size > 1000) this.cache.delete(this.cache.keys().next().value as string);
  }

  private async validate(key: string, auth: MmAuth): Promise<UserProfile> {
    const cached = this.cache.get(key);
    const age = cached ? Date.now() - cached.validatedAt : Infinity;
    if (cached && age < this.freshMs) return cached.user;
    try {
      const user = await new MattermostClient(this.opts.mattermostUrl, auth, 5000).getMe();
      if (this.cache.size > 1000) this.evict();
      this.cache.set(key, { user, validatedAt: Date.now() });
      return user;
    } catch (err) {
      if (err instanceof MattermostApiError && (err.status === 401 || err.status === 403)) {
        this.cache.delete(key);
        throw new HttpError(
          401,
          'api.context.session_expired.app_error',
          'the Mattermost session is invalid or expired: sign in again',
        );
      }
      if ((err instanceof MattermostError || err instanceof MattermostApiError) && cached && age < this.outageMs) {
        return cached.user;
      }
      throw new HttpError(
        503,
        'mm_backup.mattermost_unavailable',
        'Mattermost cannot be reached to check this session, and it was not checked recently',
      );
    }
  }
}
