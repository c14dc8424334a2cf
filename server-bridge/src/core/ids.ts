/** Snapshot and job ids: sortable by time, safe in paths and URLs. */
import { randomBytes, randomInt } from 'node:crypto';

export function newSnapshotId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/**
 * A new snapshot id that sorts after `newest` (the repository's newest id), so that "the newest
 * snapshot" (a backup's parent, `latest`) is always the last one made: two backups in the same
 * second, or a clock that went back, would otherwise order by their random suffixes.
 */
export function snapshotIdAfter(newest: string | undefined, now = new Date()): string {
  const id = newSnapshotId(now);
  if (newest === undefined || id > newest) return id;
  const [stamp = '', suffix = ''] = newest.split('-');
  const n = parseInt(suffix, 16);
  if (n < 0xffffff) return `${stamp}-${(n + 1 + randomInt(0xffffff - n)).toString(16).padStart(6, '0')}`;
  // The same second is used up: the next one.
  const t = Date.parse(
    `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`,
  );
  return newSnapshotId(new Date(t + 1000));
}

export function newJobId(): string {
  return randomBytes(13).toString('hex').slice(0, 26);
}
