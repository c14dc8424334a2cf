// "Back up now" with the choice of offline (Mattermost stopped, consistent) or online
// (Mattermost keeps running) mode. The choice shown follows the configured default (which
// arrives with the settings, after this renders) until the admin picks one here.

import React, {useState} from 'react';
import {FormattedMessage, useIntl} from 'react-intl';

import type {BackupMode} from '@mm-backup/api';

type Props = {
    /** The configured default mode; undefined until the settings are loaded (offline is shown then). */
    defaultMode?: BackupMode;
    busy: boolean;
    error: string | null;
    onStart: (mode: BackupMode) => void;
};

export default function BackupNow({defaultMode, busy, error, onStart}: Props) {
    const {formatMessage} = useIntl();
    const [picked, setPicked] = useState<BackupMode | null>(null);
    const mode = picked ?? defaultMode ?? 'offline';
    return (
        <div
            className="mattermost-backup-now"
            style={{display: 'flex', gap: 12, alignItems: 'center', margin: '16px 0'}}
        >
            <button type="button" className="btn btn-primary" disabled={busy} onClick={() => onStart(mode)}>
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
            {error && (
                <span className="error-text" role="alert">
                    {error}
                </span>
            )}
        </div>
    );
}
