/** POST /v1/restore/prepare: what a restore would do, and the token that confirms it. */
import {z} from 'zod';

import {componentId, snapshotRef, timestamp} from './common';

/**
 * A point-in-time target (docs/pitr.md): `latest`, or a time WITH its offset (`2026-12-01
 * 14:31:00+01:00`, `…T13:31:00Z`); the sidecar parses it with the CLI's `restore --at` parser.
 */
export const restoreAt = z.string().trim().min(1).max(64);

/**
 * Either `snapshot_id` (a snapshot restore) or `at` (the database to a point in time, in place,
 * physical mode; since API 3, added without a bump: an older sidecar answers 400 naming `at`).
 * `include` names the components to put back (all of the snapshot's when absent; not with `at`).
 * API 1 called it `components`; that spelling is still taken (not with `include`) for one version.
 */
export const prepareRestoreRequest = z
    .strictObject({
        snapshot_id: snapshotRef.optional(),
        at: restoreAt.optional(),
        include: z.array(componentId).max(20).optional(),
        /** @deprecated API 1's name of `include`. */
        // eslint-disable-next-line @typescript-eslint/no-deprecated -- the schema declares API 1's old name
        components: z.array(componentId).max(20).optional(),
    })
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- reads API 1's old name on purpose
    .refine((b) => !(b.include && b.components), {
        error: 'give include (or its old name components), not both',
        path: ['components'],
    })
    .refine((b) => (b.snapshot_id === undefined) !== (b.at === undefined), {
        error: 'give snapshot_id (a snapshot restore) or at (a point in time), exactly one',
        path: ['snapshot_id'],
    })
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- a point in time restores no chosen components
    .refine((b) => b.at === undefined || (b.include === undefined && b.components === undefined), {
        error: 'a point-in-time restore puts back every file component of its snapshot: leave out include',
        path: ['include'],
    })
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- maps API 1's old name to the new one
    .transform(({components, include, ...rest}) => ({...rest, include: include ?? components}));
export type PrepareRestoreRequest = z.input<typeof prepareRestoreRequest>;

export const restorePreparation = z.object({
    confirmation_token: z.string(),
    expires_at: timestamp,
    /** The snapshot restored; for a point-in-time restore, the file snapshot its files come from. */
    snapshot_id: z.string(),
    /** Point-in-time restores only: the target, in UTC (`…Z`), or `latest`. */
    at: z.string().optional(),
    /** What the restore replaces, one line each, for the admin to read before confirming. */
    overwrites: z.array(z.string()),
    version_check: z.string(),
    safety_snapshot: z.boolean(),
    /** Things to know before confirming (earlier restores' directories left, say). */
    warnings: z.array(z.string()).optional(),
});
export type RestorePreparation = z.infer<typeof restorePreparation>;
