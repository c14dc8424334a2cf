/** POST /v1/restore/prepare: what a restore would do, and the token that confirms it. */
import {z} from 'zod';

import {componentId, snapshotRef, timestamp} from './common';

/**
 * `include` names the components to put back (all of the snapshot's when absent). API 1
 * called it `components`; that spelling is still taken (not with `include`) for one version.
 */
export const prepareRestoreRequest = z
    .strictObject({
        snapshot_id: snapshotRef,
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
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- maps API 1's old name to the new one
    .transform(({components, include, ...rest}) => ({...rest, include: include ?? components}));
export type PrepareRestoreRequest = z.input<typeof prepareRestoreRequest>;

export const restorePreparation = z.object({
    confirmation_token: z.string(),
    expires_at: timestamp,
    snapshot_id: z.string(),
    /** What the restore replaces, one line each, for the admin to read before confirming. */
    overwrites: z.array(z.string()),
    version_check: z.string(),
    safety_snapshot: z.boolean(),
});
export type RestorePreparation = z.infer<typeof restorePreparation>;
