/** Snapshot and job ids: sortable by time, safe in paths and URLs. */
import { randomBytes, randomInt } from 'node:crypto';

export function newSnapshotId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** How far ahead of this clock an existing snapshot id may be and still be followed. */
const FUTURE_SLACK_MS = 5 * 60 * 1000;

/**
 * A new snapshot id that sorts after the newest of `ids` (the repository's), so that "the newest
 * snapshot" (a backup's parent, `latest`) is always the last one made: two backups in the same
 * second, or a clock that went back a little, would otherwise order by their random suffixes. Ids
 * more than five minutes ahead of this clock are not followed: a name planted in the repository
 * (99991231T235959Z-ffffff) must not push every later id out of the format, or into the future.
 */
export function snapshotIdAfter(ids: readonly string[], now = new Date()): string {
  const id = newSnapshotId(now);
  const ceiling = `${newSnapshotId(new Date(now.getTime() + FUTURE_SLACK_MS)).slice(0, 16)}-ffffff`;
  let newest: string | undefined;
  for (const x of ids) if (x <= ceiling && (newest === undefined || x > newest)) newest = x;
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
