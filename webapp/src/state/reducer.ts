// The plugin's reducer: one flat object, replaced field by field by RECEIVED_* actions.
// Action types are namespaced by the plugin id, because the webapp's store dispatches
// every plugin's and its own actions through every reducer.

import manifest from 'src/manifest';

import type {PluginAction, PluginState} from './types';

export const INITIAL_STATE: PluginState = {
    sidecarUrl: null,
    connection: {kind: 'checking'},
    status: null,
    snapshots: null,
    job: null,
    settings: null,
    connect: null,
    restoreModal: null,
    slashAnswer: null,
    sidecarApi: null,
};

/** `RECEIVED_STATUS` → `mattermost-backup/RECEIVED_STATUS`. */
export function actionType(name: string): string {
    return `${manifest.id}/${name}`;
}

const FIELD: Record<string, keyof PluginState> = {
    RECEIVED_SIDECAR_URL: 'sidecarUrl',
    RECEIVED_CONNECTION: 'connection',
    RECEIVED_STATUS: 'status',
    RECEIVED_SNAPSHOTS: 'snapshots',
    RECEIVED_JOB: 'job',
    RECEIVED_SETTINGS: 'settings',
    RECEIVED_CONNECT_STATE: 'connect',
    RECEIVED_RESTORE_MODAL: 'restoreModal',
    RECEIVED_SLASH_ANSWER: 'slashAnswer',
    RECEIVED_SIDECAR_API: 'sidecarApi',
};

const PREFIX = `${manifest.id}/`;

export default function reducer(
    state: PluginState = INITIAL_STATE,
    action: {type: string; data?: unknown},
): PluginState {
    if (!action.type.startsWith(PREFIX)) {
        return state;
    }
    const field = FIELD[action.type.slice(PREFIX.length)];
    if (!field) {
        return state;
    }
    return {...state, [field]: (action as PluginAction).data};
}
