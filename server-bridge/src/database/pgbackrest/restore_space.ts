/**
 * How much disk a physical restore needs where the restored data directory is written: the
 * database's size once restored (`pgbackrest info`'s backup size) plus the WAL that may sit in
 * pg_wal while recovery replays (segments are fetched one at a time and recycled at each
 * restartpoint, so at most about max_wal_size of them; PostgreSQL's default, 1 GiB, is assumed).
 */
import type { BackupInfo } from './info';

const SEGMENT_BYTES = 16 * 1024 * 1024;
/** PostgreSQL's default max_wal_size: what pg_wal holds at most between restartpoints during replay. */
export const REPLAY_WAL_CAP_BYTES = 1024 * 1024 * 1024;

export interface RestoreSpace {
  databaseBytes: number;
  /** The WAL estimate: the segments from the backup's start to `lastSegment`, capped. */
  walBytes: number;
  need: number;
}

/** Segment number (log × 256 + seg) of a 24-hex name with 16 MiB segments; undefined for anything else. */
function segmentNumber(name: string | null | undefined): number | undefined {
  if (!name || !/^[0-9A-F]{24}$/.test(name)) return undefined;
  return parseInt(name.slice(8, 16), 16) * 256 + parseInt(name.slice(16, 24), 16);
}

/** `lastSegment`: the newest archived segment (the end a restore may replay to); unknown: the cap. */
export function restoreSpace(set: BackupInfo, lastSegment?: string): RestoreSpace {
  const databaseBytes = set.info?.size ?? 0;
  const from = segmentNumber(set.archive?.start);
  const to = segmentNumber(lastSegment);
  const segments = from !== undefined && to !== undefined ? Math.max(1, to - from + 1) : Infinity;
  const walBytes = Math.min(segments * SEGMENT_BYTES, REPLAY_WAL_CAP_BYTES);
  return { databaseBytes, walBytes, need: databaseBytes + walBytes };
}

/** "1.2 GiB": sizes in refusals. */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[u]}`;
}
