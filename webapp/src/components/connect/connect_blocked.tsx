// What to do when Mattermost refused to connect because one of its settings is off: where the
// setting is in the System Console, and a button that switches it on and connects again.
// Shared by the Connect panel and the status warning.

import React from 'react';
import {FormattedMessage, useIntl} from 'react-intl';

import type {BlockingSetting} from './connect_flow';
import type {Blocked} from './use_connect';

/** Where each setting is in the System Console, in the words of Mattermost's English UI. */
export const SETTING_PATH: Record<BlockingSetting, {id: string; defaultMessage: string}> = {
    EnableBotAccountCreation: {
        id: 'mattermost-backup.connect.path.bots',
        defaultMessage: 'System Console > Integrations > Bot Accounts > Enable Bot Account Creation',
    },
    EnableUserAccessTokens: {
        id: 'mattermost-backup.connect.path.tokens',
        defaultMessage: 'System Console > Integrations > Integration Management > Enable Personal Access Tokens',
    },
    EnableCommands: {
        id: 'mattermost-backup.connect.path.commands',
        defaultMessage: 'System Console > Integrations > Integration Management > Enable Custom Slash Commands',
    },
    AllowedUntrustedInternalConnections: {
        id: 'mattermost-backup.connect.path.untrusted',
        defaultMessage: 'System Console > Environment > Developer > Allow untrusted internal connections to',
    },
};

type Props = {
    blocked: Blocked;
    busy: boolean;
    onEnable: (b: Blocked) => void;
};

/** Inline after the error text: "Switch on <path>, or let this page do it: [Enable and connect]". */
export default function ConnectBlockedHint({blocked, busy, onEnable}: Props) {
    const {formatMessage} = useIntl();
    return (
        <>
            {' '}
            <FormattedMessage
                id="mattermost-backup.connect.blocked"
                defaultMessage="Switch on {path}, or let this page do it:"
                values={{path: formatMessage(SETTING_PATH[blocked.setting])}}
            />{' '}
            <button type="button" className="btn btn-sm btn-primary" disabled={busy} onClick={() => onEnable(blocked)}>
                <FormattedMessage id="mattermost-backup.connect.enable" defaultMessage="Enable and connect" />
            </button>
        </>
    );
}
