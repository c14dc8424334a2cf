// What limits the recovery window, as rows of its table: the WAL gap (one that breaks the
// window, so nothing after it is restorable, or one that only moves its start past it) and the
// holes an earlier point-in-time restore left (times only an abandoned timeline held), each
// with the sidecar's own words, so the admin sees why the picker refuses a time.

import React from 'react';
import {FormattedMessage} from 'react-intl';

import AlertOutlineIcon from '@mattermost/compass-icons/components/alert-outline';

import type {PitrStatus} from '@mm-backup/api';

import When from './when';

/** The warning mark before a limit's name, in the Console's alert style. */
function Mark() {
    return (
        <span aria-hidden={true} style={{display: 'inline-flex', verticalAlign: 'text-bottom', marginRight: 6}}>
            <AlertOutlineIcon size={16} />
        </span>
    );
}

function GapRow({gap, start}: {gap: NonNullable<PitrStatus['wal_gap']>; start: string | undefined}) {
    const segments = {before: <code>{gap.last_before}</code>, after: <code>{gap.first_after}</code>};
    return (
        <tr data-testid="pitr-wal-gap" data-broken={gap.broken}>
            <th scope="row">
                <Mark />
                <FormattedMessage id="mattermost-backup.pitr.wal_gap" defaultMessage="WAL gap" />
            </th>
            <td className={gap.broken ? 'error-text' : undefined}>
                {gap.broken ? (
                    <FormattedMessage
                        id="mattermost-backup.pitr.wal_gap_broken"
                        defaultMessage="Breaks the window: the WAL after segment {before} up to {after} is missing and no backup was taken after it, so nothing written after the gap can be restored, the latest included. Take a full physical backup (mm-backup pitr backup --type full)."
                        values={segments}
                    />
                ) : (
                    <FormattedMessage
                        id="mattermost-backup.pitr.wal_gap_shortens"
                        defaultMessage="Shortens the window: the WAL after segment {before} up to {after} is missing and no restore crosses it, so the window starts after it{hasStart, select, true {, at {start}} other {}}."
                        values={{...segments, hasStart: start !== undefined, start: start && <When iso={start} />}}
                    />
                )}
                <div className="help-text">
                    <FormattedMessage
                        id="mattermost-backup.pitr.wal_gap_found"
                        defaultMessage="Found {when}"
                        values={{when: <When iso={gap.detected_at} />}}
                    />
                </div>
            </td>
        </tr>
    );
}

function HoleRow({hole}: {hole: NonNullable<PitrStatus['holes']>[number]}) {
    return (
        <tr data-testid="pitr-hole" data-timeline={hole.timeline}>
            <th scope="row">
                <Mark />
                <FormattedMessage id="mattermost-backup.pitr.hole" defaultMessage="Not restorable" />
            </th>
            <td>
                <FormattedMessage
                    id="mattermost-backup.pitr.hole_value"
                    defaultMessage="{from} to {to}: only timeline {timeline} held it, abandoned by an earlier point-in-time restore"
                    values={{from: <When iso={hole.from} />, to: <When iso={hole.to} />, timeline: hole.timeline}}
                />
                <div className="help-text" data-testid="pitr-hole-problem">
                    {hole.problem}
                </div>
            </td>
        </tr>
    );
}

/** The table rows for `pitr`'s gap and holes; nothing when there are none. */
export default function WindowLimits({pitr}: {pitr: PitrStatus}) {
    return (
        <>
            {pitr.wal_gap && <GapRow gap={pitr.wal_gap} start={pitr.window?.start} />}
            {(pitr.holes ?? []).map((h) => (
                <HoleRow key={`${h.timeline}-${h.from}`} hole={h} />
            ))}
        </>
    );
}
