/**
 * Mattermost's health as the server itself reports it: GET /api/v4/system/ping with
 * get_server_status=true (database and file store checked) and REST semantics (FACTS §h).
 * The ping is plain fetch, not Client4: it must tell "no answer" (down) from any answer, and
 * read the status body of an error answer too, which Client4's errors do not keep.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { MattermostError, throwIfAborted } from '../core/errors';
import { MattermostClient } from './client';

export interface PingResult {
  /** 'down' = connection refused or no answer; otherwise the server's status. */
  state: 'ok' | 'unhealthy' | 'down';
  detail: string;
}

export async function ping(baseUrl: string, timeoutMs = 5000): Promise<PingResult> {
  // Appended, as Client4 does, so a Mattermost under a sub-path is asked at its own /api/v4.
  const url = `${baseUrl.replace(/\/+$/, '')}/api/v4/system/ping?get_server_status=true&use_rest_semantics=true`;
  try {
    const res = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      headers: { 'X-Requested-With': 'XMLHttpRequest' },
    });
    const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (res.ok && body.status === 'OK') return { state: 'ok', detail: 'OK' };
    const parts = [`HTTP ${res.status}`, `status ${text(body.status ?? '?')}`];
    if (body.database_status) parts.push(`database ${text(body.database_status)}`);
    if (body.filestore_status) parts.push(`file store ${text(body.filestore_status)}`);
    return { state: 'unhealthy', detail: parts.join(', ') };
  } catch (err) {
    // fetch's "fetch failed" says nothing; its cause (ECONNREFUSED, a timeout…) does.
    const e = err as Error;
    const cause =
      typeof e.cause === 'object' && e.cause !== null && 'message' in e.cause ? String(e.cause.message) : undefined;
    return { state: 'down', detail: cause ?? e.message };
  }
}

/** A field of the server's answer as text (it is not ours: it may be anything). */
function text(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Polls until ping says OK; throws MATTERMOST_UNAVAILABLE with the last answer on timeout. */
export async function waitHealthy(baseUrl: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: PingResult = { state: 'down', detail: 'not asked yet' };
  while (Date.now() < deadline) {
    throwIfAborted(signal);
    last = await ping(baseUrl);
    if (last.state === 'ok') return;
    await sleep(500);
  }
  throw new MattermostError(
    `Mattermost did not become healthy within ${Math.round(timeoutMs / 1000)} s (last answer: ${last.detail})`,
    {
      hint: `check the server's log (journalctl -u mattermost, or logs/mattermost.log) and ${baseUrl}/api/v4/system/ping?get_server_status=true`,
    },
  );
}

/** Polls until the server no longer answers ping at all. */
export async function waitDown(baseUrl: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    throwIfAborted(signal);
    if ((await ping(baseUrl, 2000)).state === 'down') return;
    await sleep(300);
  }
  throw new MattermostError(
    `Mattermost still answers at ${baseUrl} ${Math.round(timeoutMs / 1000)} s after the stop command`,
    {
      hint: 'check that service.stop really stops this server and mattermost.url points at it',
    },
  );
}

/** The server's version from the unauthenticated client config, or undefined when unreachable. */
export async function serverVersion(baseUrl: string): Promise<string | undefined> {
  try {
    const config = await new MattermostClient(baseUrl, undefined, 5000).getClientConfig();
    return typeof config.Version === 'string' ? config.Version : undefined;
  } catch {
    return undefined;
  }
}
