// What the dashboard says about its link to the sidecar when that link is not simply
// "ok": still checking, unreachable (with the checklist), session refused, not a system
// admin, or Mattermost restarting during a job.

import React from 'react';
import {FormattedMessage, useIntl} from 'react-intl';

import {formatDuration} from 'src/format';
import {formatText} from 'src/i18n';
import type {Text} from 'src/i18n';
import {SidecarUnreachableError} from 'src/sidecar_health';
import type {Connection} from 'src/state/types';

import SidecarUnreachable from './sidecar_unreachable';

type Props = {
    connection: Connection;
    sidecarUrl: string;
    onRetry: () => void;
};

export default function ConnectionBanner({connection, sidecarUrl, onRetry}: Props) {
    switch (connection.kind) {
        case 'checking':
            return (
                <p role="status">
                    <FormattedMessage
                        id="mattermost-backup.dashboard.checking"
                        defaultMessage="Checking the backup sidecar at {url}…"
                        values={{url: <code>{sidecarUrl}</code>}}
                    />
                </p>
            );
        case 'unreachable':
            return (
                <SidecarUnreachable
                    sidecarUrl={sidecarUrl}
                    error={new SidecarUnreachableError(connection.failure, connection.detail)}
                    onRetry={onRetry}
                />
            );
        case 'unauthorized':
            return (
                <div role="alert" className="alert alert-warning">
                    <FormattedMessage
                        id="mattermost-backup.connection.unauthorized"
                        defaultMessage="The backup sidecar refused your Mattermost session: {message}. Sign out and in again. If the Sidecar URL is a full URL on another origin, the sidecar must list this site in listen.allowedOrigins, and your browser must send cookies to it; a same-origin path such as /mm-backup avoids both."
                        values={{message: connection.message}}
                    />{' '}
                    <RetryButton onRetry={onRetry} />
                </div>
            );
        case 'forbidden':
            return (
                <div role="alert" className="alert alert-danger">
                    <FormattedMessage
                        id="mattermost-backup.connection.forbidden"
                        defaultMessage="Only system admins can manage backups. The sidecar says: {message}"
                        values={{message: connection.message}}
                    />
                </div>
            );
        case 'restarting':
            return (
                <div role="status" className="alert alert-info">
                    <FormattedMessage
                        id="mattermost-backup.connection.restarting"
                        defaultMessage="Mattermost is restarting… The job continues in the sidecar; this page retries in {delay}."
                        values={{delay: formatDuration(connection.retryInMs)}}
                    />
                </div>
            );
        case 'incompatible':
            return (
                <div role="alert" className="alert alert-danger" data-testid="connection-incompatible">
                    <FormattedMessage
                        id="mattermost-backup.connection.incompatible"
                        defaultMessage="The backup sidecar answered, but this page cannot read the answer: {detail}."
                        values={{
                            detail:
                                typeof connection.detail === 'string' ? (
                                    connection.detail
                                ) : (
                                    <LocalText text={connection.detail} />
                                ),
                        }}
                    />{' '}
                    <RetryButton onRetry={onRetry} />
                </div>
            );
        default:
            return null;
    }
}

function LocalText({text}: {text: Text}) {
    const {formatMessage} = useIntl();
    return <>{formatText(formatMessage, text)}</>;
}

function RetryButton({onRetry}: {onRetry: () => void}) {
    return (
        <button type="button" className="btn btn-tertiary btn-sm" onClick={onRetry}>
            <FormattedMessage id="mattermost-backup.unreachable.retry" defaultMessage="Check again" />
        </button>
    );
}
