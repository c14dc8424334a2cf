// Reads the plugin's slice out of the webapp's (or a test's) root state.

import manifest from 'src/manifest';

import {INITIAL_STATE} from './reducer';
import type {PluginState} from './types';

/** The key registry.registerReducer stores the reducer under. */
export const STATE_KEY = `plugins-${manifest.id}`;

export function pluginState(root: unknown): PluginState {
    return (root as Record<string, PluginState | undefined>)[STATE_KEY] ?? INITIAL_STATE;
}
