// Progress of a job as one number, and the time it will still take, estimated from the
// step list and the current step's done/total (the sidecar reports no overall estimate).

import type {JobRecord} from '@mm-backup/api';

/** Overall progress in [0, 1]: finished steps plus the current step's fraction, over all steps. */
export function jobFraction(job: JobRecord): number {
    if (job.status === 'succeeded') {
        return 1;
    }
    const steps = job.steps.length;
    if (!steps) {
        return 0;
    }
    const finished = job.steps.filter(
        (s) => s.status === 'succeeded' || s.status === 'skipped' || s.status === 'failed',
    ).length;
    const p = job.progress;
    const current = p && p.total ? Math.min(1, p.done / p.total) : 0;
    const running = job.steps.some((s) => s.status === 'running') ? current : 0;
    return Math.min(1, (finished + running) / steps);
}

/** Milliseconds since the job started (or until it finished). */
export function elapsedMs(job: JobRecord, now: number): number {
    if (!job.started_at) {
        return 0;
    }
    const end = job.finished_at ? Date.parse(job.finished_at) : now;
    return Math.max(0, end - Date.parse(job.started_at));
}

/**
 * Linear estimate of the time left, or null when there is too little progress to say
 * (under 2%, where the estimate would swing wildly) or the job is over.
 */
export function remainingMs(job: JobRecord, now: number): number | null {
    if (job.status !== 'running') {
        return null;
    }
    const f = jobFraction(job);
    if (f < 0.02 || f >= 1) {
        return null;
    }
    return (elapsedMs(job, now) * (1 - f)) / f;
}

export function isActive(job: JobRecord | null | undefined): job is JobRecord {
    return !!job && (job.status === 'queued' || job.status === 'running');
}
