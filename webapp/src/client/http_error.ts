// The one error type of the webapp's HTTP clients (sidecar and Mattermost REST). Both
// servers answer errors as {id, message, status_code}, so one parser serves both.

import {inEnglish} from 'src/i18n';
import type {LocalMessage} from 'src/i18n';

import type {ErrorBody, FieldError} from '@mm-backup/api';

/**
 * A failed request. `status` is the HTTP status, or 0 when there was no HTTP answer at all
 * (network error, CORS refusal, server down). `id` is the server's error id
 * (e.g. `api.context.session_expired.app_error`), or a local one for non-JSON answers.
 */
export class BridgeClientError extends Error {
    readonly status: number;
    readonly id: string;
    readonly hint?: string;

    /** A 400's problems one per request field (`retention.keep_last`), when the server listed them. */
    readonly fields?: FieldError[];

    /** Set when the message was made here, not by a server: the same text, translatable. */
    readonly local?: LocalMessage;

    constructor(
        status: number,
        id: string,
        message: string,
        options?: {hint?: string; cause?: unknown; local?: LocalMessage; fields?: FieldError[]},
    ) {
        super(message, {cause: options?.cause});
        this.name = 'BridgeClientError';
        this.status = status;
        this.id = id;
        this.hint = options?.hint;
        this.fields = options?.fields;
        this.local = options?.local;
    }

    /** An error whose message is made here rather than by a server. */
    static local(status: number, id: string, local: LocalMessage): BridgeClientError {
        return new BridgeClientError(status, id, inEnglish(local), {local});
    }

    /** No HTTP answer: the server is down, unreachable, or the browser refused (CORS). */
    get isNetwork(): boolean {
        return this.status === 0;
    }
}

/** Sends a JSON request with the browser's session; resolves with the parsed body or throws BridgeClientError. */
export async function requestJson<T>(
    url: string,
    init: {
        method: string;
        headers: Record<string, string>;
        body?: unknown;
        signal?: AbortSignal;
        onResponse?: (r: Response) => void;
    },
): Promise<T> {
    const headers = {...init.headers};
    if (init.body !== undefined) {
        headers['Content-Type'] = 'application/json';
    }
    let response: Response;
    try {
        response = await fetch(url, {
            method: init.method,
            headers,
            credentials: 'include',
            body: init.body === undefined ? undefined : JSON.stringify(init.body),
            signal: init.signal,
        });
    } catch (err) {
        throw new BridgeClientError(0, 'network', err instanceof Error ? err.message : String(err), {cause: err});
    }
    init.onResponse?.(response);
    const text = await response.text();
    let body: unknown;
    try {
        body = text ? JSON.parse(text) : undefined;
    } catch {
        body = undefined;
    }
    if (!response.ok) {
        const e = (typeof body === 'object' && body !== null ? body : {}) as Partial<ErrorBody>;
        const fields = Array.isArray(e.errors) ? (e.errors as unknown[]).filter(isFieldError) : undefined;
        throw new BridgeClientError(
            response.status,
            e.id ?? 'http',
            e.message ?? `HTTP ${response.status} ${response.statusText}`.trim(),
            {hint: e.hint, fields},
        );
    }
    if (body === undefined && text) {
        throw BridgeClientError.local(response.status, 'not_json', {
            id: 'mattermost-backup.error.not_json',
            defaultMessage: 'the answer was not JSON (content-type {contentType})',
            values: {contentType: response.headers.get('content-type') ?? 'none'},
        });
    }
    return body as T;
}

/** One entry of a 400's `errors` as the server should send it (the body is not ours to trust). */
function isFieldError(f: unknown): f is FieldError {
    const g = f as Partial<Record<keyof FieldError, unknown>> | null;
    return typeof g === 'object' && g !== null && typeof g.path === 'string' && typeof g.message === 'string';
}
