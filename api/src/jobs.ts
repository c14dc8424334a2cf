/** Jobs: GET /v1/jobs, GET /v1/jobs/{id}, POST /v1/jobs, POST /v1/jobs/{id}/cancel, and the SSE stream. */
import {z} from 'zod';

import {backupMode, componentId, snapshotRef, timestamp} from './common';

/** pitr-backup since API 3 (a physical backup with pgBackRest, docs/pitr.md); pitr-enable, pitr-disable since API 4. */
export const jobKind = z.enum([
    'backup',
    'restore',
    'verify',
    'prune',
    'replicate',
    'pitr-backup',
    'pitr-enable',
    'pitr-disable',
]);
export type JobKind = z.infer<typeof jobKind>;
export const jobStatus = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']);
export type JobStatus = z.infer<typeof jobStatus>;
export const trigger = z.enum(['cli', 'schedule', 'console', 'slash', 'api', 'safety']);

export const stepRecord = z.object({
    id: z.string(),
    title: z.string(),
    status: z.enum(['pending', 'running', 'succeeded', 'failed', 'skipped']),
    started_at: timestamp.optional(),
    finished_at: timestamp.optional(),
    duration_ms: z.number().optional(),
    summary: z.string().optional(),
    error: z.string().optional(),
});
export type StepRecord = z.infer<typeof stepRecord>;

export const jobError = z.object({
    code: z.string(),
    message: z.string(),
    hint: z.string().optional(),
    step: z.string().optional(),
    /** Undo steps that failed too, after the job failed (what may be left behind). */
    undo_failed: z.array(z.object({step: z.string(), title: z.string(), error: z.string()})).optional(),
});

/** A follow-up (a backup's off-site copy or prune) that failed while the job itself succeeded. */
export const jobWarning = z.object({
    followUp: z.string(),
    step: z.string(),
    code: z.string(),
    message: z.string(),
    hint: z.string().optional(),
});

/** One job, as GET /v1/jobs/{id}, POST /v1/jobs and every SSE event carry it. */
export const jobRecord = z.object({
    id: z.string(),
    kind: jobKind,
    trigger: z.string(),
    requested_by: z.string().optional(),
    /** The request as the job took it (mode, snapshot_id, deep, dry_run, exclude or include). */
    options: z.record(z.string(), z.unknown()),
    status: jobStatus,
    created_at: timestamp,
    started_at: timestamp.optional(),
    finished_at: timestamp.optional(),
    duration_ms: z.number().optional(),
    steps: z.array(stepRecord),
    current_step: z.string().optional(),
    progress: z
        .object({
            step: z.string(),
            done: z.number(),
            total: z.number().optional(),
            unit: z.string(),
            detail: z.string().optional(),
        })
        .optional(),
    log_tail: z.array(z.object({at: timestamp, level: z.string(), message: z.string()})),
    result: z.record(z.string(), z.unknown()).optional(),
    error: jobError.optional(),
    warnings: z.array(jobWarning).optional(),
});
export type JobRecord = z.infer<typeof jobRecord>;

export const jobList = z.object({jobs: z.array(jobRecord)});
export type JobList = z.infer<typeof jobList>;

export const listJobsQuery = z.object({
    limit: z.coerce.number().int().min(1).max(500).default(50),
    /** Only the jobs that made or worked on this snapshot. */
    snapshot_id: snapshotRef.optional(),
});

/**
 * POST /v1/jobs. A backup names what to leave out (`exclude`), a restore is started from a
 * confirmation token whose preparation named what to put back (`include`) or the point in
 * time (`at`). `pitr-backup` is accepted since API 3, `pitr-enable` and `pitr-disable` since API 4
 * (a request an older sidecar refuses with 400).
 */
export const startJobRequest = z.discriminatedUnion('kind', [
    z.strictObject({
        kind: z.literal('backup'),
        mode: backupMode.optional(),
        exclude: z.array(componentId).max(20).optional(),
        /** Physical mode: a logical dump of the database now, whatever pitr.logicalDumpEveryDays says (`backup --logical`). */
        logical: z.boolean().optional(),
    }),
    z.strictObject({
        kind: z.literal('verify'),
        snapshot_id: snapshotRef.default('latest'),
        deep: z.boolean().default(false),
    }),
    z.strictObject({kind: z.literal('prune'), dry_run: z.boolean().default(false)}),
    z.strictObject({kind: z.literal('replicate')}),
    /** A physical backup (docs/pitr.md); `type` as `mm-backup pitr backup --type` (default by pitr.fullEveryDays). */
    z.strictObject({kind: z.literal('pitr-backup'), type: z.enum(['full', 'diff', 'incr']).optional()}),
    /**
     * Physical mode on or off (`mm-backup pitr enable|disable`). `restart_postgres` is the admin's
     * consent to restart PostgreSQL: only the boolean true gives it; without it only what a reload
     * applies is set and the job's result names what waits for a restart.
     */
    z.strictObject({kind: z.literal('pitr-enable'), restart_postgres: z.boolean().default(false)}),
    z.strictObject({kind: z.literal('pitr-disable'), restart_postgres: z.boolean().default(false)}),
    z.strictObject({
        kind: z.literal('restore'),
        confirmation_token: z.string().regex(/^[a-f0-9]{32}$/, 'is not a confirmation token'),
    }),
]);
/** What a client sends (defaults may be left out). */
export type StartJobRequest = z.input<typeof startJobRequest>;

/** The SSE event names of GET /v1/jobs/{id}/events; each event's data is a jobRecord. */
export const JOB_EVENT_NAMES = [
    'snapshot',
    'job.started',
    'step.started',
    'step.progress',
    'step.finished',
    'step.skipped',
    'step.failed',
    'undo.started',
    'undo.failed',
    'log',
    'job.finished',
] as const;
