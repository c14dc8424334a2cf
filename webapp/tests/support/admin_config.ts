// Builds the `config` prop the System Console passes to custom settings.

import manifest from 'src/manifest';
import type {AdminConfig} from 'src/types/mattermost-webapp';

/** An admin config holding `settings` as this plugin's stored values. */
export function adminConfigWith(settings: Record<string, unknown>): AdminConfig {
    return {PluginSettings: {Plugins: {[manifest.id]: settings}}};
}
