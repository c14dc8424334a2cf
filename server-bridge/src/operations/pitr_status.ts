/**
 * `pitr status`: what physical mode looks like now, read only: the state file, the PostgreSQL
 * settings, pg_stat_archiver, and pgBackRest's own view of the stanza.
 */
import type { Config } from '../config/schema';
import { asBridgeError, TimeoutError } from '../core/errors';
import type { StanzaInfo } from '../database/pgbackrest/info';
import { PGBACKREST_DEADLINES } from '../database/pgbackrest/pgbackrest';
import {
  archiveHealth,
  recoveryWindow,
  type ArchiveHealth,
  type RecoveryWindow,
} from '../database/pgbackrest/recovery_window';
import {
  current,
  MANAGED,
  readArchiver,
  readWaitingSegments,
  type ArchiverStats,
  type ManagedSetting,
} from '../database/pgbackrest/settings';
import { applyGaps, type WalGap } from '../database/pgbackrest/wal_gaps';
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
  /** A gap in the archived WAL the last deep verify found that the window had to step over. */
  walGap?: WalGap & { detectedAt: string; broken: boolean; problem: string };
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
    status.window = recoveryWindow(status.stanza, archiver);
    // Gaps are found by pgbackrest verify (deep verify), which reads the whole repository: the
    // last one's findings are applied here rather than running it on every reading.
    const rec = await loadPitrVerifyRecord(cfg);
    if (rec?.gaps.length) {
      const effect = applyGaps(status.window, status.stanza, rec.gaps);
      status.window = effect.window;
      if (effect.gap && effect.problem) {
        status.walGap = { ...effect.gap, detectedAt: rec.at, broken: effect.broken, problem: effect.problem };
      }
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
