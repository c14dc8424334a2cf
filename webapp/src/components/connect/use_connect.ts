// Connect from the page (what `mm-backup connect` does from a shell): the admin's session
// creates or reuses the bot and its token in Mattermost, the sidecar stores it and registers
// /backup; then the connect state and the status are loaded again, since connecting may
// have fixed setup problems. Shared by the Connect panel and the status warning's button.

import {useState} from 'react';
import {useIntl} from 'react-intl';
import {useDispatch, useSelector} from 'react-redux';

import {failureMessage, loadOverview, receivedConnectState, run, toFailure} from 'src/state/actions';
import {pluginState} from 'src/state/selectors';

import {useClients} from '../clients_context';

import {connectFromBrowser, ConnectBlockedError, enableSetting} from './connect_flow';
import type {BlockingSetting, ConnectResult} from './connect_flow';

export type Blocked = {setting: BlockingSetting; value: boolean | string};

export function useConnect() {
    const {formatMessage} = useIntl();
    const {bridge, mattermost} = useClients();
    const dispatch = useDispatch();
    const state = useSelector((s: unknown) => pluginState(s).connect);
    const [busy, setBusy] = useState(false);
    const [blocked, setBlocked] = useState<Blocked | null>(null);
    const [error, setError] = useState<string | null>(null);
    const [report, setReport] = useState<ConnectResult | null>(null);

    const refresh = async () => {
        const r = await run(dispatch, bridge, () => bridge.getConnect());
        if (r.data) {
            dispatch(receivedConnectState(r.data));
        }
    };

    const connect = async () => {
        setBusy(true);
        setError(null);
        setBlocked(null);
        try {
            setReport(await connectFromBrowser(mattermost, bridge, state?.status_channel ?? null));
            await refresh();
            await loadOverview(dispatch, bridge);
        } catch (err) {
            if (err instanceof ConnectBlockedError) {
                setBlocked({setting: err.setting, value: err.value});
            }
            const f = toFailure(err);
            setError(`${failureMessage(formatMessage, f)}${f.hint ? ` ${f.hint}` : ''}`);
        } finally {
            setBusy(false);
        }
    };

    /** Switches on the Mattermost setting that blocked connecting, then connects again. */
    const enableAndRetry = async (b: Blocked) => {
        setBusy(true);
        try {
            await enableSetting(mattermost, b.setting, b.value);
        } catch (err) {
            setError(failureMessage(formatMessage, toFailure(err)));
            setBusy(false);
            return;
        }
        setBusy(false);
        await connect();
    };

    return {state, busy, blocked, error, report, refresh, connect, enableAndRetry};
}
