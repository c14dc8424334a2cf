/**
 * Physical mode as the status surfaces show it (`mm-backup status`, GET /v1/status, /metrics,
 * the sidecar's archive watch): the recovery window, the archive's health and the backups, in
 * snake_case like the API. Undefined when physical mode was never enabled here.
 */
import type { Config } from '../config/schema';
import { asBridgeError } from '../core/errors';
import { describeHole } from '../database/pgbackrest/timelines';
import { pitrStatus, type PitrStatus } from './pitr_status';
import { loadPitrState } from './pitr_state';
import { plural } from '../core/units';

export interface PitrView {
  phase: PitrStatus['phase'];
  /** ISO times; null while no physical backup exists. */
  window: { start: string; end: string; oldest_backup: string; newest_backup: string } | null;
  archive: {
    state: 'ok' | 'failing' | 'stalled' | 'unknown';
    age_seconds: number | null;
    failed_count: number;
    last_archived_at: string | null;
    last_failed_at: string | null;
    waiting_segments: number;
    problem: string | null;
  };
  backups: Array<{ label: string; type: string; started_at: string; stopped_at: string }>;
  /** Why some of it could not be read (PostgreSQL down, pgBackRest missing). */
  problem: string | null;
  /** A gap in the archived WAL (found along the current history, or by the last deep verify) that limits the window; absent when none. */
  wal_gap?: { last_before: string; first_after: string; detected_at: string; broken: boolean; problem: string };
  /** The live cluster's timeline (the history the window follows); absent when it could not be read. */
  timeline?: number;
  /** Times inside the window that only an abandoned timeline held (after a point-in-time restore); absent when none. */
  holes?: Array<{ from: string; to: string; timeline: number; problem: string }>;
}

const iso = (d: Date | undefined) => (d ? d.toISOString() : null);

export function toPitrView(s: PitrStatus): PitrView {
  const a = s.archive;
  return {
    phase: s.phase,
    window: s.window
      ? {
          start: s.window.start.toISOString(),
          end: s.window.end.toISOString(),
          oldest_backup: s.window.oldestBackup,
          newest_backup: s.window.newestBackup,
        }
      : null,
    archive: {
      state: a.state,
      age_seconds: a.ageSeconds === undefined ? null : Math.round(a.ageSeconds),
      failed_count: a.failedCount,
      last_archived_at: iso(a.lastArchivedAt),
      last_failed_at: iso(a.lastFailedAt),
      waiting_segments: a.waitingSegments,
      problem: a.problem ?? null,
    },
    backups: (s.stanza?.backup ?? []).map((b) => ({
      label: b.label,
      type: b.type,
      started_at: new Date(b.timestamp.start * 1000).toISOString(),
      stopped_at: new Date(b.timestamp.stop * 1000).toISOString(),
    })),
    problem: s.pgbackrestProblem ?? s.historyProblem ?? null,
    ...(s.timeline ? { timeline: s.timeline } : {}),
    ...(s.holes?.length
      ? {
          holes: s.holes.map((h) => ({
            from: h.from.toISOString(),
            to: h.to.toISOString(),
            timeline: h.timeline,
            problem: describeHole(h),
          })),
        }
      : {}),
    ...(s.walGap
      ? {
          wal_gap: {
            last_before: s.walGap.lastBefore,
            first_after: s.walGap.firstAfter,
            detected_at: s.walGap.detectedAt,
            broken: s.walGap.broken,
            problem: s.walGap.problem,
          },
        }
      : {}),
  };
}

/** Reads it all; an error becomes `problem` (status must answer even when PostgreSQL does not). */
export async function readPitrView(cfg: Config, signal?: AbortSignal): Promise<PitrView | undefined> {
  const state = await loadPitrState(cfg).catch(() => undefined);
  if (!state) return undefined;
  try {
    return toPitrView(await pitrStatus(cfg, signal));
  } catch (err) {
    return {
      phase: state.phase,
      window: null,
      archive: {
        state: 'unknown',
        age_seconds: null,
        failed_count: 0,
        last_archived_at: null,
        last_failed_at: null,
        waiting_segments: 0,
        problem: null,
      },
      backups: [],
      problem: asBridgeError(err).message,
    };
  }
}

/** What pitrLines reads: a PitrView, or the API's reading of one (GET /v1/status `pitr`). */
export interface PitrLinesInput {
  window: PitrView['window'];
  archive: Omit<PitrView['archive'], 'state'> & { state: string };
  problem: string | null;
  wal_gap?: { problem: string; detected_at: string };
  holes?: Array<{ problem: string }>;
}

/** Lines for people (terminal and chat). */
export function pitrLines(v: PitrLinesInput): string[] {
  const w = v.window;
  const a = v.archive;
  return [
    w
      ? `Recovery window: ${w.start} … ${w.end} (backups ${w.oldest_backup} … ${w.newest_backup})`
      : 'Recovery window: none yet (no physical backup: mm-backup pitr backup)',
    `WAL archive: ${a.state}${a.age_seconds === null ? '' : `, last segment ${a.age_seconds} s ago`}, ${plural(a.failed_count, 'failure')}${a.waiting_segments ? `, ${a.waiting_segments} waiting` : ''}`,
    ...(a.problem ? [`⚠️ ${a.problem}`] : []),
    ...(v.wal_gap ? [`⚠️ ${v.wal_gap.problem} (found at ${v.wal_gap.detected_at})`] : []),
    ...(v.holes ?? []).map((h) => `⚠️ ${h.problem}`),
    ...(v.problem ? [`⚠️ physical mode: ${v.problem}`] : []),
  ];
}
