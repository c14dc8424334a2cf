// "Back up now" with the choice of offline (Mattermost stopped, consistent) or online
// (Mattermost keeps running) mode. The choice shown follows the configured default (which
// arrives with the settings, after this renders) until the admin picks one here. In physical
// mode a snapshot refers to a pgBackRest backup; "with a logical dump" asks for a dump now
// (`mm-backup backup --logical`), and is shown only then.

import React, {useState} from 'react';
import {FormattedMessage, useIntl} from 'react-intl';

import type {BackupMode} from '@mm-backup/api';

type Props = {
    /** The configured default mode; undefined until the settings are loaded (offline is shown then). */
    defaultMode?: BackupMode;
    /** Physical mode is on (status `pitr`): the logical-dump option is offered. */
    physical?: boolean;
    busy: boolean;
    error: string | null;
    /** `logical` is true only when the option is shown and ticked. */
    onStart: (mode: BackupMode, logical: boolean) => void;
};

export default function BackupNow({defaultMode, physical = false, busy, error, onStart}: Props) {
    const {formatMessage} = useIntl();
    const [picked, setPicked] = useState<BackupMode | null>(null);
    const [logical, setLogical] = useState(false);
    const mode = picked ?? defaultMode ?? 'offline';
    return (
        <div
            className="mattermost-backup-now"
            style={{display: 'flex', gap: 12, alignItems: 'center', margin: '16px 0'}}
        >
            <button
                type="button"
                className="btn btn-primary"
                disabled={busy}
                onClick={() => onStart(mode, physical && logical)}
            >
                <FormattedMessage id="mattermost-backup.now.button" defaultMessage="Back up now" />
            </button>
            <label style={{margin: 0, fontWeight: 400}}>
                <FormattedMessage id="mattermost-backup.now.mode" defaultMessage="Mode" />{' '}
                <select
                    className="form-control"
                    style={{display: 'inline-block', width: 'auto'}}
                    aria-label={formatMessage({id: 'mattermost-backup.now.mode_label', defaultMessage: 'Backup mode'})}
                    value={mode}
                    onChange={(e) => setPicked(e.target.value as BackupMode)}
                >
                    <option value="offline">
                        {formatMessage({
                            id: 'mattermost-backup.mode.offline',
                            defaultMessage: 'Offline (stops Mattermost, consistent)',
                        })}
                    </option>
                    <option value="online">
                        {formatMessage({
                            id: 'mattermost-backup.mode.online',
                            defaultMessage: 'Online (Mattermost keeps running)',
                        })}
                    </option>
                </select>
            </label>
            {physical && (
                <label style={{margin: 0, fontWeight: 400}}>
                    <input
                        type="checkbox"
                        checked={logical}
                        disabled={busy}
                        onChange={(e) => setLogical(e.target.checked)}
                    />{' '}
                    <FormattedMessage
                        id="mattermost-backup.now.logical"
                        defaultMessage="With a logical dump of the database (instead of a pgBackRest reference)"
                    />
                </label>
            )}
            {error && (
                <span className="error-text" role="alert">
                    {error}
                </span>
            )}
        </div>
    );
}
