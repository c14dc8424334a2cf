// The "Dashboard" custom setting on the plugin's System Console page: builds the clients
// for the configured Sidecar URL and renders the dashboard with them.

import {siteSubpath} from 'src/site_url';
import React, {useMemo} from 'react';
import {FormattedMessage} from 'react-intl';
import {useSelector} from 'react-redux';

import {BridgeClient} from 'src/client/bridge_client';
import {MattermostClient} from 'src/client/mattermost_client';
import {sidecarUrlFromConfig} from 'src/plugin_settings';
import type {CustomSettingProps} from 'src/types/mattermost-webapp';

import {ClientsProvider} from '../clients_context';

import Dashboard from './dashboard';

type Props = Pick<CustomSettingProps, 'config'> & {
    /** Mattermost's base URL; by default the path of the webapp's SiteURL ('' at the root path). */
    siteUrl?: string;
};

export default function DashboardSetting({config, siteUrl: siteUrlProp}: Props) {
    const subpath = useSelector(siteSubpath);
    const siteUrl = siteUrlProp ?? subpath;
    const sidecarUrl = sidecarUrlFromConfig(config);
    const clients = useMemo(
        () => ({bridge: new BridgeClient(sidecarUrl), mattermost: new MattermostClient(siteUrl)}),
        [sidecarUrl, siteUrl],
    );
    return (
        <ClientsProvider clients={clients}>
            <h4>
                <FormattedMessage id="mattermost-backup.dashboard.title" defaultMessage="Backups" />
            </h4>
            <Dashboard sidecarUrl={sidecarUrl} />
        </ClientsProvider>
    );
}
