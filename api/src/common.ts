/** Building blocks shared by the route schemas. */
import {z} from 'zod';

/** Snapshot ids: UTC start time plus a random hex suffix, e.g. 20260101T030000Z-ab12cd. */
export const SNAPSHOT_ID = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;
export const snapshotId = z.string().regex(SNAPSHOT_ID, 'is not a snapshot id');
/** A snapshot id, or `latest`. */
export const snapshotRef = z.union([z.literal('latest'), snapshotId]);
export const jobId = z.string().regex(/^[a-z0-9]{26}$/, 'is not a job id');

/**
 * A component id (`database`, `data`, ...). Which ids exist is the sidecar's business (its
 * component registry); the schema only checks the spelling, so a plugin keeps reading the
 * snapshots of a sidecar that knows more components than it does.
 */
export const componentId = z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, 'is not a component id');
export type ComponentId = z.infer<typeof componentId>;

export const backupMode = z.enum(['offline', 'online']);
export type BackupMode = z.infer<typeof backupMode>;

/** An ISO 8601 timestamp as the sidecar writes it. */
export const timestamp = z.string();

/** One problem with one field of a request: `path` is dotted (`retention.keep_last`, `backup.exclude.0`). */
export const fieldError = z.object({path: z.string(), message: z.string()});
export type FieldError = z.infer<typeof fieldError>;

/**
 * Every error answer (Mattermost's own error shape). 400s for invalid requests also list
 * `errors`, one per field, so a form can put each message next to its field.
 */
export const errorBody = z.object({
    id: z.string(),
    message: z.string(),
    detailed_error: z.string().optional(),
    request_id: z.string().optional(),
    status_code: z.number(),
    hint: z.string().optional(),
    errors: z.array(fieldError).optional(),
});
export type ErrorBody = z.infer<typeof errorBody>;

/** `{status: "OK"}`, Mattermost's answer to an action without a result. */
export const statusOk = z.object({status: z.literal('OK')});
