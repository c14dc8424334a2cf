// The live view of the followed job: a progress bar, the current step, elapsed and
// estimated remaining time, and the step list with each step's state.

import React, {useEffect, useState} from 'react';
import {FormattedMessage, useIntl} from 'react-intl';

import CheckCircleIcon from '@mattermost/compass-icons/components/check-circle';
import CircleOutlineIcon from '@mattermost/compass-icons/components/circle-outline';
import CloseCircleIcon from '@mattermost/compass-icons/components/close-circle';
import HelpCircleOutlineIcon from '@mattermost/compass-icons/components/help-circle-outline';
import MinusCircleOutlineIcon from '@mattermost/compass-icons/components/minus-circle-outline';
import SyncIcon from '@mattermost/compass-icons/components/sync';
import type IconProps from '@mattermost/compass-icons/components/props';
import type {JobRecord, StepRecord} from '@mm-backup/api';
import {formatDuration} from 'src/format';
import {ENUM_MESSAGES, selectKey} from 'src/i18n/enum_messages';
import {elapsedMs, isActive, jobFraction, remainingMs} from 'src/job_progress_math';

import SnapshotId from '../common/snapshot_id';

// Compass icons, as Mattermost's own UI. Partial: a newer sidecar may report a status this
// plugin does not know yet.
const STEP_ICON: Partial<Record<StepRecord['status'], React.ComponentType<IconProps>>> = {
    pending: CircleOutlineIcon,
    running: SyncIcon,
    succeeded: CheckCircleIcon,
    failed: CloseCircleIcon,
    skipped: MinusCircleOutlineIcon,
};

const STEP_COLOR: Partial<Record<StepRecord['status'], string>> = {
    succeeded: 'var(--online-indicator, #06d6a0)',
    failed: 'var(--error-text, #d24b4e)',
    running: 'var(--button-bg, #1c58d9)',
};

/** The step's state as an icon, named for screen readers and in the tooltip. */
function StepIcon({status}: {status: StepRecord['status']}) {
    const {formatMessage} = useIntl();
    const name = formatMessage(ENUM_MESSAGES.stepStatus, {status});
    const Icon = STEP_ICON[status] ?? HelpCircleOutlineIcon;
    return (
        <span role="img" aria-label={name} title={name} style={{display: 'inline-flex', verticalAlign: 'text-bottom'}}>
            <Icon size={16} color={STEP_COLOR[status]} />
        </span>
    );
}

/**
 * Re-renders every second while `on`, so elapsed time moves between polls. The clock is read
 * in the effect and the interval, never during render (render stays pure).
 */
function useNow(on: boolean): number {
    const [now, setNow] = useState(() => Date.now());
    useEffect(() => {
        if (!on) {
            return undefined;
        }
        const tick = () => setNow(Date.now());
        const first = setTimeout(tick, 0);
        const t = setInterval(tick, 1000);
        return () => {
            clearTimeout(first);
            clearInterval(t);
        };
    }, [on]);
    return now;
}

/** What a succeeded job produced or used: " — snapshot X" / " — restored X", or null. */
function JobResult({job}: {job: JobRecord}) {
    // pitr-enable/-disable without consent to a restart: what waits for one.
    const pending = job.result?.pending_restart;
    if (
        job.status === 'succeeded' &&
        job.kind.startsWith('pitr-') &&
        (pending === true || (Array.isArray(pending) && pending.length > 0))
    ) {
        return (
            <span data-testid="job-pending-restart">
                {' — '}
                <FormattedMessage
                    id="mattermost-backup.job.result_pending_restart"
                    defaultMessage="waiting for a PostgreSQL restart{hasNames, select, true {: {names}} other {}}"
                    values={{hasNames: Array.isArray(pending), names: Array.isArray(pending) ? pending.join(', ') : ''}}
                />
            </span>
        );
    }
    const target = job.result?.target;
    if (job.status === 'succeeded' && job.kind === 'restore' && typeof target === 'string') {
        return (
            <span>
                {' — '}
                <FormattedMessage
                    id="mattermost-backup.job.result_at"
                    defaultMessage="database restored to {target}"
                    values={{target}}
                />
            </span>
        );
    }
    const snapshot = job.result?.snapshot_id;
    if (job.status !== 'succeeded' || typeof snapshot !== 'string') {
        return null;
    }
    return (
        <span>
            {' — '}
            <FormattedMessage
                id="mattermost-backup.job.result"
                defaultMessage="{kind, select, restore {restored {snapshot}} other {snapshot {snapshot}}}"
                values={{kind: job.kind, snapshot: <SnapshotId id={snapshot} />}}
            />
        </span>
    );
}

