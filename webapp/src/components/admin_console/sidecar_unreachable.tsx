// What the dashboard shows when the sidecar health check fails: the likely cause for
// the kind of failure, then the three things an admin can check, in order.

import React from 'react';
import {FormattedMessage, useIntl} from 'react-intl';

import {formatText} from 'src/i18n';
import type {SidecarFailureKind, SidecarUnreachableError} from 'src/sidecar_health';

type Props = {
    sidecarUrl: string;
    error: SidecarUnreachableError;
    onRetry: () => void;
};

/** The sidecar's default listen address, as documented for the reverse proxy rule. */
const SIDECAR_LISTEN = '127.0.0.1:8066';

function useCauseText(kind: SidecarFailureKind): string {
    const {formatMessage} = useIntl();
    switch (kind) {
        case 'http':
            return formatMessage({
                id: 'mattermost-backup.unreachable.http',
                defaultMessage:
                    'The URL answered with an HTTP error. Behind a reverse proxy this usually means the sidecar is not running or the proxy rule points to the wrong port.',
            });
        case 'not_sidecar':
            return formatMessage({
                id: 'mattermost-backup.unreachable.not_sidecar',
                defaultMessage:
                    'Something other than the sidecar answered. The reverse proxy probably does not forward this path to the sidecar, so Mattermost answered instead.',
            });
        case 'timeout':
            return formatMessage({
                id: 'mattermost-backup.unreachable.timeout',
                defaultMessage: 'The sidecar did not answer in time.',
            });
        default:
            return formatMessage({
                id: 'mattermost-backup.unreachable.network',
                defaultMessage: 'There was no answer: the sidecar is not running, or the URL, host or port is wrong.',
            });
    }
}

export default function SidecarUnreachable({sidecarUrl, error, onRetry}: Props) {
    const {formatMessage} = useIntl();
    const cause = useCauseText(error.kind);
    // Wraps literal values (URLs, paths, JSON), which stay as they are in every language.
    const code = (text: string) => <code>{text}</code>;
    return (
        <div role="alert" className="alert alert-warning">
            <p>
                <FormattedMessage
                    id="mattermost-backup.unreachable.title"
                    defaultMessage="Cannot reach the backup sidecar at {url}."
                    values={{url: code(sidecarUrl)}}
                />{' '}
                {cause}
            </p>
            <ol>
                <li>
                    <FormattedMessage
                        id="mattermost-backup.unreachable.check_running"
                        defaultMessage="Check that the mm-backup sidecar is running on the Mattermost host. By default it listens on {listen}."
                        values={{listen: code(SIDECAR_LISTEN)}}
                    />
                </li>
                <li>
                    <FormattedMessage
                        id="mattermost-backup.unreachable.check_url"
                        defaultMessage="Check the Sidecar URL setting above. Opening {healthUrl} in this browser should show {ok}."
                        values={{healthUrl: code(`${sidecarUrl}/healthz`), ok: code('"status":"ok"')}}
                    />
                </li>
                <li>
                    <FormattedMessage
                        id="mattermost-backup.unreachable.check_proxy"
                        defaultMessage="If the URL is a path such as {path}, check that the reverse proxy forwards it to {target}. If it is a full URL such as {direct}, check that this port is reachable from your browser."
                        values={{
                            path: code('/mm-backup'),
                            target: code(`http://${SIDECAR_LISTEN}`),
                            direct: code('http://<host>:8066'),
                        }}
                    />
                </li>
            </ol>
            <p>
                <FormattedMessage
                    id="mattermost-backup.unreachable.detail"
                    defaultMessage="Details: {detail}"
                    values={{detail: formatText(formatMessage, error.detail)}}
                />
            </p>
            <button type="button" className="btn btn-secondary" onClick={onRetry}>
                <FormattedMessage id="mattermost-backup.unreachable.retry" defaultMessage="Check again" />
            </button>
        </div>
    );
}
