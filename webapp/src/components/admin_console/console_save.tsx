// Saving through the System Console's own Save button. The Console gives a custom setting
// `setSaveNeeded` (enables Save) and `registerSaveAction` (runs after its config patch
// succeeds; an `{error}` result keeps Save enabled and shows the message), see
// schema_admin_settings.tsx buildCustomSetting/doSubmit. The page's forms reach them here.

import React, {createContext, useCallback, useContext, useEffect, useRef} from 'react';

import type {CustomSettingProps} from 'src/types/mattermost-webapp';

export type SaveAction = () => Promise<{error?: {message?: string}}>;

/** The Console's save hooks, as the custom setting received them. */
export type ConsoleSave = Pick<CustomSettingProps, 'setSaveNeeded' | 'registerSaveAction' | 'unRegisterSaveAction'>;

const Context = createContext<ConsoleSave | null>(null);

export function ConsoleSaveProvider({value, children}: {value: ConsoleSave; children: React.ReactNode}) {
    return <Context.Provider value={value}>{children}</Context.Provider>;
}

/**
 * Registers `save` with the Console for as long as the caller is mounted (the latest `save`
 * runs, so it may close over state) and returns `changed`, which enables the Console's Save.
 * Outside a Console (no provider) `changed` does nothing and nothing is registered.
 */
export function useConsoleSave(save: SaveAction): {changed: () => void; inConsole: boolean} {
    const host = useContext(Context);
    const latest = useRef(save);
    useEffect(() => {
        latest.current = save;
    });
    useEffect(() => {
        if (!host) {
            return undefined;
        }
        // One stable function per mount: unRegisterSaveAction finds it by identity.
        const action: SaveAction = () => latest.current();
        host.registerSaveAction(action);
        return () => host.unRegisterSaveAction(action);
    }, [host]);
    const changed = useCallback(() => host?.setSaveNeeded(), [host]);
    return {changed, inConsole: host !== null};
}
