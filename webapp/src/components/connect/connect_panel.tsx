// The Connect section: whether the sidecar has a working bot, and a one-click Connect that
// sets up the bot and registers /backup from this page; the CLI command is the fallback when
// a team's /backup cannot be registered from here.

import React, {useEffect} from 'react';
import {FormattedMessage, useIntl} from 'react-intl';

import {formatText} from 'src/i18n';

import {useClients} from '../clients_context';
import {InlineCode, isNotConnectedProblem} from '../common/inline_code';

import ConnectBlockedHint from './connect_blocked';
import {BOT} from './connect_flow';
import {useConnect} from './use_connect';

/** A shell command, the same in every language. */
export const CLI_COMMAND = 'mm-backup --config /etc/mm-backup/config.json connect --admin-token-file /root/admin-token';

export default function ConnectPanel() {
    const {formatMessage} = useIntl();
    const {state, busy, blocked, error, report, refresh, connect: doConnect, enableAndRetry} = useConnect();

    const teams = state?.teams.length
        ? state.teams.join(', ')
        : formatMessage({id: 'mattermost-backup.connect.no_team', defaultMessage: 'no team yet'});

    const {bridge} = useClients();
    // "Not connected" is said above in words; the button below is its action.
    const problems = (state?.problems ?? []).filter((p) => state?.connected || !isNotConnectedProblem(p));
    useEffect(() => {
        void refresh();
    }, [bridge]); // eslint-disable-line react-hooks/exhaustive-deps

    return (
        <div className="mattermost-backup-connect" data-testid="connect-panel">
            {state && (
                <p role="status" className={state.connected ? 'alert alert-success' : 'alert alert-warning'}>
                    {state.connected && state.status_channel && (
                        <FormattedMessage
                            id="mattermost-backup.connect.connected"
                            defaultMessage="Connected: the sidecar posts as its bot in {channel}. /backup is registered in: {teams}."
                            values={{channel: state.status_channel, teams}}
                        />
                    )}
                    {state.connected && !state.status_channel && (
                        <FormattedMessage
                            id="mattermost-backup.connect.connected_no_channel"
                            defaultMessage="Connected: the sidecar posts as its bot. /backup is registered in: {teams}."
                            values={{teams}}
                        />
                    )}
                    {!state.connected && (
                        <FormattedMessage
                            id="mattermost-backup.connect.not_connected"
                            defaultMessage="Not connected: the sidecar has no bot to post status and check /backup users."
                        />
                    )}
                </p>
            )}
            {problems.length > 0 && (
                <ul data-testid="connect-problems">
                    {problems.map((p) => (
                        <li key={p}>
                            <InlineCode text={p} />
                        </li>
                    ))}
                </ul>
            )}
            <button
                type="button"
                className="btn btn-primary"
                disabled={busy}
                onClick={() => {
                    void doConnect();
                }}
            >
                {state?.connected ? (
                    <FormattedMessage id="mattermost-backup.connect.reconnect" defaultMessage="Reconnect the bot" />
                ) : (
                    <FormattedMessage id="mattermost-backup.connect.connect" defaultMessage="Connect" />
                )}
            </button>
            {error && (
                <div className="alert alert-danger" role="alert" style={{marginTop: 8}}>
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
            {report && (
                <p role="status" data-testid="connect-report">
                    <FormattedMessage
                        id="mattermost-backup.connect.done"
                        defaultMessage="The sidecar now uses @{bot}."
                        values={{bot: report.bot_username ?? BOT.username}}
                    />
                </p>
            )}
            {report && report.problems.length > 0 && (
                <ul data-testid="connect-report-problems">
                    {report.problems.map((p) => (
                        <li key={JSON.stringify(p)}>
                            <InlineCode text={formatText(formatMessage, p)} />
                        </li>
                    ))}
                </ul>
            )}
            {report && report.problems.some((p) => typeof p !== 'string' || p.includes('/backup')) && (
                <>
                    <p style={{marginTop: 12}}>
                        <FormattedMessage
                            id="mattermost-backup.connect.cli"
                            defaultMessage="If /backup cannot be registered from this page, run this once on the Mattermost host, with a system admin personal access token in a 0600 file:"
                        />
                    </p>
                    <pre data-testid="connect-cli">{CLI_COMMAND}</pre>
                </>
            )}
        </div>
    );
}
