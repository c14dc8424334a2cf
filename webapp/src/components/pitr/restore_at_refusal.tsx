// The picker's inline refusal of a time it holds: why it cannot be restored (outside the
// window, past or before a WAL gap, in a hole an earlier restore left), and the nearest
// restorable times as buttons that put them into the picker.

import React from 'react';
import {FormattedMessage} from 'react-intl';

import type {Refusal} from './restorable';
import When from './when';

type Props = {
    refusal: Refusal;
    window: {start: string; end: string};
    /** Puts a suggested instant (epoch milliseconds, a whole second) into the picker. */
    onUse: (ms: number) => void;
};

function Why({refusal, window}: Pick<Props, 'refusal' | 'window'>) {
    const start = <When iso={window.start} />;
    const end = <When iso={window.end} />;
    switch (refusal.reason) {
        case 'hole':
            return (
                <FormattedMessage
                    id="mattermost-backup.pitr.refused_hole"
                    defaultMessage="Not restorable: {from} to {to} was held only by timeline {timeline}, which an earlier point-in-time restore abandoned."
                    values={{
                        from: <When iso={refusal.hole.from} />,
                        to: <When iso={refusal.hole.to} />,
                        timeline: refusal.hole.timeline,
                    }}
                />
            );
        case 'before_gap':
            return (
                <FormattedMessage
                    id="mattermost-backup.pitr.refused_before_gap"
                    defaultMessage="Not restorable: a WAL gap lies after this time and no restore crosses it; the recovery window starts at {start}."
                    values={{start}}
                />
            );
        case 'after_gap':
            return (
                <FormattedMessage
                    id="mattermost-backup.pitr.refused_after_gap"
                    defaultMessage="Not restorable: a WAL gap breaks the recovery window; nothing written after {end} can be restored."
                    values={{end}}
                />
            );
        default:
            return (
                <FormattedMessage
                    id="mattermost-backup.pitr.outside"
                    defaultMessage="Choose a time inside the recovery window ({start} to {end})."
                    values={{start, end}}
                />
            );
    }
}

export default function RestoreAtRefusal({refusal, window, onUse}: Props) {
    const {earlier, later} = refusal;
    return (
        <div
            className="error-text"
            role="alert"
            data-testid="restore-at-outside"
            data-reason={refusal.reason}
            style={{flexBasis: '100%'}}
        >
            <Why refusal={refusal} window={window} />
            {(earlier !== undefined || later !== undefined) && (
                <span style={{display: 'inline-flex', gap: 8, alignItems: 'center', marginLeft: 8}}>
                    <FormattedMessage id="mattermost-backup.pitr.nearest" defaultMessage="Nearest restorable:" />
                    {[earlier, later].map(
                        (ms) =>
                            ms !== undefined && (
                                <button
                                    key={ms}
                                    type="button"
                                    className="btn btn-tertiary btn-sm"
                                    data-testid="restore-at-suggestion"
                                    data-ms={ms}
                                    onClick={() => onUse(ms)}
                                >
                                    <When iso={ms} />
                                </button>
                            ),
                    )}
                </span>
            )}
        </div>
    );
}
