// Physical mode in the status area (GET /v1/status `pitr`, present only once it was enabled):
// the recovery window, the WAL archive's health and what could not be read, and the
// point-in-time restore control when there is a window to restore into.

import React from 'react';
import {FormattedMessage} from 'react-intl';

import type {PitrStatus} from '@mm-backup/api';
import {formatDuration} from 'src/format';

import RestoreAtPicker from './restore_at_picker';
import When from './when';
import WindowLimits from './window_limits';

type Props = {
    pitr: PitrStatus;
    /** A job runs: restoring cannot start. */
    busy: boolean;
    /** The admin chose a target (`latest` or a time with its offset): open the confirmation. */
    onRestore: (at: string) => void;
};

export default function RecoveryWindow({pitr, busy, onRestore}: Props) {
    const w = pitr.window;
    const a = pitr.archive;
    const healthy = a.state === 'ok';
    return (
        <div className="mattermost-backup-pitr" data-testid="pitr-status" data-archive-state={a.state}>
            {a.problem && (
                <div className="alert alert-warning" role="alert" data-testid="pitr-archive-problem">
                    {a.problem}
                </div>
            )}
            {pitr.problem && (
                <div className="alert alert-warning" role="alert">
                    <FormattedMessage
                        id="mattermost-backup.pitr.problem"
                        defaultMessage="Physical mode could not be read completely: {problem}"
                        values={{problem: pitr.problem}}
                    />
                </div>
            )}
            <table className="table mattermost-backup-status__table">
                <tbody>
                    <tr data-testid="pitr-window">
                        <th scope="row">
                            <FormattedMessage id="mattermost-backup.pitr.window" defaultMessage="Recovery window" />
                        </th>
                        <td>
                            {w ? (
                                <FormattedMessage
                                    id="mattermost-backup.pitr.window_value"
                                    defaultMessage="{start} to {end}"
                                    values={{start: <When iso={w.start} />, end: <When iso={w.end} />}}
                                />
                            ) : pitr.wal_gap?.broken ? (
                                <FormattedMessage
                                    id="mattermost-backup.pitr.window_none_gap"
                                    defaultMessage="None: the WAL gap below leaves nothing restorable"
                                />
                            ) : (
                                <FormattedMessage
                                    id="mattermost-backup.pitr.window_none"
                                    defaultMessage="None yet: no physical backup has been taken (mm-backup pitr backup)"
                                />
                            )}
                        </td>
                    </tr>
                    <tr data-testid="pitr-archive">
                        <th scope="row">
                            <FormattedMessage id="mattermost-backup.pitr.archive" defaultMessage="WAL archive" />
                        </th>
                        <td className={healthy ? undefined : 'error-text'}>
                            <FormattedMessage
                                id="mattermost-backup.pitr.archive_value"
                                defaultMessage="{state, select, ok {healthy} failing {FAILING} stalled {STALLED} unknown {unknown} other {{state}}}{hasAge, select, true {, last segment archived {age} ago} other {}}, {failures, plural, one {# failure} other {# failures}}"
                                values={{
                                    state: a.state,
                                    hasAge: a.age_seconds !== null,
                                    age: formatDuration(a.age_seconds === null ? null : a.age_seconds * 1000),
                                    failures: a.failed_count,
                                }}
                            />
                        </td>
                    </tr>
                    <WindowLimits pitr={pitr} />
                </tbody>
            </table>
            {w && <RestoreAtPicker limits={{...pitr, window: w}} busy={busy} onPick={onRestore} />}
        </div>
    );
}
