// The status panel's warning while the sidecar has no bot, or has a problem that connecting
// again fixes: says what is wrong and offers the Connect action itself (a button, not a
// command to copy). Connecting reloads the status, which then drops the warning.

import React from 'react';
import {FormattedMessage} from 'react-intl';

import AlertOutlineIcon from '@mattermost/compass-icons/components/alert-outline';

import {InlineCode, withoutConnectCommand} from '../common/inline_code';

import ConnectBlockedHint from './connect_blocked';
import {useConnect} from './use_connect';

type Props = {
    connected: boolean;

    /** The status problems Connect fixes (isConnectProblem), as the sidecar words them. */
    problems: string[];
};

export default function ConnectWarning({connected, problems}: Props) {
    const {busy, blocked, error, connect, enableAndRetry} = useConnect();
    return (
        <div className="alert alert-warning" role="alert" data-testid="connect-warning">
            <span aria-hidden={true} style={{display: 'inline-flex', verticalAlign: 'text-bottom', marginRight: 6}}>
                <AlertOutlineIcon size={16} />
            </span>
            {connected ? (
                <FormattedMessage
                    id="mattermost-backup.status.connect_problems"
                    defaultMessage="The connection to Mattermost needs to be set up again:"
                />
            ) : (
                <FormattedMessage
                    id="mattermost-backup.status.not_connected"
                    defaultMessage="Not connected to Mattermost: the sidecar cannot post job results and /backup does not work yet."
                />
            )}{' '}
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
            {problems.length > 0 && (
                <ul style={{margin: '8px 0 0'}}>
                    {problems.map((p) => (
                        <li key={p}>
                            <InlineCode text={withoutConnectCommand(p)} />
                        </li>
                    ))}
                </ul>
            )}
            {error && (
                <div role="status" style={{marginTop: 8}}>
                    {error}
                    {blocked && (
                        <ConnectBlockedHint
                            blocked={blocked}
                            busy={busy}
                            onEnable={(b) => {
                                void enableAndRetry(b);
                            }}
                        />
                    )}
                </div>
            )}
        </div>
    );
}
