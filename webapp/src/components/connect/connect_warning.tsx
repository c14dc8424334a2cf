// The status panel's warning while the sidecar has no bot: says what that means and offers
// the Connect action itself (a button, not a command to copy), as the Console's own
// warnings do. Connecting reloads the status, which then drops the warning.

import React from 'react';
import {FormattedMessage, useIntl} from 'react-intl';

import AlertOutlineIcon from '@mattermost/compass-icons/components/alert-outline';

import {SETTING_PATH} from './connect_panel';
import {useConnect} from './use_connect';

export default function ConnectWarning() {
    const {formatMessage} = useIntl();
    const {busy, blocked, error, connect, enableAndRetry} = useConnect();
    return (
        <div className="alert alert-warning" role="alert" data-testid="connect-warning">
            <span aria-hidden={true} style={{display: 'inline-flex', verticalAlign: 'text-bottom', marginRight: 6}}>
                <AlertOutlineIcon size={16} />
            </span>
            <FormattedMessage
                id="mattermost-backup.status.not_connected"
                defaultMessage="Not connected to Mattermost: the sidecar cannot post job results and /backup does not work yet."
            />{' '}
            <button
                type="button"
                className="btn btn-sm btn-primary"
                disabled={busy}
                onClick={() => {
                    void connect();
                }}
            >
                <FormattedMessage id="mattermost-backup.status.connect" defaultMessage="Connect now" />
            </button>
            {error && (
                <div role="status" style={{marginTop: 8}}>
                    {error}
                    {blocked && (
                        <>
                            {' '}
                            <FormattedMessage
                                id="mattermost-backup.connect.blocked"
                                defaultMessage="Switch on {path}, or let this page do it:"
                                values={{path: formatMessage(SETTING_PATH[blocked.setting])}}
                            />{' '}
                            <button
                                type="button"
                                className="btn btn-sm btn-primary"
                                disabled={busy}
                                onClick={() => {
                                    void enableAndRetry(blocked);
                                }}
                            >
                                <FormattedMessage
                                    id="mattermost-backup.connect.enable"
                                    defaultMessage="Enable and connect"
                                />
                            </button>
                        </>
                    )}
                </div>
            )}
        </div>
    );
}
