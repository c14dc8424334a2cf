/** Turns "no space left" from any write into the repository into one DiskFullError with figures. */
import { statfsSync } from 'node:fs';
import { DiskFullError } from '../core/errors';
import { formatBytes } from '../core/units';

/** True for the errno codes that mean the disk (or the quota) is full. */
export function isDiskFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/**
 * The DiskFullError for `err`, a failed write of `what` into `dir` (on `disk`, the repository's by
 * default): how much of it had been written when known, and that filesystem's free and total space now.
 */
export function diskFullError(
  err: unknown,
  dir: string,
  what: string,
  written?: number,
  disk = 'the repository disk',
): DiskFullError {
  let figures = '';
  try {
    const s = statfsSync(dir);
    figures = `; ${formatBytes(s.bavail * s.bsize)} free of ${formatBytes(s.blocks * s.bsize)} on ${dir}`;
  } catch {
    /* figures are a courtesy; the error stands without them */
  }
  const quota = (err as NodeJS.ErrnoException).code === 'EDQUOT' ? ' (disk quota exceeded)' : '';
  const part = written ? ` after ${formatBytes(written)} of it` : '';
  // Prune and repository.path only help when the repository's own disk is the full one.
  const hint = disk === 'the repository disk' ? undefined : 'free space on that disk, then run the job again';
  return new DiskFullError(`${disk} is full${quota}: writing ${what} failed${part}${figures}`, {
    cause: err,
    ...(hint ? { hint } : {}),
  });
}
