/** Snapshot and job ids: sortable by time, safe in paths and URLs. */
import { randomBytes } from 'node:crypto';

export function newSnapshotId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

export function newJobId(): string {
  return randomBytes(13).toString('hex').slice(0, 26);
}