export default function JobProgress({job, onCancel}: {job: JobRecord; onCancel?: () => void}) {
    const {formatMessage} = useIntl();
    const active = isActive(job);
    const now = useNow(active);
    const pct = Math.round(jobFraction(job) * 100);
    const remaining = remainingMs(job, now);
    const current = job.steps.find((s) => s.id === job.current_step);
    const barClass =
        job.status === 'failed' ? 'progress-bar-danger' : job.status === 'succeeded' ? 'progress-bar-success' : '';
    return (
        <div className="mattermost-backup-job" data-testid="job-progress" data-status={job.status}>
            <h5>
                <FormattedMessage
                    id="mattermost-backup.job.title"
                    defaultMessage="{kind, select, backup {Backup} restore {Restore} verify {Verification} prune {Prune} replicate {Off-site copy} pitr_backup {Physical backup} pitr_enable {Enabling point-in-time recovery} pitr_disable {Disabling point-in-time recovery} other {{kind}}} {status, select, queued {queued} running {running} succeeded {succeeded} failed {failed} cancelled {cancelled} other {{status}}}"
                    values={{kind: selectKey(job.kind), status: job.status}}
                />
                <JobResult job={job} />
            </h5>
            <div
                className="progress"
                style={{
                    height: 16,
                    background: 'rgba(var(--center-channel-color-rgb, 63,67,80), 0.08)',
                    borderRadius: 4,
                }}
            >
                <div
                    className={`progress-bar ${barClass}`}
                    role="progressbar"
                    aria-valuenow={pct}
                    aria-valuemin={0}
                    aria-valuemax={100}
                    aria-label={formatMessage({
                        id: 'mattermost-backup.job.progress_label',
                        defaultMessage: 'Job progress',
                    })}
                    style={{
                        width: `${pct}%`,
                        height: '100%',
                        background:
                            job.status === 'failed' ? 'var(--error-text, #d24b4e)' : 'var(--button-bg, #1c58d9)',
                        borderRadius: 4,
                        transition: 'width .3s',
                    }}
                />
            </div>
            <p data-testid="job-timing">
                {current && (
                    <FormattedMessage
                        id="mattermost-backup.job.current"
                        defaultMessage="{step}{detail} · "
                        values={{step: current.title, detail: job.progress?.detail ? ` (${job.progress.detail})` : ''}}
                    />
                )}
                {remaining === null ? (
                    <FormattedMessage
                        id="mattermost-backup.job.timing"
                        defaultMessage="{pct}% · elapsed {elapsed}"
                        values={{pct, elapsed: formatDuration(elapsedMs(job, now))}}
                    />
                ) : (
                    <FormattedMessage
                        id="mattermost-backup.job.timing_remaining"
                        defaultMessage="{pct}% · elapsed {elapsed} · about {remaining} left"
                        values={{
                            pct,
                            elapsed: formatDuration(elapsedMs(job, now)),
                            remaining: formatDuration(remaining),
                        }}
                    />
                )}
            </p>
            {job.error && (
                <div className="alert alert-danger" role="alert">
                    {job.error.message}
                    {job.error.hint && <div>{job.error.hint}</div>}
                </div>
            )}
            {job.warnings && job.warnings.length > 0 && (
                <div className="alert alert-warning" role="status" data-testid="job-warnings">
                    <FormattedMessage
                        id="mattermost-backup.job.warnings"
                        defaultMessage="Done with warnings: the snapshot is taken, but what runs after it did not all succeed."
                    />
                    <ul>
                        {job.warnings.map((w) => (
                            <li key={w.step}>
                                {w.message}
                                {w.hint && <div>{w.hint}</div>}
                            </li>
                        ))}
                    </ul>
                </div>
            )}
            <ol className="mattermost-backup-job__steps" style={{listStyle: 'none', paddingLeft: 0}}>
                {job.steps.map((s) => (
                    <li
                        key={s.id}
                        data-step-status={s.status}
                        style={{
                            opacity: s.status === 'pending' ? 0.56 : 1,
                            fontWeight: s.status === 'running' ? 600 : 400,
                        }}
                    >
                        <StepIcon status={s.status} />
                        {` ${s.title}`}
                        {s.duration_ms !== undefined && ` (${formatDuration(s.duration_ms)})`}
                        {s.summary && ` — ${s.summary}`}
                        {s.error && ` — ${s.error}`}
                    </li>
                ))}
            </ol>
            {active && onCancel && (
                <button type="button" className="btn btn-tertiary btn-danger" onClick={onCancel}>
                    <FormattedMessage id="mattermost-backup.job.cancel" defaultMessage="Cancel" />
                </button>
            )}
        </div>
    );
}
