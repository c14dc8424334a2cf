/**
 * `pitr status`: what physical mode looks like now, read only: the state file, the PostgreSQL
 * settings, pg_stat_archiver, and pgBackRest's own view of the stanza.
 */
import type { Config } from '../config/schema';
import { asBridgeError, TimeoutError } from '../core/errors';
import type { StanzaInfo } from '../database/pgbackrest/info';
import { PGBACKREST_DEADLINES } from '../database/pgbackrest/pgbackrest';
import { archiveHealth, type ArchiveHealth, type RecoveryWindow } from '../database/pgbackrest/recovery_window';
import { applyHistory, readLiveHistoryView, type HistoryHole } from '../database/pgbackrest/timelines';
import {
  current,
  MANAGED,
  readArchiver,
  readWaitingSegments,
  type ArchiverStats,
  type ManagedSetting,
} from '../database/pgbackrest/settings';
import type { WalGap } from '../database/pgbackrest/wal_gaps';
import { inspectPitr } from './pitr_site';
import { loadPitrVerifyRecord } from './pitr_verify_record';
import { loadPitrState, type PitrState } from './pitr_state';

export interface PitrStatus {
  phase: PitrState['phase'] | 'off';
  settings: Record<ManagedSetting, { value: string; pendingRestart: boolean }>;
  archiver: ArchiverStats;
  pgbackrestVersion?: string;
  stanza?: StanzaInfo;
  /** Why pgBackRest could not be asked (not installed, no stanza yet). */
  pgbackrestProblem?: string;
  /** What a restore can reach now; absent while no physical backup exists. */
  window?: RecoveryWindow;
  archive: ArchiveHealth;
  /**
   * A gap in the archived WAL that the window had to step over: found along the current history
   * in the repository's listing (detectedAt: this reading) or by the last deep verify.
   */
  walGap?: WalGap & { detectedAt: string; broken: boolean; problem: string };
  /** The live cluster's timeline, whose history the window follows. */
  timeline?: number;
  /** Times inside the window that only an abandoned timeline held (after a point-in-time restore). */
  holes?: HistoryHole[];
  /** Why the timeline history could not be read (the window is then the plain one). */
  historyProblem?: string;
}

export async function pitrStatus(cfg: Config, signal?: AbortSignal): Promise<PitrStatus> {
  const state = await loadPitrState(cfg);
  const site = await inspectPitr(cfg, false, signal);
  const settings = Object.fromEntries(
    MANAGED.map((n) => [
      n,
      { value: current(site.settings, n), pendingRestart: site.settings.settings[n]?.pending_restart ?? false },
    ]),
  ) as PitrStatus['settings'];
  const archiver = await readArchiver(site.su, signal);
  const timeout = Number(current(site.settings, 'archive_timeout')) || cfg.pitr.archiveTimeoutSeconds;
  const archive = archiveHealth(archiver, await readWaitingSegments(site.su, signal), timeout, new Date());
  const status: PitrStatus = { phase: state?.phase ?? 'off', settings, archiver, archive };
  if (!site.pgbackrest) {
    return { ...status, pgbackrestProblem: 'pgBackRest is not installed or does not support this PostgreSQL' };
  }
  status.pgbackrestVersion = site.pgbackrest.version;
  if (!state) return status;
  // A repository that does not answer (a bucket offline) keeps pgBackRest retrying for minutes;
  // info's deadline (PGBACKREST_DEADLINES) stops it, and the archive's health above is known without it.
  try {
    status.stanza = await site.pgbackrest.cli.info(signal);
    // Gaps: along the current timeline's history from the repository's listing (names and times,
    // no WAL read), and what the last deep verify found (pgbackrest verify reads the whole repository).
    const rec = await loadPitrVerifyRecord(cfg);
    const limit = AbortSignal.timeout(HISTORY_TIMEOUT_MS);
    const view = await readLiveHistoryView(
      site.pgbackrest.cli,
      status.stanza,
      site.su,
      signal ? AbortSignal.any([signal, limit]) : limit,
    ).catch((err: unknown) => {
      if (signal?.aborted) throw err;
      // The plain window (and the verify record's gaps) still holds; say why the history is missing.
      status.historyProblem = limit.aborted
        ? `the timeline history in pgBackRest's repository (${site.repoPath}) was not read within ${HISTORY_TIMEOUT_MS / 1000} s`
        : `the timeline history could not be read: ${asBridgeError(err).message}`;
      return undefined;
    });
    const effect = applyHistory(status.stanza, archiver, view, rec?.gaps ?? []);
    status.window = effect.window;
    status.timeline = effect.timeline;
    status.holes = effect.holes;
    if (effect.gap && effect.problem) {
      const fromVerify = !!rec?.gaps.some(
        (g) => g.lastBefore === effect.gap?.lastBefore && g.firstAfter === effect.gap.firstAfter,
      );
      status.walGap = {
        ...effect.gap,
        detectedAt: fromVerify && rec ? rec.at : new Date().toISOString(),
        broken: effect.broken,
        problem: effect.problem,
      };
    }
  } catch (err) {
    if (signal?.aborted) throw err;
    status.pgbackrestProblem =
      err instanceof TimeoutError
        ? `pgBackRest's repository (${site.repoPath}) did not answer within ${PGBACKREST_DEADLINES.info.ms / 1000} s`
        : asBridgeError(err).message;
  }
  return status;
}

/** A status reading waits for the history no longer than for info. */
const HISTORY_TIMEOUT_MS = PGBACKREST_DEADLINES.info.ms;
