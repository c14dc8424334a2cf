// The plugin and the sidecar are installed separately, so one may be older than the other.
// When the API version the sidecar's answers carry is not this plugin's, the page says so,
// and which one to upgrade, instead of failing oddly on answers it cannot read.

import {API_VERSION} from '@mm-backup/api';
import React from 'react';
import {FormattedMessage} from 'react-intl';

type Props = {
    /** The sidecar's API version (null until an answer arrived). */
    sidecarApi: number | null;

    /** The sidecar's own version, when its status could be read. */
    sidecarVersion?: string;
};

export default function ApiSkewBanner({sidecarApi, sidecarVersion}: Props) {
    if (sidecarApi === null || sidecarApi === API_VERSION) {
        return null;
    }
    const values = {sidecar: sidecarApi, plugin: API_VERSION, version: sidecarVersion ?? '?'};
    return (
        <div role="alert" className="alert alert-warning" data-testid="api-skew">
            {sidecarApi < API_VERSION ? (
                <FormattedMessage
                    id="mattermost-backup.skew.sidecar_older"
                    defaultMessage="The backup sidecar (mm-backup {version}) speaks API v{sidecar}, this plugin v{plugin}: upgrade the sidecar on the Mattermost host to the release of this plugin. Until then, some of this page may not work."
                    values={values}
                />
            ) : (
                <FormattedMessage
                    id="mattermost-backup.skew.plugin_older"
                    defaultMessage="The backup sidecar (mm-backup {version}) speaks API v{sidecar}, this plugin v{plugin}: upgrade this plugin (System Console › Plugins) to the release of the sidecar. Until then, some of this page may not work."
                    values={values}
                />
            )}
        </div>
    );
}
