// Action creators and the async operations the components call. Async operations take
// the client and dispatch explicitly (no thunk middleware needed, so tests use a plain
// Redux store) and return {data} or {error}, following Mattermost's action pattern.

import {BridgeClientError} from 'src/client/bridge_client';
import type {BridgeClient} from 'src/client/bridge_client';
import type {ConnectState, JobRecord, Settings, SnapshotList, Status} from '@mm-backup/api';
import {isLocalMessage} from 'src/i18n';
import type {FormatMessage} from 'src/i18n';
import {fetchSidecarHealth, SidecarUnreachableError} from 'src/sidecar_health';

import {actionType} from './reducer';
import type {ApiFailure, Connection, PluginAction, RestoreModalState} from './types';

export type Dispatch = (action: {type: string; data?: unknown}) => unknown;
export type Result<T> = {data: T; error?: undefined} | {data?: undefined; error: ApiFailure};

function make<A extends PluginAction>(type: A['type'], data: A['data']) {
    return {type: actionType(type), data};
}

export const receivedSidecarUrl = (url: string) => make('RECEIVED_SIDECAR_URL', url);
export const receivedConnection = (c: Connection) => make('RECEIVED_CONNECTION', c);
export const receivedStatus = (s: Status) => make('RECEIVED_STATUS', s);
export const receivedSnapshots = (s: SnapshotList) => make('RECEIVED_SNAPSHOTS', s);
export const receivedJob = (j: JobRecord | null) => make('RECEIVED_JOB', j);
export const receivedSettings = (s: Settings) => make('RECEIVED_SETTINGS', s);
export const receivedConnectState = (s: ConnectState) => make('RECEIVED_CONNECT_STATE', s);
export const openRestoreModal = (m: RestoreModalState) => make('RECEIVED_RESTORE_MODAL', m);
export const receivedSlashAnswer = (a: {title: string; text: string} | null) => make('RECEIVED_SLASH_ANSWER', a);
export const receivedSidecarApi = (v: number) => make('RECEIVED_SIDECAR_API', v);

export function toFailure(err: unknown): ApiFailure {
    const local = (err as {local?: unknown} | null)?.local;
    const localPart = isLocalMessage(local) ? {local} : {};
    if (err instanceof BridgeClientError) {
        return {
            status: err.status,
            id: err.id,
            message: err.message,
            hint: err.hint,
            ...(err.fields ? {fields: err.fields} : {}),
            ...localPart,
        };
    }
    return {status: 0, id: 'unknown', message: err instanceof Error ? err.message : String(err), ...localPart};
}

/** A failure's message in the user's language (servers' messages stay as they came). */
export function failureMessage(formatMessage: FormatMessage, f: ApiFailure): string {
    return f.local ? formatMessage(f.local, f.local.values) : f.message;
}

/** True for failures that mean "Mattermost (or the proxy in front of it) is down right now". */
export function isOutage(f: ApiFailure): boolean {
    return f.status === 0 || f.status === 502 || f.status === 503 || f.status === 504;
}

/**
 * Turns a failed request into the connection state the page shows. While a job that stops
 * Mattermost runs, outages are expected ("Mattermost is restarting…"); otherwise a failure
 * without an HTTP answer is diagnosed with the sidecar's /healthz.
 */
export async function connectionFor(
    f: ApiFailure,
    client: BridgeClient,
    jobRunning: boolean,
    retryInMs: number,
): Promise<Connection> {
    if (f.status === 401) {
        return {kind: 'unauthorized', message: f.message};
    }
    if (f.status === 403) {
        return {kind: 'forbidden', message: f.message};
    }
    if (isOutage(f) && (jobRunning || f.id === 'mm_backup.mattermost_unavailable')) {
        return {kind: 'restarting', retryInMs, message: f.message};
    }
    try {
        await fetchSidecarHealth(client.baseUrl);
    } catch (err) {
        const e = err instanceof SidecarUnreachableError ? err : new SidecarUnreachableError('network', String(err));
        return {kind: 'unreachable', failure: e.kind, detail: e.detail};
    }
    if (f.id === 'not_json') {
        return {kind: 'unreachable', failure: 'not_sidecar', detail: f.local ?? f.message};
    }
    return {kind: 'unreachable', failure: 'http', detail: `HTTP ${f.status}: ${f.message}`};
}

/** Runs one request; on success marks the connection ok, on failure records why. */
export async function run<T>(
    dispatch: Dispatch,
    client: BridgeClient,
    fn: () => Promise<T>,
    opts: {jobRunning?: boolean; retryInMs?: number} = {},
): Promise<Result<T>> {
    try {
        const data = await fn();
        noteApiVersion(dispatch, client);
        dispatch(receivedConnection({kind: 'ok'}));
        return {data};
    } catch (err) {
        noteApiVersion(dispatch, client);
        const error = toFailure(err);
        if (error.id === 'response_invalid') {
            dispatch(receivedConnection({kind: 'incompatible', detail: error.local ?? error.message}));
        } else if (
            error.status === 0 ||
            error.status === 401 ||
            error.status === 403 ||
            error.status >= 502 ||
            error.id === 'not_json'
        ) {
            dispatch(receivedConnection(await connectionFor(error, client, !!opts.jobRunning, opts.retryInMs ?? 0)));
        }
        return {error};
    }
}

const reported = new WeakMap<BridgeClient, number>();

/** Tells the store the sidecar's API version when the client saw a new one. */
function noteApiVersion(dispatch: Dispatch, client: BridgeClient): void {
    if (client.apiVersion !== undefined && reported.get(client) !== client.apiVersion) {
        reported.set(client, client.apiVersion);
        dispatch(receivedSidecarApi(client.apiVersion));
    }
}

/** Loads status and snapshots (the dashboard's first screen). */
export async function loadOverview(
    dispatch: Dispatch,
    client: BridgeClient,
    opts: {jobRunning?: boolean; retryInMs?: number} = {},
): Promise<Result<Status>> {
    const status = await run(dispatch, client, () => client.getStatus(), opts);
    if (status.error) {
        return status;
    }
    dispatch(receivedStatus(status.data));
    if (status.data.running_job) {
        dispatch(receivedJob(status.data.running_job));
    }
    const snapshots = await run(dispatch, client, () => client.getSnapshots(), opts);
    if (snapshots.data) {
        dispatch(receivedSnapshots(snapshots.data));
    }
    return status;
}

/** Starts a job and makes it the followed one. */
export async function startJob(
    dispatch: Dispatch,
    client: BridgeClient,
    body: Parameters<BridgeClient['startJob']>[0],
): Promise<Result<JobRecord>> {
    const r = await run(dispatch, client, () => client.startJob(body));
    if (r.data) {
        dispatch(receivedJob(r.data));
    }
    return r;
}
