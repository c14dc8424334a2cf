/** GET /v1/components: the component kinds the sidecar backs up, so the page names them from there, not from a copy. */
import {z} from 'zod';

import {componentId} from './common';

export const componentKind = z.object({
    id: componentId,
    title: z.string(),
    description: z.string(),
    /** A database dump, or a file tree. */
    store: z.enum(['database', 'files']),
    location: z.string(),
    /** Holds secrets (config, environment, keys, databases): listed by name only, never downloadable from the page. */
    secrets: z.boolean().optional(),
});
export type ComponentKind = z.infer<typeof componentKind>;

/** Every kind, in backup order. */
export const componentList = z.object({components: z.array(componentKind)});
export type ComponentList = z.infer<typeof componentList>;
