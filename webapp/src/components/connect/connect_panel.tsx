// The Connect section: whether the sidecar has a working bot, and a one-click Connect that
// sets up the bot and registers /backup from this page; the CLI command is the fallback when
// a team's /backup cannot be registered from here.

import React, {useEffect, useState} from 'react';
import {FormattedMessage} from 'react-intl';
import {useDispatch, useSelector} from 'react-redux';

import type {ConnectReport} from 'src/client/dto';
import {loadOverview, receivedConnectState, run, toFailure} from 'src/state/actions';
import {pluginState} from 'src/state/selectors';

import {useClients} from '../clients_context';

import {connectFromBrowser, ConnectBlockedError, enableSetting} from './connect_flow';
import type {BlockingSetting} from './connect_flow';

const SETTING_PATH: Record<BlockingSetting, string> = {
    EnableBotAccountCreation: 'System Console > Integrations > Bot Accounts > Enable Bot Account Creation',
    EnableUserAccessTokens: 'System Console > Integrations > Integration Management > Enable Personal Access Tokens',
    EnableCommands: 'System Console > Integrations > Integration Management > Enable Custom Slash Commands',
    AllowedUntrustedInternalConnections: 'System Console > Environment > Developer > Allow untrusted internal connections to',
};

export const CLI_COMMAND = 'mm-backup --config /etc/mattermost-backup.json connect --admin-token-file /root/admin-token';

export default function ConnectPanel() {
    const {bridge, mattermost} = useClients();
    const dispatch = useDispatch();
    const state = useSelector((s: unknown) => pluginState(s).connect);
    const [busy, setBusy] = useState(false);
    const [blocked, setBlocked] = useState<{setting: BlockingSetting; value: boolean | string} | null>(null);
    const [error, setError] = useState<string | null>(null);
    const [report, setReport] = useState<ConnectReport | null>(null);

    const refresh = async () => {
        const r = await run(dispatch, bridge, () => bridge.getConnect());
        if (r.data) {
            dispatch(receivedConnectState(r.data));
        }
    };
    useEffect(() => {
        void refresh();
    }, [bridge]); // eslint-disable-line react-hooks/exhaustive-deps

    const doConnect = async () => {
        setBusy(true);
        setError(null);
        setBlocked(null);
        try {
            setReport(await connectFromBrowser(mattermost, bridge, state?.status_channel ?? null));
            await refresh();

            // The status lists setup problems, which connecting may have fixed.
            await loadOverview(dispatch, bridge);
        } catch (err) {
            if (err instanceof ConnectBlockedError) {
                setBlocked({setting: err.setting, value: err.value});
            }
            const f = toFailure(err);
            setError(`${f.message}${f.hint ? ` ${f.hint}` : ''}`);
        } finally {
            setBusy(false);
        }
    };

    const enableAndRetry = async (b: {setting: BlockingSetting; value: boolean | string}) => {
        setBusy(true);
        try {
            await enableSetting(mattermost, b.setting, b.value);
        } catch (err) {
            setError(toFailure(err).message);
            setBusy(false);
            return;
        }
        setBusy(false);
        await doConnect();
    };

    return (
        <div className='mattermost-backup-connect' data-testid='connect-panel'>
            {state && (
                <p role='status' className={state.connected ? 'alert alert-success' : 'alert alert-warning'}>
                    {state.connected ? (
                        <FormattedMessage
                            id='mattermost-backup.connect.connected'
                            defaultMessage='Connected: the sidecar posts as its bot{channel}. /backup is registered in: {teams}.'
                            values={{channel: state.status_channel ? ` in ${state.status_channel}` : '', teams: state.teams.length ? state.teams.join(', ') : 'no team yet'}}
                        />
                    ) : (
                        <FormattedMessage id='mattermost-backup.connect.not_connected' defaultMessage='Not connected: the sidecar has no bot to post status and check /backup users.'/>
                    )}
                </p>
            )}
            {state && state.problems.length > 0 && <ul data-testid='connect-problems'>{state.problems.map((p) => <li key={p}>{p}</li>)}</ul>}
            <button type='button' className='btn btn-primary' disabled={busy} onClick={doConnect}>
                {state?.connected ? (
                    <FormattedMessage id='mattermost-backup.connect.reconnect' defaultMessage='Reconnect the bot'/>
                ) : (
                    <FormattedMessage id='mattermost-backup.connect.connect' defaultMessage='Connect'/>
                )}
            </button>
            {error && (
                <div className='alert alert-danger' role='alert' style={{marginTop: 8}}>
                    {error}
                    {blocked && (
                        <>
                            {' '}
                            <FormattedMessage
                                id='mattermost-backup.connect.blocked'
                                defaultMessage='Switch on {path}, or let this page do it:'
                                values={{path: SETTING_PATH[blocked.setting]}}
                            />
                            {' '}
                            <button type='button' className='btn btn-sm btn-primary' disabled={busy} onClick={() => enableAndRetry(blocked)}>
                                <FormattedMessage id='mattermost-backup.connect.enable' defaultMessage='Enable and connect'/>
                            </button>
                        </>
                    )}
                </div>
            )}
            {report && (
                <p role='status' data-testid='connect-report'>
                    <FormattedMessage
                        id='mattermost-backup.connect.done'
                        defaultMessage='The sidecar now uses @{bot}.'
                        values={{bot: report.bot_username ?? 'mm-backup'}}
                    />
                </p>
            )}
            {report && report.problems.length > 0 && (
                <ul data-testid='connect-report-problems'>
                    {report.problems.map((p) => <li key={p}>{p}</li>)}
                </ul>
            )}
            {report && report.problems.some((p) => p.includes('/backup')) && (
                <>
                    <p style={{marginTop: 12}}>
                        <FormattedMessage
                            id='mattermost-backup.connect.cli'
                            defaultMessage='If /backup cannot be registered from this page, run this once on the Mattermost host, with a system admin personal access token in a 0600 file:'
                        />
                    </p>
                    <pre data-testid='connect-cli'>{CLI_COMMAND}</pre>
                </>
            )}
        </div>
    );
}
