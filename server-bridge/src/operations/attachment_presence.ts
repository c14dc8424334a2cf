/**
 * After a point-in-time restore: which files the restored database references (FileInfo rows:
 * file, thumbnail, preview) are not on disk. Read-only; a missing one is reported, not fatal.
 */
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { throwIfAborted } from '../core/errors';
import type { DbTarget } from '../database/dsn';
import { fileInfoPaths } from '../database/file_info_paths';

export interface AttachmentPresence {
  /** Paths looked up. */
  checked: number;
  missingCount: number;
  /** The first missing paths (relative to the file store), at most `limit`. */
  missing: string[];
}

/** Looks every referenced path up under `root`, 64 at a time; lists at most `limit` missing ones. */
export async function checkAttachments(
  db: DbTarget,
  root: string,
  opts: { signal?: AbortSignal; limit?: number; onProgress?: (checked: number) => void } = {},
): Promise<AttachmentPresence> {
  const limit = opts.limit ?? 50;
  const r: AttachmentPresence = { checked: 0, missingCount: 0, missing: [] };
  for await (const page of fileInfoPaths(db)) {
    const paths = page.flatMap((row) => row.paths);
    for (let i = 0; i < paths.length; i += 64) {
      throwIfAborted(opts.signal);
      const batch = paths.slice(i, i + 64);
      const found = await Promise.all(batch.map((p) => present(root, p)));
      batch.forEach((p, j) => {
        if (found[j]) return;
        r.missingCount++;
        if (r.missing.length < limit) r.missing.push(p);
      });
      r.checked += batch.length;
    }
    opts.onProgress?.(r.checked);
  }
  return r;
}

async function present(root: string, p: string): Promise<boolean> {
  // A path that would leave the file store is not Mattermost's: counted as missing, never followed.
  const full = path.resolve(root, p);
  if (!full.startsWith(`${path.resolve(root)}/`)) return false;
  return (await lstat(full).catch(() => undefined))?.isFile() ?? false;
}
