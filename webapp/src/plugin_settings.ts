// Reads this plugin's settings out of the admin config the System Console passes in,
// applying plugin.json defaults, because Mattermost stores nothing until an admin saves.

import manifest from 'src/manifest';
import type {AdminConfig} from 'src/types/mattermost-webapp';

/** The manifest default of a top-level setting, or undefined when it has none. */
export function manifestDefault(key: string): unknown {
    const setting = manifest.settings_schema.settings.find((s) => s.key.toLowerCase() === key.toLowerCase());
    return setting && 'default' in setting ? setting.default : undefined;
}

/**
 * The stored value of setting `key`, or its manifest default when unset.
 * Keys are compared in lower case: the Console stores them lower-cased, but values
 * written through the API or by hand keep their case.
 */
export function readPluginSetting(config: AdminConfig | undefined, key: string): unknown {
    const values = config?.PluginSettings?.Plugins?.[manifest.id] ?? {};
    const wanted = key.toLowerCase();
    const found = Object.keys(values).find((k) => k.toLowerCase() === wanted);
    const value = found === undefined ? undefined : values[found];
    return value === undefined || value === null || value === '' ? manifestDefault(key) : value;
}

/** The sidecar base URL without a trailing slash, e.g. "/mm-backup" or "http://host:8066". */
export function sidecarUrlFromConfig(config: AdminConfig | undefined): string {
    const value = readPluginSetting(config, 'SidecarURL');
    const url = typeof value === 'string' ? value.trim() : '';
    return url.replace(/\/+$/, '');
}
