// The "Dashboard" custom setting on the plugin's System Console page: builds the clients
// for the configured Sidecar URL and renders the dashboard with them. It draws no heading of
// its own (the Console's page header names the plugin; each section is a Console panel)
// and hands the Console's save hooks to the page's forms, so the Console's Save button
// saves the backup settings too.

import React, {useMemo} from 'react';
import {useSelector} from 'react-redux';

import {BridgeClient} from 'src/client/bridge_client';
import {MattermostClient} from 'src/client/mattermost_client';
import {sidecarUrlFromConfig} from 'src/plugin_settings';
import {siteSubpath} from 'src/site_url';
import type {CustomSettingProps} from 'src/types/mattermost-webapp';

import {ClientsProvider} from '../clients_context';

import {ConsoleSaveProvider} from './console_save';
import type {ConsoleSave} from './console_save';
import Dashboard from './dashboard';

type Props = Pick<CustomSettingProps, 'config'> &
    Partial<ConsoleSave> & {
        /** Mattermost's base URL; by default the path of the webapp's SiteURL ('' at the root path). */
        siteUrl?: string;
    };

export default function DashboardSetting({
    config,
    siteUrl: siteUrlProp,
    setSaveNeeded,
    registerSaveAction,
    unRegisterSaveAction,
}: Props) {
    const subpath = useSelector(siteSubpath);
    const siteUrl = siteUrlProp ?? subpath;
    const sidecarUrl = sidecarUrlFromConfig(config);
    const clients = useMemo(
        () => ({bridge: new BridgeClient(sidecarUrl), mattermost: new MattermostClient(siteUrl)}),
        [sidecarUrl, siteUrl],
    );
    // The Console passes all three (schema_admin_settings.tsx buildCustomSetting); rendered
    // without them nothing is registered, and edits to the settings stay on the page.
    const save = useMemo(
        () =>
            setSaveNeeded && registerSaveAction && unRegisterSaveAction
                ? {setSaveNeeded, registerSaveAction, unRegisterSaveAction}
                : null,
        [setSaveNeeded, registerSaveAction, unRegisterSaveAction],
    );
    const body = <Dashboard sidecarUrl={sidecarUrl} />;
    return (
        <ClientsProvider clients={clients}>
            {save ? <ConsoleSaveProvider value={save}>{body}</ConsoleSaveProvider> : body}
        </ClientsProvider>
    );
}
