// Picks the status channel from the teams and channels the admin belongs to, as
// "team-name/channel-name" (what the sidecar stores). If the lists cannot be loaded, the
// admin can still type the value.

import React, {useEffect, useState} from 'react';
import {useIntl} from 'react-intl';

import type {MmChannel, MmTeam} from 'src/client/mattermost_client';

import {useClients} from '../clients_context';

type Props = {value: string; onChange: (value: string) => void; invalid: boolean};

type Option = {value: string; label: string};

function useChannelOptions(): {options: Option[]; failed: boolean} {
    const {mattermost} = useClients();
    const [state, setState] = useState<{options: Option[]; failed: boolean}>({options: [], failed: false});
    useEffect(() => {
        let live = true;
        (async () => {
            const teams: MmTeam[] = await mattermost.getMyTeams();
            const options: Option[] = [];
            for (const team of teams) {
                const channels: MmChannel[] = await mattermost.getMyChannels(team.id);
                for (const c of channels.filter((ch) => ch.type === 'O' || ch.type === 'P')) {
                    options.push({value: `${team.name}/${c.name}`, label: `${team.display_name} › ${c.display_name}`});
                }
            }
            return options;
        })().then(
            (options) => live && setState({options, failed: false}),
            () => live && setState({options: [], failed: true}),
        );
        return () => {
            live = false;
        };
    }, [mattermost]);
    return state;
}

export default function ChannelPicker({value, onChange, invalid}: Props) {
    const {formatMessage} = useIntl();
    const {options, failed} = useChannelOptions();
    const label = formatMessage({id: 'mattermost-backup.settings.status_channel', defaultMessage: 'Status channel'});
    if (failed || !options.length) {
        return (
            <input
                id="mm-backup-status-channel"
                className="form-control"
                aria-label={label}
                aria-invalid={invalid}
                // A format example, not words: it stays literal.
                placeholder="team-name/channel-name"
                value={value}
                onChange={(e) => onChange(e.target.value)}
            />
        );
    }
    const known = options.some((o) => o.value === value);
    return (
        <select
            id="mm-backup-status-channel"
            className="form-control"
            aria-label={label}
            aria-invalid={invalid}
            value={value}
            onChange={(e) => onChange(e.target.value)}
        >
            <option value="">
                {formatMessage({id: 'mattermost-backup.settings.no_channel', defaultMessage: '(no status posts)'})}
            </option>
            {!known && value && <option value={value}>{value}</option>}
            {options.map((o) => (
                <option key={o.value} value={o.value}>
                    {o.label}
                </option>
            ))}
        </select>
    );
}
