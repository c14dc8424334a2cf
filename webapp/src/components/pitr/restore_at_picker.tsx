// "Restore to a point in time": a datetime input bounded by the recovery window (min/max, in
// the admin's own time zone, which is named), or the end of the archive ("latest"). A time the
// sidecar would refuse (outside the window, past a WAL gap, in a hole) is refused here, saying
// why. It only picks the target; the confirmation (what is overwritten, typed consent) is
// RestoreAtModal's.

import React, {useState} from 'react';
import {FormattedMessage, useIntl} from 'react-intl';

import {browserTimeZone, fromLocalInput, offsetOf, toLocalInput} from 'src/local_time';

import RestoreAtRefusal from './restore_at_refusal';
import {restorable, type Limits} from './restorable';

type Props = {
    /** The recovery window (ISO instants from GET /v1/status) and its WAL gap and holes. */
    limits: Limits;
    busy: boolean;
    /** `latest`, or the chosen time with its offset ("2026-12-01T14:31:00+01:00"). */
    onPick: (at: string) => void;
};

export default function RestoreAtPicker({limits, busy, onPick}: Props) {
    const {formatMessage} = useIntl();
    const {start, end} = limits.window;
    const min = toLocalInput(start, 'up');
    const max = toLocalInput(end, 'down');
    const [value, setValue] = useState('');
    const picked = fromLocalInput(value);
    const verdict = picked ? restorable(limits, picked.ms) : undefined;
    // The sidecar cannot reach the end of the archive past a gap that breaks the window.
    const noLatest = !!limits.wal_gap?.broken;
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
                disabled={busy || !verdict?.ok}
                onClick={() => picked && onPick(picked.at)}
            >
                <FormattedMessage id="mattermost-backup.pitr.restore_button" defaultMessage="Restore to this time" />
            </button>
            <button
                type="button"
                className="btn btn-tertiary"
                disabled={busy || noLatest}
                onClick={() => onPick('latest')}
            >
                <FormattedMessage id="mattermost-backup.pitr.restore_latest" defaultMessage="Restore to the latest" />
            </button>
            {noLatest && (
                <span className="help-text" data-testid="restore-at-no-latest">
                    <FormattedMessage
                        id="mattermost-backup.pitr.no_latest"
                        defaultMessage="The latest cannot be reached past the WAL gap."
                    />
                </span>
            )}
            {verdict && !verdict.ok && (
                <RestoreAtRefusal
                    refusal={verdict}
                    window={limits.window}
                    onUse={(ms) => setValue(toLocalInput(new Date(ms).toISOString(), 'down'))}
                />
            )}
        </div>
    );
}
