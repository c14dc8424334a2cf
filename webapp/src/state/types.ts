// The plugin's Redux state, registered with registry.registerReducer under
// `plugins-${manifest.id}`. Everything here is plain data (errors are stored as
// ApiFailure objects, not Error instances) so the store stays serialisable.

import type {ConnectState, FieldError, JobRecord, Settings, SnapshotList, Status} from '@mm-backup/api';
import type {LocalMessage, Text} from 'src/i18n';
import type {SidecarFailureKind} from 'src/sidecar_health';

/**
 * A failed request as kept in the store. `message` is the server's text, or the English
 * rendering of `local` when the webapp made the message itself (show `local` then).
 */
export type ApiFailure = {
    status: number;
    id: string;
    message: string;
    hint?: string;
    local?: LocalMessage;
    fields?: FieldError[];
};

/**
 * How the page can talk to the sidecar:
 * - `checking`: first load in progress;
 * - `ok`: the last request succeeded;
 * - `unreachable`: no usable answer (see `failure` for why; the page lists what to check);
 * - `unauthorized`: the sidecar refused the session (expired, or CSRF header missing);
 * - `forbidden`: the signed-in user is not a system admin;
 * - `restarting`: a request failed while a job stops Mattermost; retried with backoff;
 * - `incompatible`: the sidecar answered, but not in the shape this page's API schema reads
 *   (usually a sidecar of another API version: see `sidecarApi`).
 */
export type Connection =
    | {kind: 'checking'}
    | {kind: 'ok'}
    | {kind: 'unreachable'; failure: SidecarFailureKind; detail: Text}
    | {kind: 'unauthorized'; message: string}
    | {kind: 'forbidden'; message: string}
    | {kind: 'restarting'; retryInMs: number; message: string}
    | {kind: 'incompatible'; detail: Text};

/** Where the restore modal was opened from: the System Console page or `/backup restore`. */
export type RestoreModalState = {snapshotId: string; source: 'console' | 'slash'} | null;

export type PluginState = {
    sidecarUrl: string | null;
    connection: Connection;
    status: Status | null;
    snapshots: SnapshotList | null;

    /** The job the page follows: the running one, or the last one started from the page. */
    job: JobRecord | null;
    settings: Settings | null;
    connect: ConnectState | null;
    restoreModal: RestoreModalState;

    /** A /backup answer the page computed itself (no server-side command), shown in a modal. */
    slashAnswer: {title: string; text: string} | null;

    /** The API version the sidecar's answers carry (null until one arrived); compared with this plugin's. */
    sidecarApi: number | null;
};

export const RECEIVED_SIDECAR_URL = 'RECEIVED_SIDECAR_URL';
export const RECEIVED_CONNECTION = 'RECEIVED_CONNECTION';
export const RECEIVED_STATUS = 'RECEIVED_STATUS';
export const RECEIVED_SNAPSHOTS = 'RECEIVED_SNAPSHOTS';
export const RECEIVED_JOB = 'RECEIVED_JOB';
export const RECEIVED_SETTINGS = 'RECEIVED_SETTINGS';
export const RECEIVED_CONNECT_STATE = 'RECEIVED_CONNECT_STATE';
export const RECEIVED_RESTORE_MODAL = 'RECEIVED_RESTORE_MODAL';
export const RECEIVED_SLASH_ANSWER = 'RECEIVED_SLASH_ANSWER';
export const RECEIVED_SIDECAR_API = 'RECEIVED_SIDECAR_API';

export type PluginAction =
    | {type: typeof RECEIVED_SIDECAR_URL; data: string}
    | {type: typeof RECEIVED_CONNECTION; data: Connection}
    | {type: typeof RECEIVED_STATUS; data: Status}
    | {type: typeof RECEIVED_SNAPSHOTS; data: SnapshotList}
    | {type: typeof RECEIVED_JOB; data: JobRecord | null}
    | {type: typeof RECEIVED_SETTINGS; data: Settings}
    | {type: typeof RECEIVED_CONNECT_STATE; data: ConnectState}
    | {type: typeof RECEIVED_RESTORE_MODAL; data: RestoreModalState}
    | {type: typeof RECEIVED_SLASH_ANSWER; data: PluginState['slashAnswer']}
    | {type: typeof RECEIVED_SIDECAR_API; data: number};
