// The live view of the followed job: a progress bar, the current step, elapsed and
// estimated remaining time, and the step list with each step's state.

import React, {useEffect, useState} from 'react';
import {FormattedMessage} from 'react-intl';

import type {JobRecord, StepRecord} from 'src/client/dto';
import {formatDuration} from 'src/format';
import {elapsedMs, isActive, jobFraction, remainingMs} from 'src/job_progress_math';

const STEP_ICON: Record<StepRecord['status'], string> = {pending: '○', running: '◐', succeeded: '✓', failed: '✗', skipped: '–'};

/** Re-renders every second while `on`, so elapsed time moves between polls. */
function useNow(on: boolean): number {
    const [now, setNow] = useState(Date.now());
    useEffect(() => {
        if (!on) {
            return undefined;
        }
        const t = setInterval(() => setNow(Date.now()), 1000);
        return () => clearInterval(t);
    }, [on]);
    return on ? Date.now() : now;
}

function resultText(job: JobRecord): string {
    const r = job.result ?? {};
    if (typeof r.snapshot_id === 'string') {
        return job.kind === 'restore' ? `restored ${r.snapshot_id}` : `snapshot ${r.snapshot_id}`;
    }
    return '';
}

export default function JobProgress({job, onCancel}: {job: JobRecord; onCancel?: () => void}) {
    const active = isActive(job);
    const now = useNow(active);
    const pct = Math.round(jobFraction(job) * 100);
    const remaining = remainingMs(job, now);
    const current = job.steps.find((s) => s.id === job.current_step);
    const barClass = job.status === 'failed' ? 'progress-bar-danger' : job.status === 'succeeded' ? 'progress-bar-success' : '';
    return (
        <div
            className='mattermost-backup-job'
            data-testid='job-progress'
            data-status={job.status}
        >
            <h5>
                <FormattedMessage
                    id='mattermost-backup.job.title'
                    defaultMessage='{kind} {status}'
                    values={{kind: job.kind.charAt(0).toUpperCase() + job.kind.slice(1), status: job.status}}
                />
                {job.status === 'succeeded' && resultText(job) && <span>{` — ${resultText(job)}`}</span>}
            </h5>
            <div
                className='progress'
                style={{height: 16, background: 'rgba(var(--center-channel-color-rgb, 63,67,80), 0.08)', borderRadius: 4}}
            >
                <div
                    className={`progress-bar ${barClass}`}
                    role='progressbar'
                    aria-valuenow={pct}
                    aria-valuemin={0}
                    aria-valuemax={100}
                    aria-label='Job progress'
                    style={{width: `${pct}%`, height: '100%', background: job.status === 'failed' ? 'var(--error-text, #d24b4e)' : 'var(--button-bg, #1c58d9)', borderRadius: 4, transition: 'width .3s'}}
                />
            </div>
            <p data-testid='job-timing'>
                {current && (
                    <FormattedMessage
                        id='mattermost-backup.job.current'
                        defaultMessage='{step}{detail} · '
                        values={{step: current.title, detail: job.progress?.detail ? ` (${job.progress.detail})` : ''}}
                    />
                )}
                <FormattedMessage
                    id='mattermost-backup.job.timing'
                    defaultMessage='{pct}% · elapsed {elapsed}{remaining}'
                    values={{pct, elapsed: formatDuration(elapsedMs(job, now)), remaining: remaining === null ? '' : ` · about ${formatDuration(remaining)} left`}}
                />
            </p>
            {job.error && (
                <div
                    className='alert alert-danger'
                    role='alert'
                >
                    {job.error.message}
                    {job.error.hint && <div>{job.error.hint}</div>}
                </div>
            )}
            <ol
                className='mattermost-backup-job__steps'
                style={{listStyle: 'none', paddingLeft: 0}}
            >
                {job.steps.map((s) => (
                    <li
                        key={s.id}
                        data-step-status={s.status}
                        style={{opacity: s.status === 'pending' ? 0.56 : 1, fontWeight: s.status === 'running' ? 600 : 400}}
                    >
                        {`${STEP_ICON[s.status]} ${s.title}`}
                        {s.duration_ms !== undefined && ` (${formatDuration(s.duration_ms)})`}
                        {s.summary && ` — ${s.summary}`}
                        {s.error && ` — ${s.error}`}
                    </li>
                ))}
            </ol>
            {active && onCancel && (
                <button
                    type='button'
                    className='btn btn-tertiary btn-danger'
                    onClick={onCancel}
                >
                    <FormattedMessage id='mattermost-backup.job.cancel' defaultMessage='Cancel'/>
                </button>
            )}
        </div>
    );
}
