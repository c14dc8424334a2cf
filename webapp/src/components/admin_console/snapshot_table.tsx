// The snapshot list (GET /v1/snapshots), newest first, with per-snapshot actions:
// verify, deep verify, restore, manifest and the log of the last job about it.

import React from 'react';
import {FormattedDate, FormattedMessage, FormattedTime, useIntl} from 'react-intl';

import type {SnapshotListEntry, SnapshotList} from '@mm-backup/api';
import {formatBytes} from 'src/format';
import {ENUM_MESSAGES} from 'src/i18n/enum_messages';

import SnapshotId from '../common/snapshot_id';

/** Dates and sizes stay on one line each ("Dec 02, 2026 3:41 PM", "1.4 MB"). */
const NOWRAP: React.CSSProperties = {whiteSpace: 'nowrap'};

export type SnapshotAction = 'verify' | 'deep_verify' | 'restore' | 'manifest' | 'log';

type Props = {
    list: SnapshotList;
    busy: boolean;
    onAction: (action: SnapshotAction, snapshot: SnapshotListEntry) => void;
};

const ACTIONS = {
    verify: {id: 'mattermost-backup.snapshots.action.verify', defaultMessage: 'Verify'},
    deepVerify: {id: 'mattermost-backup.snapshots.action.deep_verify', defaultMessage: 'Deep verify'},
    manifest: {id: 'mattermost-backup.snapshots.action.manifest', defaultMessage: 'Manifest'},
    log: {id: 'mattermost-backup.snapshots.action.log', defaultMessage: 'Log'},
    restore: {id: 'mattermost-backup.snapshots.action.restore', defaultMessage: 'Restore'},
};

const TRUST_HELP = {
    id: 'mattermost-backup.snapshots.trust_help',
    defaultMessage:
        '{state, select, unsigned {Made before snapshots were signed: run mm-backup sign-snapshots on the sidecar host to verify and sign it.} other {Not signed by a trusted key: it may have been written by someone else. Restore refuses it; see docs/security.md.}}',
};

function Action({
    label,
    onClick,
    disabled,
    danger,
}: {
    label: string;
    onClick: () => void;
    disabled?: boolean;
    danger?: boolean;
}) {
    return (
        <button
            type="button"
            className={`btn btn-sm ${danger ? 'btn-danger' : 'btn-tertiary'}`}
            disabled={disabled}
            onClick={onClick}
        >
            {label}
        </button>
    );
}

export default function SnapshotTable({list, busy, onAction}: Props) {
    const {formatMessage} = useIntl();
    if (!list.snapshots.length) {
        return (
            <p data-testid="snapshots-empty">
                <FormattedMessage
                    id="mattermost-backup.snapshots.empty"
                    defaultMessage='No snapshots yet. "Back up now" takes the first one.'
                />
            </p>
        );
    }
    const showOffsite = list.snapshots.some((s) => s.offsite !== null);
    return (
        <>
            {list.offsite_warning && <div className="alert alert-warning">{list.offsite_warning}</div>}
            {list.broken.length > 0 && (
                <div className="alert alert-warning">
                    <FormattedMessage
                        id="mattermost-backup.snapshots.broken"
                        defaultMessage="Unreadable snapshots: {list}"
                        values={{list: list.broken.map((b) => `${b.id} (${b.problem})`).join(', ')}}
                    />
                </div>
            )}
            {/* Ids never break: a narrow page scrolls the table instead. */}
            <div style={{overflowX: 'auto'}}>
                <table className="table mattermost-backup-snapshots" data-testid="snapshot-table">
                    <thead>
                        <tr>
                            <th>
                                <FormattedMessage id="mattermost-backup.snapshots.date" defaultMessage="Date" />
                            </th>
                            <th>
                                <FormattedMessage id="mattermost-backup.snapshots.id" defaultMessage="Snapshot" />
                            </th>
                            <th>
                                <FormattedMessage id="mattermost-backup.snapshots.trigger" defaultMessage="Trigger" />
                            </th>
                            <th>
                                <FormattedMessage id="mattermost-backup.snapshots.mode" defaultMessage="Mode" />
                            </th>
                            <th>
                                <FormattedMessage id="mattermost-backup.snapshots.size" defaultMessage="Size" />
                            </th>
                            <th>
                                <FormattedMessage id="mattermost-backup.snapshots.new" defaultMessage="New data" />
                            </th>
                            <th>
                                <FormattedMessage
                                    id="mattermost-backup.snapshots.verified"
                                    defaultMessage="Verification"
                                />
                            </th>
                            {showOffsite && (
                                <th>
                                    <FormattedMessage
                                        id="mattermost-backup.snapshots.offsite"
                                        defaultMessage="Off-site"
                                    />
                                </th>
                            )}
                            <th />
                        </tr>
                    </thead>
                    <tbody>
                        {list.snapshots.map((s) => (
                            <tr key={s.id} data-snapshot-id={s.id}>
                                <td style={NOWRAP}>
                                    <FormattedDate
                                        value={new Date(s.finished_at)}
                                        year="numeric"
                                        month="short"
                                        day="2-digit"
                                    />{' '}
                                    <FormattedTime value={new Date(s.finished_at)} />
                                </td>
                                <td>
                                    <SnapshotId id={s.id} />
                                    {s.trust !== 'signed' && (
                                        <span
                                            className={`label ${s.trust === 'untrusted' ? 'label-danger' : 'label-warning'}`}
                                            data-testid="snapshot-trust"
                                            title={formatMessage(TRUST_HELP, {state: s.trust})}
                                            style={{marginLeft: 6}}
                                        >
                                            {formatMessage(ENUM_MESSAGES.trust, {state: s.trust})}
                                        </span>
                                    )}
                                </td>
                                <td>{formatMessage(ENUM_MESSAGES.trigger, {trigger: s.trigger})}</td>
                                <td>{formatMessage(ENUM_MESSAGES.mode, {mode: s.mode})}</td>
                                <td style={NOWRAP}>{formatBytes(s.bytes)}</td>
                                <td style={NOWRAP}>{formatBytes(s.new_bytes)}</td>
                                <td>{formatMessage(ENUM_MESSAGES.verification, {state: s.verification.state})}</td>
                                {showOffsite && (
                                    <td>
                                        {s.offsite === null
                                            ? '–'
                                            : formatMessage(ENUM_MESSAGES.offsite, {state: s.offsite})}
                                    </td>
                                )}
                                <td>
                                    {/* The actions wrap onto a second line rather than widen the table. */}
                                    <div style={{display: 'flex', flexWrap: 'wrap', gap: 4}}>
                                        <Action
                                            label={formatMessage(ACTIONS.verify)}
                                            disabled={busy}
                                            onClick={() => onAction('verify', s)}
                                        />
                                        <Action
                                            label={formatMessage(ACTIONS.deepVerify)}
                                            disabled={busy}
                                            onClick={() => onAction('deep_verify', s)}
                                        />
                                        <Action
                                            label={formatMessage(ACTIONS.manifest)}
                                            onClick={() => onAction('manifest', s)}
                                        />
                                        <Action label={formatMessage(ACTIONS.log)} onClick={() => onAction('log', s)} />
                                        <Action
                                            label={formatMessage(ACTIONS.restore)}
                                            danger={true}
                                            disabled={busy || s.trust !== 'signed'}
                                            onClick={() => onAction('restore', s)}
                                        />
                                    </div>
                                </td>
                            </tr>
                        ))}
                    </tbody>
                </table>
            </div>
        </>
    );
}
