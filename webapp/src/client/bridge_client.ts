// The sidecar's HTTP API as typed methods, one per route of @mm-backup/api's ROUTES, in the
// manner of Playbooks' webapp client.ts (one fetch wrapper, one error type). Every answer
// is checked at this boundary against the route's response schema: the rest of the page
// can trust the types, and an answer it cannot read (a sidecar of another API version, or
// another server) is one clear error instead of a crash deep in a component. Unknown fields
// are ignored, so a newer sidecar's additions do not break an older page.
//
// The browser's Mattermost session travels as the MMAUTHTOKEN cookie (credentials
// 'include'; same origin behind the reverse proxy, or CORS with credentials), and state
// changes carry X-CSRF-Token = the MMCSRF cookie, which the sidecar checks.

import {API_VERSION_HEADER, ROUTES, UNVERSIONED_API} from '@mm-backup/api';
import type {
    CommandToken,
    JsonRouteName,
    PrepareRestoreRequest,
    ResponseOf,
    SettingsPatch,
    StartJobRequest,
} from '@mm-backup/api';

import {mattermostHeaders} from './csrf';
import {BridgeClientError, requestJson} from './http_error';

export {BridgeClientError};

/** The API version an answer carries (its header), or UNVERSIONED_API for a sidecar from before versioning. */
export function apiVersionOf(r: Response): number {
    const v = Number(r.headers.get(API_VERSION_HEADER));
    return Number.isInteger(v) && v > 0 ? v : UNVERSIONED_API;
}

export class BridgeClient {
    /** The API version of the sidecar's last answer; undefined until one arrived. */
    apiVersion?: number;

    /** `baseUrl` is the Sidecar URL setting without a trailing slash, e.g. `/mm-backup`. */
    constructor(readonly baseUrl: string) {}

    /**
     * One request to route `name` at `path`; resolves with the answer as the schema reads it.
     * Throws BridgeClientError for HTTP errors, for no answer (status 0), and for an answer the
     * schema refuses (id `response_invalid`).
     */
    async call<R extends JsonRouteName>(
        name: R,
        path: string,
        body?: unknown,
        signal?: AbortSignal,
    ): Promise<ResponseOf<R>> {
        const def = ROUTES[name];
        let status = 0;
        const data = await requestJson<unknown>(`${this.baseUrl}${path}`, {
            method: def.method,
            headers: mattermostHeaders(def.method),
            body,
            signal,
            onResponse: (r) => {
                status = r.status;

                // Only the sidecar's answers count: a proxy's 502 page says nothing about its version.
                if (r.headers.has(API_VERSION_HEADER) || r.ok) {
                    this.apiVersion = apiVersionOf(r);
                }
            },
        });
        if (
            name === 'status' &&
            !(typeof data === 'object' && data !== null && 'repository' in data && 'sidecar' in data)
        ) {
            // Something else answered 200 (a proxy's page, another app): not the sidecar at all.
            throw BridgeClientError.local(status, 'not_json', {
                id: 'mattermost-backup.error.not_status',
                defaultMessage: "the answer to /v1/status was not the sidecar's",
            });
        }
        const r = def.response.safeParse(data);
        if (!r.success) {
            const issue = r.error.issues[0];
            throw BridgeClientError.local(status, 'response_invalid', {
                id: 'mattermost-backup.error.response_invalid',
                defaultMessage: "the sidecar's answer to {route} is not what this plugin expects ({problem})",
                values: {
                    route: `${def.method} ${def.path}`,
                    problem: issue ? `${issue.path.join('.') || 'answer'}: ${issue.message}` : 'unreadable',
                },
            });
        }
        return r.data as ResponseOf<R>;
    }

    /** GET /v1/status; an answer without the sidecar's fields (another server answered) throws id `not_json`. */
    getStatus(signal?: AbortSignal) {
        return this.call('status', '/v1/status', undefined, signal);
    }

    /** GET /v1/components: the component kinds this sidecar backs up, with their names. */
    getComponents(signal?: AbortSignal) {
        return this.call('components', '/v1/components', undefined, signal);
    }

    getSnapshots(signal?: AbortSignal) {
        return this.call('snapshots', '/v1/snapshots', undefined, signal);
    }

    getManifest(snapshotId: string) {
        return this.call('manifest', `/v1/snapshots/${encodeURIComponent(snapshotId)}/manifest`);
    }

    /** GET /v1/snapshots/{id}/tree: one page of one directory of a snapshot's component. */
    getTree(snapshotId: string, q: {component: string; path: string; cursor?: string; limit?: number}) {
        const p = new URLSearchParams({component: q.component, path: q.path});
        if (q.cursor !== undefined) {
            p.set('cursor', q.cursor);
        }
        if (q.limit !== undefined) {
            p.set('limit', String(q.limit));
        }
        return this.call('snapshotTree', `/v1/snapshots/${encodeURIComponent(snapshotId)}/tree?${p}`);
    }

    /** Where the browser downloads a file, or a directory as a tar (the session cookie goes with it). */
    downloadUrl(snapshotId: string, component: string, path: string): string {
        const p = new URLSearchParams({component, path});
        return `${this.baseUrl}/v1/snapshots/${encodeURIComponent(snapshotId)}/download?${p}`;
    }

    getJob(jobId: string, signal?: AbortSignal) {
        return this.call('getJob', `/v1/jobs/${encodeURIComponent(jobId)}`, undefined, signal);
    }

    listJobs(limit = 50, snapshotId?: string) {
        const q = new URLSearchParams({limit: String(limit), ...(snapshotId ? {snapshot_id: snapshotId} : {})});
        return this.call('listJobs', `/v1/jobs?${q}`);
    }

    startJob(body: StartJobRequest) {
        return this.call('startJob', '/v1/jobs', body);
    }

    cancelJob(jobId: string) {
        return this.call('cancelJob', `/v1/jobs/${encodeURIComponent(jobId)}/cancel`, {});
    }

    prepareRestore(snapshotId: string, include?: string[]) {
        const body: PrepareRestoreRequest = include ? {snapshot_id: snapshotId, include} : {snapshot_id: snapshotId};
        return this.call('prepareRestore', '/v1/restore/prepare', body);
    }

    /** A point-in-time restore (physical mode): `latest`, or a time with its offset. */
    prepareRestoreAt(at: string) {
        const body: PrepareRestoreRequest = {at};
        return this.call('prepareRestore', '/v1/restore/prepare', body);
    }

    /** What enabling or disabling physical mode would check and change (API 4); changes nothing. */
    getPitrPlan() {
        return this.call('pitrPlan', '/v1/pitr/plan');
    }

    getSettings() {
        return this.call('getSettings', '/v1/settings');
    }

    putSettings(patch: SettingsPatch) {
        return this.call('putSettings', '/v1/settings', patch);
    }

    getConnect() {
        return this.call('getConnect', '/v1/connect');
    }

    connect(botToken: string, commandTokens?: CommandToken[]) {
        return this.call(
            'connect',
            '/v1/connect',
            commandTokens?.length ? {bot_token: botToken, command_tokens: commandTokens} : {bot_token: botToken},
        );
    }
}
