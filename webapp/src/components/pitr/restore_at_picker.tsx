// "Restore to a point in time": a datetime input bounded by the recovery window (min/max, in
// the admin's own time zone, which is named), or the end of the archive ("latest"). It only
// picks the target; the confirmation (what is overwritten, typed consent) is RestoreAtModal's.

import React, {useState} from 'react';
import {FormattedMessage, useIntl} from 'react-intl';

import {browserTimeZone, fromLocalInput, offsetOf, toLocalInput} from 'src/local_time';

type Props = {
    /** The recovery window, ISO instants from GET /v1/status. */
    start: string;
    end: string;
    busy: boolean;
    /** `latest`, or the chosen time with its offset ("2026-12-01T14:31:00+01:00"). */
    onPick: (at: string) => void;
};

export default function RestoreAtPicker({start, end, busy, onPick}: Props) {
    const {formatMessage} = useIntl();
    const min = toLocalInput(start, 'up');
    const max = toLocalInput(end, 'down');
    const [value, setValue] = useState('');
    const picked = fromLocalInput(value);
    const inside = !!picked && picked.ms >= Date.parse(start) && picked.ms <= Date.parse(end);
    const zone = browserTimeZone();
    return (
        <div
            className="mattermost-backup-restore-at"
            data-testid="restore-at"
            style={{display: 'flex', gap: 12, alignItems: 'center', flexWrap: 'wrap', margin: '8px 0 16px'}}
        >
            <label htmlFor="mm-backup-restore-at" style={{margin: 0, fontWeight: 600}}>
                <FormattedMessage
                    id="mattermost-backup.pitr.restore_label"
                    defaultMessage="Restore to a point in time"
                />
            </label>
            <input
                id="mm-backup-restore-at"
                type="datetime-local"
                className="form-control"
                style={{display: 'inline-block', width: 'auto'}}
                step={1}
                min={min}
                max={max}
                value={value}
                aria-label={formatMessage({
                    id: 'mattermost-backup.pitr.restore_input',
                    defaultMessage: 'Point in time to restore to',
                })}
                onChange={(e) => setValue(e.target.value)}
            />
            <span data-testid="restore-at-zone">
                <FormattedMessage
                    id="mattermost-backup.pitr.zone"
                    defaultMessage="Times are in {zone} (UTC{offset})"
                    values={{zone, offset: offsetOf(picked ? new Date(picked.ms) : new Date())}}
                />
            </span>
            <button
                type="button"
                className="btn btn-danger"
                disabled={busy || !picked || !inside}
                onClick={() => picked && onPick(picked.at)}
            >
                <FormattedMessage id="mattermost-backup.pitr.restore_button" defaultMessage="Restore to this time" />
            </button>
            <button type="button" className="btn btn-tertiary" disabled={busy} onClick={() => onPick('latest')}>
                <FormattedMessage id="mattermost-backup.pitr.restore_latest" defaultMessage="Restore to the latest" />
            </button>
            {value !== '' && picked && !inside && (
                <span className="error-text" role="alert" data-testid="restore-at-outside">
                    <FormattedMessage
                        id="mattermost-backup.pitr.outside"
                        defaultMessage="Choose a time inside the recovery window."
                    />
                </span>
            )}
        </div>
    );
}
