// Plugin entry point: registration only. Mattermost loads dist/main.js, which must call
// window.registerPlugin with the manifest id; the webapp then calls initialize().

import type {Store} from 'redux';

import {navigateTo} from 'src/browser_history';
import DashboardSetting from 'src/components/admin_console/dashboard_setting';
import SlashRoot from 'src/components/slash_root';
import {getTranslations} from 'src/i18n';
import manifest from 'src/manifest';
import {makeSlashCommandHook} from 'src/slash_command';
import {slashDeps} from 'src/slash_runtime';
import reducer from 'src/state/reducer';
import type {PluginClass, PluginRegistry} from 'src/types/mattermost-webapp';

export default class Plugin implements PluginClass {
    public initialize(registry: PluginRegistry, store: Store): void {
        // First, so the messages are in the host's IntlProvider before anything renders.
        // Mattermost calls getTranslations with the user's locale now and on every change.
        registry.registerTranslations(getTranslations);

        // Stored under `plugins-${manifest.id}` by the webapp (see state/selectors.ts).
        registry.registerReducer(reducer);

        // The custom setting draws its sections as Console panels, so the label column is hidden.
        registry.registerAdminConsoleCustomSetting('Dashboard', DashboardSetting, {showTitle: false});
        registry.registerRootComponent(SlashRoot);
        registry.registerSlashCommandWillBePostedHook(makeSlashCommandHook(slashDeps(store, navigateTo)));
    }
}

window.registerPlugin(manifest.id, new Plugin());
