// The System Console's side of a custom setting's save hooks, as schema_admin_settings.tsx
// has it: `setSaveNeeded` enables Save; Save (after the config patch) runs every registered
// save action and stays enabled when one returns an error.

import {act} from '@testing-library/react';

import type {SaveAction} from 'src/components/admin_console/console_save';

export type FakeConsole = {
    setSaveNeeded: () => void;
    registerSaveAction: (fn: SaveAction) => void;
    unRegisterSaveAction: (fn: SaveAction) => void;
    /** How often setSaveNeeded was called. */
    saveNeededCalls: () => number;
    registered: () => number;
    /** Presses the Console's Save: runs the save actions, returns their errors' messages. */
    save: () => Promise<string[]>;
};

export function fakeConsole(): FakeConsole {
    const actions: SaveAction[] = [];
    let calls = 0;
    return {
        setSaveNeeded: () => {
            calls++;
        },
        registerSaveAction: (fn) => {
            actions.push(fn);
        },
        unRegisterSaveAction: (fn) => {
            const i = actions.indexOf(fn);
            if (i >= 0) {
                actions.splice(i, 1);
            }
        },
        saveNeededCalls: () => calls,
        registered: () => actions.length,
        save: async () => {
            let results: Array<{error?: {message?: string}}> = [];
            await act(async () => {
                results = await Promise.all(actions.map((a) => a()));
            });
            return results.flatMap((r) => (r.error ? [r.error.message ?? ''] : []));
        },
    };
}
