/**
 * GET /v1/snapshots/{id}/tree and GET /v1/snapshots/{id}/download: a snapshot's file tree, one
 * directory and one page at a time, and one file or directory downloaded (a directory as a tar).
 * Components that hold secrets are listed by name only and never downloaded.
 */
import {z} from 'zod';

import {componentId, timestamp} from './common';
import {trustState} from './snapshots';

/**
 * Why `p` is not a path inside a component ('' is its root): the same rule as a manifest's entry
 * paths, so a path that no entry can have is refused before anything is read.
 */
export function browsePathProblem(p: string): string | undefined {
    if (p === '') {
        return undefined;
    }
    if (p.length > 4096) {
        return 'is longer than 4096 characters';
    }
    if (p.includes('\0')) {
        return 'contains a NUL byte';
    }
    if (p.startsWith('/')) {
        return 'is absolute (paths are relative to the component root)';
    }
    for (const seg of p.split('/')) {
        if (seg === '') {
            return 'has an empty segment';
        }
        if (seg.split('\\').some((s) => s === '.' || s === '..')) {
            return 'has a "." or ".." segment';
        }
    }
    return undefined;
}

const browsePath = z.string().superRefine((p, ctx) => {
    const bad = browsePathProblem(p);
    if (bad) {
        ctx.addIssue({code: 'custom', message: bad});
    }
});

export const treeQuery = z.strictObject({
    component: componentId,
    /** The directory to list, relative to the component root; '' (the default) is the root. */
    path: browsePath.default(''),
    /** The last name of the previous page: this page starts after it. */
    cursor: z.string().min(1).max(4096).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type TreeQuery = z.input<typeof treeQuery>;

export const treeEntry = z.object({
    name: z.string(),
    type: z.enum(['file', 'dir', 'symlink']),
    /** Bytes of a file; absent for a component that holds secrets. */
    size: z.number().optional(),
    mtime: timestamp.optional(),
    /** A directory's files and their bytes, everything below it counted; absent for secrets. */
    files: z.number().optional(),
    bytes: z.number().optional(),
});
export type TreeEntry = z.infer<typeof treeEntry>;

export const treePage = z.object({
    snapshot_id: z.string(),
    component: componentId,
    path: z.string(),
    /** The component holds secrets (config, environment, keys): names only, nothing to download. */
    secrets: z.boolean(),
    /** Whether the page may offer downloads: not for secrets, and only of a snapshot signed by a trusted key. */
    downloadable: z.boolean(),
    trust: trustState,
    /** The directory's direct children in path order (names compared as UTF-16 code units). */
    entries: z.array(treeEntry),
    /** Pass as `cursor` for the next page; null on the last page. */
    next_cursor: z.string().nullable(),
});
export type TreePage = z.infer<typeof treePage>;

export const downloadQuery = z.strictObject({
    component: componentId,
    /** A file (sent as it is) or a directory ('' is the whole component; sent as a tar). */
    path: browsePath.default(''),
});
export type DownloadQuery = z.input<typeof downloadQuery>;
