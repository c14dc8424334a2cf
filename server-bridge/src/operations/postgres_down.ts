/**
 * The retry of a "PostgreSQL left down" marker (jobs/postgres_down_marker.ts), run with the job
 * lock held: before every job takes its work (lock.ts), at the sidecar's start and periodically
 * while it runs (service/postgres_down_watch.ts). It starts the cluster physical mode's state
 * names with recover_pitr_restart.ts, and removes the marker only once PostgreSQL runs.
 */
import { asBridgeError, BridgeError } from '../core/errors';
import { redact } from '../core/redact';
import type { EngineContext } from '../jobs/context';
import {
  clearPostgresDownMarker,
  readPostgresDownMarker,
  writePostgresDownMarker,
  type PostgresDown,
} from '../jobs/postgres_down_marker';
import { ensurePitrCluster, pitrStartCommand } from './recover_pitr_restart';
import { readPitrRestoreMarker } from './restore_at_marker';

/** Where docs/pitr.md says what to do. */
export const POSTGRES_DOWN_DOCS = 'docs/pitr.md, "PostgreSQL left down"';
/** How often the sidecar tries again while the marker is there (service/postgres_down_watch.ts). */
export const POSTGRES_RETRY_MINUTES = 5;

export interface PostgresDownRetry {
  /** started: it was down and runs now; running: it ran already; down: it is still down. */
  outcome: 'started' | 'running' | 'down';
  marker: PostgresDown;
  /** One paragraph for the log, the post and a refused job: what happened and what to do. */
  message: string;
  /** Why it is still down (outcome 'down'). */
  error?: BridgeError;
}

/**
 * Records that PostgreSQL is left down (never throws: a failure to record is logged, and the
 * caller's own error still says PostgreSQL is down). `autoStart` false: retries only look.
 */
export async function markPostgresDown(
  ec: Pick<EngineContext, 'trust'>,
  reason: string,
  log: (level: 'error', message: string) => void,
  autoStart = true,
): Promise<void> {
  await writePostgresDownMarker(ec.trust.keyFile, { reason: redact(reason), autoStart }).catch((err: unknown) => {
    log('error', `could not record that PostgreSQL is down: ${asBridgeError(err).message}`);
  });
}

/**
 * What the admin should do, for a message: the start command when it can be told, and the docs.
 * Without physical mode's state no retry can look whether PostgreSQL runs, so the marker (`file`)
 * would refuse every job for good: then it says to remove it by hand once PostgreSQL runs.
 */
export async function whatToDo(ec: Pick<EngineContext, 'cfg'>, file?: string): Promise<string> {
  const cmd = await pitrStartCommand(ec.cfg);
  const retries = cmd
    ? `mm-backup tries again before every job, when the sidecar starts and every ${POSTGRES_RETRY_MINUTES} minutes`
    : `physical mode's state is gone, so mm-backup cannot look whether it runs${file ? `: once it does, remove ${file} by hand` : ''}`;
  return `read PostgreSQL's log, fix what keeps it from starting, then start it${cmd ? `: ${cmd}` : ''} (${POSTGRES_DOWN_DOCS}); ${retries}`;
}

/** undefined when no marker is there; otherwise what was found and done. Never throws. */
export async function retryPostgresDown(
  ec: EngineContext,
  log: (level: 'info' | 'warn' | 'error', message: string) => void,
): Promise<PostgresDownRetry | undefined> {
  const marker = await readPostgresDownMarker(ec.trust.keyFile).catch(() => undefined);
  if (!marker) return undefined;
  const since = marker.readable ? ` since ${marker.since}` : '';
  // A point-in-time restore's repair still pending: its data directory may not be the old one yet.
  const restorePending = !!(await readPitrRestoreMarker(ec.trust.keyFile).catch(() => undefined));
  const start = marker.autoStart && marker.readable && !restorePending;
  let outcome: PostgresDownRetry['outcome'];
  let error: BridgeError | undefined;
  try {
    const r = await ensurePitrCluster(ec.cfg, log, { start, why: `PostgreSQL was left down${since}` });
    outcome = r.state;
    if (r.state === 'down') {
      const why = marker.readable
        ? restorePending
          ? 'a point-in-time restore still has its data directory to put back'
          : marker.reason
        : `${marker.reason}, so it is not acted on`;
      error = new BridgeError('PROCESS_FAILED', `it is not started automatically: ${why}`);
    }
  } catch (err) {
    outcome = 'down';
    error = asBridgeError(err);
  }
  if (outcome === 'down') {
    const message = `⚠️ PostgreSQL IS DOWN${since}: ${marker.reason}. ${start ? 'Starting it again failed' : 'Not started'}: ${redact(error?.message ?? '')}. To do: ${await whatToDo(ec, marker.file)}.`;
    log('error', message);
    return { outcome, marker, message, error };
  }
  let cleared = '';
  try {
    await clearPostgresDownMarker(ec.trust.keyFile);
  } catch (err) {
    cleared = ` The marker ${marker.file} could not be removed (${asBridgeError(err).message}): remove it by hand.`;
  }
  const message =
    outcome === 'started'
      ? `✅ PostgreSQL was down${since} (${marker.reason}) and was started again; it runs.${cleared}`
      : `✅ PostgreSQL runs again (it was left down${since}: ${marker.reason}).${cleared}`;
  log('warn', message);
  return { outcome, marker, message };
}

/** What a retry found, as status shows it. */
export interface RetryNote {
  at: string;
  outcome: PostgresDownRetry['outcome'];
  message: string;
}

/** The marker as shown (the shape of @mm-backup/api's `postgresDown`, which the sidecar's answer is checked against). */
export interface PostgresDownStatus {
  since: string | null;
  reason: string;
  auto_start: boolean;
  start_command: string | null;
  last_retry: RetryNote | null;
  message: string;
}

/**
 * The marker as GET /v1/status, `mm-backup status` and /metrics show it (undefined: none). Reads
 * only; `last` is the sidecar's last retry, shown while the marker is still there.
 */
export async function postgresDownView(ec: EngineContext, last?: RetryNote): Promise<PostgresDownStatus | undefined> {
  const m = await readPostgresDownMarker(ec.trust.keyFile).catch(() => undefined);
  if (!m) return undefined;
  const cmd = await pitrStartCommand(ec.cfg);
  const since = m.readable ? ` since ${m.since}` : '';
  return {
    since: m.readable ? m.since : null,
    reason: m.reason,
    auto_start: m.autoStart && m.readable,
    start_command: cmd ?? null,
    last_retry: last ?? null,
    message: `⚠️ PostgreSQL was left DOWN by mm-backup${since}: ${m.reason}. To do: ${await whatToDo(ec, m.file)}.${m.autoStart && m.readable ? '' : ` It is not started automatically; once it runs, the next retry removes ${m.file}.`}`,
  };
}

/** The lines `mm-backup status` and `/backup status` print for it. */
export function postgresDownLines(v: PostgresDownStatus): string[] {
  return [
    v.message,
    ...(v.last_retry ? [`Last retry (${v.last_retry.at}): ${v.last_retry.outcome}: ${v.last_retry.message}`] : []),
  ];
}
