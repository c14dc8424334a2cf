/**
 * Staging a copy of a file for the repository: a reflink where the filesystem can, and the error
 * for a failure of our own staged copy (never to be taken for the source vanishing).
 */
import { constants as fsConstants } from 'node:fs';
import { chmod, copyFile } from 'node:fs/promises';
import path from 'node:path';
import { BridgeError, StorageError } from '../core/errors';
import { isDiskFull } from '../storage/disk_full';
import type { Meta } from './file_meta';
import { openListed, type Listed } from './source_open';

/** Errors of FICLONE meaning "this filesystem (pair) cannot clone": not tried again for that staging directory. */
const CANNOT_CLONE = new Set(['ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'EINVAL', 'ENOSYS', 'ENOTTY', 'EBADF']);

/** Staging directories whose filesystem cannot reflink (or not from where files come). */
const noReflink = new Set<string>();

/**
 * Clones `file` into `tmp` (a reflink: shared extents, no data copied) where the filesystem can;
 * false when it cannot, or the clone failed for any other reason (the copy that follows then
 * reports what is wrong, with the side that failed). Only the FORCE flag is safe here: libuv's
 * fallback copy loops forever when the source shrinks while it copies (uv__fs_copyfile sends the
 * size fstat gave until it is sent, and copy_file_range returns 0 at the new end), so a file
 * truncated during an online backup would hang a libuv thread at 100% CPU. The source is opened
 * here first (non-blocking, checked to be a regular file) and cloned through /proc/self/fd: a
 * path swapped for a FIFO since it was listed would otherwise block libuv's open forever. With
 * `listed` the source is checked as openListed does; what that refuses is not cloned (the copy
 * that follows says why). Cloned: what `replaced` the listed file, if anything (see openListed).
 */
export async function cloneInto(
  file: string,
  tmp: string,
  listed?: Listed,
): Promise<{ replaced: Meta | undefined } | undefined> {
  const dir = path.dirname(tmp);
  if (noReflink.has(dir)) return undefined;
  let opened;
  try {
    opened = await openListed(file, listed);
  } catch {
    return undefined;
  }
  const fh = opened.handle;
  try {
    await copyFile(`/proc/self/fd/${fh.fd}`, tmp, fsConstants.COPYFILE_EXCL | fsConstants.COPYFILE_FICLONE_FORCE);
  } catch (err) {
    if (CANNOT_CLONE.has((err as NodeJS.ErrnoException).code ?? '')) noReflink.add(dir);
    return undefined;
  } finally {
    await fh.close();
  }
  // The clone took the source's mode; objects are private like every other staged file.
  await chmod(tmp, 0o600);
  return { replaced: opened.replaced };
}

/** A failure of our own staged copy: the repository's, never to be taken for the source vanishing (ENOENT). */
export function stagingFailure(err: unknown, tmp: string): Error {
  if (isDiskFull(err) || err instanceof BridgeError || (err as Error).name === 'AbortError') return err as Error;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return new StorageError(`cannot stage a copy in ${path.dirname(tmp)}: ${code || (err as Error).message}`, {
    cause: err,
    hint: 'check that the repository (or the staging directory) exists, is writable, and that its disk is healthy',
  });
}
