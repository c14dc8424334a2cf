// Types for the part of Mattermost's webapp plugin API this plugin uses (registry
// methods, custom-setting props, window globals). Mattermost publishes no package for
// them; the starter template keeps a hand-written file like this one. Source of truth:
// mattermost/mattermost webapp/channels/src/plugins/registry.ts and
// components/admin_console/schema_admin_settings.tsx.

import type React from 'react';
import type {Store} from 'redux';

/** Mattermost's admin config as the System Console passes it; only the plugin part is typed. */
export type AdminConfig = {
    PluginSettings?: {
        /** Setting values by plugin id, then by setting key (lower-cased by the Console). */
        Plugins?: Record<string, Record<string, unknown> | undefined>;
    };
};

/** Props the System Console passes to a component registered for a `custom` setting. */
export type CustomSettingProps = {
    /** Config path of the setting, e.g. `PluginSettings.Plugins.mattermost-backup.dashboard`; pass it to onChange. */
    id: string;
    label: string;
    helpText: React.ReactNode;

    /** The stored value, or undefined until an admin has saved one. */
    value: unknown;
    disabled: boolean;
    config: AdminConfig;
    license: Record<string, string>;
    setByEnv: boolean;

    /** Stages a value and enables Save. */
    onChange: (id: string, value: unknown) => void;
    setSaveNeeded: () => void;

    /** `fn` runs after the config patch succeeds on Save. */
    registerSaveAction: (fn: () => Promise<{error?: {message?: string}}>) => void;
    unRegisterSaveAction: (fn: () => Promise<{error?: {message?: string}}>) => void;
};

/** Props the System Console passes to a component registered for a `custom: true` section. */
export type CustomSectionProps = {
    /** The section's settings, already rendered by the Console. */
    settingsList: React.ReactNode[];
    sectionTitle?: string;

    /** Undefined for plugin sections, which have title/subtitle instead. */
    sectionDescription?: string;
};

/** Context the webapp passes to slash-command hooks. */
export type SlashCommandArgs = {
    channel_id: string;
    team_id: string;
    root_id?: string;
};

/**
 * What a slash-command hook returns: `{}` swallows the command, `{message, args}` passes
 * it on (possibly rewritten), `{error}` stops and shows the message.
 */
export type SlashCommandResult =
    {message: string; args: SlashCommandArgs} | {error: {message: string}} | Record<string, never>;

export type SlashCommandWillBePostedHook = (message: string, args: SlashCommandArgs) => Promise<SlashCommandResult>;

/** The subset of PluginRegistry this plugin calls. Most methods return a registration id. */
export interface PluginRegistry {
    registerAdminConsoleCustomSetting(
        key: string,
        component: React.ComponentType<CustomSettingProps>,
        options?: {showTitle?: boolean},
    ): string;
    registerAdminConsoleCustomSection(key: string, component: React.ComponentType<CustomSectionProps>): string;
    registerSlashCommandWillBePostedHook(hook: SlashCommandWillBePostedHook): string;
    registerReducer(reducer: (state: any, action: {type: string}) => unknown): string; // eslint-disable-line @typescript-eslint/no-explicit-any -- each plugin's reducer has its own state type
    registerRootComponent(component: React.ComponentType): string;

    /**
     * The webapp calls `getTranslationsForLocale(locale)` with the current user's locale at
     * registration and again on each language change, and merges the result into its
     * messages (actions/views/root.ts registerPluginTranslationsSource, loadTranslations).
     * Unlike the other methods it returns nothing.
     */
    registerTranslations(getTranslationsForLocale: (locale: string) => Record<string, string>): void;
    unregisterComponent(componentId: string): void;
}

/** What window.registerPlugin receives. */
export interface PluginClass {
    initialize(registry: PluginRegistry, store: Store): void | Promise<void>;
    uninitialize?(): void;
}

declare global {
    interface Window {
        registerPlugin(pluginId: string, plugin: PluginClass): void;

        /** Set by the Mattermost webapp; absent outside it. */
        WebappUtils?: {browserHistory: {push(path: string): void}};
    }
}
