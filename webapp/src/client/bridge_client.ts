// The sidecar's HTTP API as typed methods. Every call goes through request<T>(): the
// browser's Mattermost session travels as the MMAUTHTOKEN cookie (credentials 'include';
// same origin behind the reverse proxy, or CORS with credentials), and state changes carry
// X-CSRF-Token = the MMCSRF cookie, which the sidecar checks.

import {mattermostHeaders} from './csrf';
import type {
    ComponentListDto, ConnectReport, ConnectState, JobRecord, RestorePreparation, SettingsDto, SettingsPatch,
    SnapshotListDto, StartJobRequest, StatusDto, CommandToken,
} from './dto';
import {BridgeClientError, requestJson} from './http_error';

export {BridgeClientError};

export class BridgeClient {
    /** `baseUrl` is the Sidecar URL setting without a trailing slash, e.g. `/mm-backup`. */
    constructor(readonly baseUrl: string) {}

    /** One request; throws BridgeClientError for HTTP errors and for no answer (status 0). */
    request<T>(method: 'GET' | 'POST' | 'PUT', route: string, body?: unknown, signal?: AbortSignal): Promise<T> {
        return requestJson<T>(`${this.baseUrl}${route}`, {method, headers: mattermostHeaders(method), body, signal});
    }

    /** GET /v1/status; an answer without the sidecar's fields (another server answered) throws id `not_json`. */
    async getStatus(signal?: AbortSignal) {
        const status = await this.request<StatusDto>('GET', '/v1/status', undefined, signal);
        if (typeof status !== 'object' || status === null || !('repository' in status) || !('sidecar' in status)) {
            throw BridgeClientError.local(200, 'not_json', {id: 'mattermost-backup.error.not_status', defaultMessage: 'the answer to /v1/status was not the sidecar\'s'});
        }
        return status;
    }

    /** GET /v1/components: the component kinds this sidecar backs up, with their names. */
    getComponents(signal?: AbortSignal) {
        return this.request<ComponentListDto>('GET', '/v1/components', undefined, signal);
    }

    getSnapshots(signal?: AbortSignal) {
        return this.request<SnapshotListDto>('GET', '/v1/snapshots', undefined, signal);
    }

    getManifest(snapshotId: string) {
        return this.request<Record<string, unknown>>('GET', `/v1/snapshots/${encodeURIComponent(snapshotId)}/manifest`);
    }

    getJob(jobId: string, signal?: AbortSignal) {
        return this.request<JobRecord>('GET', `/v1/jobs/${encodeURIComponent(jobId)}`, undefined, signal);
    }

    listJobs(limit = 50, snapshotId?: string) {
        const q = new URLSearchParams({limit: String(limit), ...(snapshotId ? {snapshot_id: snapshotId} : {})});
        return this.request<{jobs: JobRecord[]}>('GET', `/v1/jobs?${q}`);
    }

    startJob(body: StartJobRequest) {
        return this.request<JobRecord>('POST', '/v1/jobs', body);
    }

    cancelJob(jobId: string) {
        return this.request<{status: string}>('POST', `/v1/jobs/${encodeURIComponent(jobId)}/cancel`, {});
    }

    prepareRestore(snapshotId: string) {
        return this.request<RestorePreparation>('POST', '/v1/restore/prepare', {snapshot_id: snapshotId});
    }

    getSettings() {
        return this.request<SettingsDto>('GET', '/v1/settings');
    }

    putSettings(patch: SettingsPatch) {
        return this.request<SettingsDto>('PUT', '/v1/settings', patch);
    }

    getConnect() {
        return this.request<ConnectState>('GET', '/v1/connect');
    }

    connect(botToken: string, commandTokens?: CommandToken[]) {
        return this.request<ConnectReport>('POST', '/v1/connect', commandTokens?.length ? {bot_token: botToken, command_tokens: commandTokens} : {bot_token: botToken});
    }
}
