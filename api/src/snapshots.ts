/** GET /v1/snapshots, GET /v1/snapshots/{id}, GET /v1/snapshots/{id}/manifest. */
import {z} from 'zod';

import {backupMode, componentId, timestamp} from './common';

export const verificationState = z.enum(['not_verified', 'ok', 'deep_ok', 'failed']);
export type VerificationState = z.infer<typeof verificationState>;
export const trustState = z.enum(['signed', 'unsigned', 'untrusted']);
export type TrustState = z.infer<typeof trustState>;
export const offsiteState = z.enum(['present', 'absent', 'unknown']);

export const snapshot = z.object({
    id: z.string(),
    started_at: timestamp,
    finished_at: timestamp,
    mode: backupMode,
    trigger: z.string(),
    bytes: z.number(),
    new_bytes: z.number(),
    files: z.number(),
    files_read: z.number(),
    duration_ms: z.number(),
    downtime_ms: z.number(),
    mattermost_version: z.string().optional(),
    schema_version: z.number().optional(),
    components: z.array(
        z.object({
            id: componentId,
            status: z.string(),
            reason: z.string().optional(),
            files: z.number(),
            bytes: z.number(),
        }),
    ),
    verification: z.object({state: verificationState, at: timestamp.optional(), issues: z.number().optional()}),
    /** Signed by a trusted key, unsigned (made before signing), or untrusted; the sidecar restores only signed ones. */
    trust: trustState,
});
export type Snapshot = z.infer<typeof snapshot>;

/** A snapshot in the list: also whether the off-site copy has it (null: no off-site target configured). */
export const snapshotListEntry = snapshot.extend({offsite: offsiteState.nullable()});
export type SnapshotListEntry = z.infer<typeof snapshotListEntry>;

export const snapshotList = z.object({
    snapshots: z.array(snapshotListEntry),
    /** Manifests that exist but cannot be read, with why. */
    broken: z.array(z.object({id: z.string(), problem: z.string()})),
    offsite_warning: z.string().nullable(),
});
export type SnapshotList = z.infer<typeof snapshotList>;

/** The manifest as stored (its own format, versioned by its `format` field; shown as JSON, not interpreted). */
export const manifest = z.record(z.string(), z.unknown());
export type Manifest = z.infer<typeof manifest>;
