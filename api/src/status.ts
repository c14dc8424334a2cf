/** GET /v1/status and GET /healthz. */
import {z} from 'zod';

import {backupMode, timestamp} from './common';
import {jobError, jobRecord, jobStatus} from './jobs';

export const lastBackup = z.object({
    snapshot_id: z.string(),
    finished_at: timestamp,
    mode: backupMode,
    trigger: z.string(),
    bytes: z.number(),
    new_bytes: z.number(),
    duration_ms: z.number(),
    downtime_ms: z.number(),
    verification: z.enum(['not_verified', 'ok', 'failed']),
});
export type LastBackup = z.infer<typeof lastBackup>;

/** The job lock: `stale` when its holder was killed (the next job or sidecar start repairs it). */
export const lockView = z.object({
    state: z.enum(['free', 'held', 'stale']),
    job_id: z.string().optional(),
    kind: z.string().optional(),
    since: timestamp.optional(),
    pid: z.number().optional(),
    host: z.string().optional(),
    mattermost_stopped: z.boolean().optional(),
    safety_snapshot_id: z.string().optional(),
    overwriting: z.boolean().optional(),
    message: z.string(),
});

/** A job of the last 7 days whose process was killed (error code INTERRUPTED). */
export const interruptedJob = z.object({
    id: z.string(),
    kind: z.string(),
    trigger: z.string(),
    created_at: timestamp,
    finished_at: timestamp.optional(),
    message: z.string(),
    hint: z.string().optional(),
});

/** The sidecar's last repair after a killed job. */
export const recovery = z.object({
    at: timestamp,
    job_id: z.string(),
    kind: z.string(),
    action: z.enum(['nothing', 'started', 'rolled_back', 'half_restored']),
    safety_snapshot_id: z.string().nullable(),
    mattermost_running: z.boolean(),
    message: z.string(),
    error: jobError.pick({code: true, message: true, hint: true}).nullable(),
});

/** Physical mode (docs/pitr.md): present only when `pitr enable` was run. Since API 3. */
export const pitrStatus = z.object({
    phase: z.string(),
    /** The earliest and latest time a point-in-time restore can reach; null before the first physical backup. */
    window: z
        .object({start: timestamp, end: timestamp, oldest_backup: z.string(), newest_backup: z.string()})
        .nullable(),
    archive: z.object({
        /** ok, failing (archive_command fails), stalled (segments wait, none archived for 3 × archive_timeout), unknown. */
        state: z.string(),
        age_seconds: z.number().nullable(),
        failed_count: z.number(),
        last_archived_at: timestamp.nullable(),
        last_failed_at: timestamp.nullable(),
        waiting_segments: z.number(),
        problem: z.string().nullable(),
    }),
    backups: z.array(z.object({label: z.string(), type: z.string(), started_at: timestamp, stopped_at: timestamp})),
    problem: z.string().nullable(),
    /**
     * A gap in the archived WAL that limits the window (docs/pitr.md): found along the live
     * timeline's history in pgBackRest's listing (detected_at: that reading) or by the last deep verify.
     */
    wal_gap: z
        .object({
            last_before: z.string(),
            first_after: z.string(),
            detected_at: timestamp,
            broken: z.boolean(),
            problem: z.string(),
        })
        .optional(),
    /** The live cluster's timeline, whose history the window follows. */
    timeline: z.number().int().optional(),
    /** Times inside the window that only an abandoned timeline held (after a point-in-time restore): not restorable. */
    holes: z
        .array(z.object({from: timestamp, to: timestamp, timeline: z.number().int(), problem: z.string()}))
        .optional(),
    /** When the sidecar last read it (it reads every minute, not per request). */
    checked_at: timestamp,
});
export type PitrStatus = z.infer<typeof pitrStatus>;

/**
 * PostgreSQL left down by a job of ours (docs/pitr.md, "PostgreSQL left down"): present while the
 * marker beside the signing key is there; mm-backup retries before every job, at the sidecar's
 * start and every few minutes, and removes it once PostgreSQL runs. An added field of API 4.
 */
export const postgresDown = z.object({
    /** When it was first recorded; null when the marker cannot be read (then it is only shown). */
    since: timestamp.nullable(),
    reason: z.string(),
    /** false: retries only look whether it runs (its data directory may not be the right one). */
    auto_start: z.boolean(),
    /** The start command of physical mode's cluster; null when it cannot be told (no state). */
    start_command: z.string().nullable(),
    /** The sidecar's last retry; null before its first. */
    last_retry: z
        .object({at: timestamp, outcome: z.enum(['started', 'running', 'down']), message: z.string()})
        .nullable(),
    /** What happened and what to do, in one paragraph. */
    message: z.string(),
});
export type PostgresDown = z.infer<typeof postgresDown>;

export const status = z.object({
    /** The API version the sidecar speaks (absent: 1, before versioning). */
    api_version: z.number().int().optional(),
    mattermost: z.object({
        url: z.string(),
        reachable: z.boolean(),
        state: z.string(),
        detail: z.string().optional(),
        version: z.string().nullable().optional(),
        schema_version: z.number().optional(),
    }),
    sidecar: z.object({
        version: z.string(),
        connected: z.boolean(),
        problems: z.array(z.string()),
        /** What the config file says that is deprecated or ignored (e.g. an old key still read). */
        config_notices: z.array(z.string()).optional(),
    }),
    repository: z.object({
        path: z.string(),
        location: z.string(),
        snapshots: z.number(),
        bytes: z.number(),
        free_bytes: z.number().nullable(),
        total_bytes: z.number().nullable(),
    }),
    last_backup: lastBackup.nullable(),
    last_backup_job: z
        .object({id: z.string(), status: jobStatus, finished_at: timestamp.optional(), error: jobError.optional()})
        .nullable(),
    next_backup: timestamp.nullable(),
    running_job: jobRecord.nullable(),
    lock: lockView.optional(),
    interrupted_jobs: z.array(interruptedJob).optional(),
    recovery: recovery.nullable().optional(),
    pitr: pitrStatus.optional(),
    postgres_down: postgresDown.nullable().optional(),
});
export type Status = z.infer<typeof status>;

/** GET /healthz: no session needed, no secrets. */
export const health = z.object({
    status: z.literal('ok'),
    version: z.string(),
    api_version: z.number().int().optional(),
});
export type Health = z.infer<typeof health>;
