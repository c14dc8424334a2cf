/**
 * The recovery window (the earliest and latest time a restore can reach) and the health of WAL
 * archiving, computed from pgBackRest's info and pg_stat_archiver. Pure: inputs in, facts out.
 */
import type { StanzaInfo } from './info';
import type { ArchiverStats, WaitingSegments } from './settings';
import { plural } from '../../core/units';

export interface RecoveryWindow {
  /**
   * The oldest backup's stop time: the earliest moment it is consistent at, so the earliest a
   * restore can stop at (a target before it ends recovery before the target is reached).
   */
  start: Date;
  /** The newest time whose WAL is in the repository: when the last segment was archived, or the newest backup's stop. */
  end: Date;
  oldestBackup: string;
  newestBackup: string;
}

/** undefined when no backup exists yet (WAL alone restores nothing). */
export function recoveryWindow(stanza: StanzaInfo | undefined, a: ArchiverStats): RecoveryWindow | undefined {
  const backups = [...(stanza?.backup ?? [])].sort((x, y) => x.timestamp.start - y.timestamp.start);
  const oldest = backups[0];
  const newest = backups[backups.length - 1];
  if (!oldest || !newest) return undefined;
  const newestStop = newest.timestamp.stop * 1000;
  // The last archived segment counts only if it is at or after the newest backup's last segment
  // (segment names of one timeline sort in WAL order); otherwise the backup's own stop is the end.
  const archivedAt = a.last_archived_time ? Date.parse(a.last_archived_time) : NaN;
  const afterBackup =
    !!a.last_archived_wal && (!newest.archive?.stop || a.last_archived_wal.slice(0, 24) >= newest.archive.stop);
  const end = afterBackup && Number.isFinite(archivedAt) ? Math.max(archivedAt, newestStop) : newestStop;
  return {
    start: new Date(oldest.timestamp.stop * 1000),
    end: new Date(end),
    oldestBackup: oldest.label,
    newestBackup: newest.label,
  };
}

export type ArchiveState = 'ok' | 'failing' | 'stalled';

export interface ArchiveHealth {
  state: ArchiveState;
  /** Seconds since the last segment was archived; undefined when none ever was. */
  ageSeconds?: number;
  failedCount: number;
  lastFailedAt?: Date;
  lastArchivedAt?: Date;
  /** Completed segments waiting in pg_wal for archive_command (.ready files). */
  waitingSegments: number;
  /** One sentence for people when the state is not ok. */
  problem?: string;
}

/**
 * failing: the latest attempt failed (last_failed_time after last_archived_time). stalled: a
 * completed segment has waited more than 3 × archive_timeout (WAL is written, since a segment was
 * completed, yet none reaches the repository; a working archive takes it within seconds). The
 * age of the waiting segment, not of the last archived one: after a quiet hour the last archived
 * segment is old while the one just completed is about to go, which is no stall.
 */
export function archiveHealth(
  a: ArchiverStats,
  waiting: WaitingSegments,
  archiveTimeoutSeconds: number,
  now: Date,
): ArchiveHealth {
  const waitingSegments = waiting.count;
  const lastArchivedAt = a.last_archived_time ? new Date(a.last_archived_time) : undefined;
  const lastFailedAt = a.last_failed_time ? new Date(a.last_failed_time) : undefined;
  const ageSeconds = lastArchivedAt ? Math.max(0, (now.getTime() - lastArchivedAt.getTime()) / 1000) : undefined;
  const base = { ageSeconds, failedCount: a.failed_count, lastFailedAt, lastArchivedAt, waitingSegments };
  if (lastFailedAt && (!lastArchivedAt || lastFailedAt > lastArchivedAt)) {
    return {
      ...base,
      state: 'failing',
      problem: `WAL archiving is failing: archive_command failed for ${a.last_failed_wal ?? 'a segment'} at ${lastFailedAt.toISOString()} (${plural(a.failed_count, 'failure')} so far), ${plural(waitingSegments, 'segment')} waiting`,
    };
  }
  const limit = 3 * archiveTimeoutSeconds;
  if (waitingSegments > 0 && waiting.oldestSeconds > limit) {
    return {
      ...base,
      state: 'stalled',
      problem: `WAL archiving is stalled: ${plural(waitingSegments, 'segment')} waiting, the oldest for ${Math.round(waiting.oldestSeconds)} s (more than 3 × archive_timeout = ${limit} s); the last one was archived ${ageSeconds === undefined ? 'never' : `${Math.round(ageSeconds)} s ago`}`,
    };
  }
  return { ...base, state: 'ok' };
}
