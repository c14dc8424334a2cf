// Asks the mm-backup sidecar whether it is up (GET <sidecar>/healthz) and classifies
// failures, so the System Console can tell the admin what to check.

import {inEnglish} from 'src/i18n';
import type {Text} from 'src/i18n';

/** The sidecar's /healthz answer. */
export type SidecarHealth = {
    status: string;
    version: string;
};

/**
 * Why the sidecar could not be reached:
 * - `network`: no HTTP answer at all (sidecar stopped, wrong host or port, CORS, TLS);
 * - `http`: an HTTP error status (a reverse proxy answering 502/504, or a wrong path);
 * - `not_sidecar`: a 2xx answer that is not the sidecar's JSON, typically Mattermost's
 *   own HTML page because the reverse proxy does not forward the path;
 * - `timeout`: no answer within the time limit.
 */
export type SidecarFailureKind = 'network' | 'http' | 'not_sidecar' | 'timeout';

/**
 * Thrown by fetchSidecarHealth; `detail` is a short technical description for the admin:
 * the browser's or the server's words, or a message of ours (translatable).
 */
export class SidecarUnreachableError extends Error {
    constructor(
        readonly kind: SidecarFailureKind,
        readonly detail: Text,
        options?: {cause?: unknown},
    ) {
        super(`sidecar unreachable (${kind}): ${inEnglish(detail)}`, options);
        this.name = 'SidecarUnreachableError';
    }
}

/** Default time limit for the health check. */
export const HEALTH_TIMEOUT_MS = 5000;

function isHealth(body: unknown): body is SidecarHealth {
    const b = body as Partial<SidecarHealth> | null;
    return typeof b === 'object' && b !== null && typeof b.status === 'string' && typeof b.version === 'string';
}

/**
 * GETs `<baseUrl>/healthz` with the browser's credentials (the sidecar authenticates
 * browser calls with the Mattermost session cookie). Resolves with the parsed answer or
 * rejects with SidecarUnreachableError; `signal` aborts it early.
 */
export async function fetchSidecarHealth(
    baseUrl: string,
    {
        fetchImpl = fetch,
        timeoutMs = HEALTH_TIMEOUT_MS,
        signal,
    }: {fetchImpl?: typeof fetch; timeoutMs?: number; signal?: AbortSignal} = {},
): Promise<SidecarHealth> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const onAbort = () => controller.abort();
    signal?.addEventListener('abort', onAbort);
    try {
        let response: Response;
        try {
            response = await fetchImpl(`${baseUrl}/healthz`, {
                credentials: 'include',
                signal: controller.signal,
                headers: {Accept: 'application/json'},
            });
        } catch (err) {
            const kind = controller.signal.aborted && !signal?.aborted ? 'timeout' : 'network';
            throw new SidecarUnreachableError(kind, err instanceof Error ? err.message : String(err), {cause: err});
        }
        if (!response.ok) {
            throw new SidecarUnreachableError('http', `HTTP ${response.status} ${response.statusText}`.trim());
        }
        const body: unknown = await response.json().catch(() => null);
        if (!isHealth(body)) {
            throw new SidecarUnreachableError('not_sidecar', {
                id: 'mattermost-backup.error.not_sidecar_json',
                defaultMessage: "the answer was not the sidecar's JSON (content-type {contentType})",
                values: {contentType: response.headers.get('content-type') ?? 'none'},
            });
        }
        return body;
    } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
    }
}
