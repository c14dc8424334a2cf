/**
 * Repairs what a job killed outright (SIGKILL, OOM, power loss) left behind. Whoever takes its
 * stale lock next runs this ONE function before anything else: the sidecar at start-up, a job
 * started through the API, or a CLI job. A killed restore that had begun overwriting is rolled
 * back from its safety snapshot (the same path as the restore's own undo); then Mattermost is
 * started if the killed job had stopped it, and the killed job is marked interrupted in the
 * history. The caller says so wherever it reports (log, post, page).
 */
import { asBridgeError, BridgeError } from '../core/errors';
import { newJobId } from '../core/ids';
import { redact } from '../core/redact';
import { discover } from '../discovery/discover';
import { JobHistory } from '../jobs/job_history';
import { markInterrupted, type JobRecord } from '../jobs/job_record';
import type { EngineContext } from '../jobs/context';
import { JOB_KIND_TITLES, isJobKind, type JobKind } from '../jobs/events';
import type { JobLock, LockInfo, StaleLock } from '../jobs/lock';
import { putBack } from './restore_plan';
import { recoverPitrRestart } from './recover_pitr_restart';
import { recoverPitrRestore } from './recover_pitr_restore';
import { markPostgresDown, whatToDo } from './postgres_down';
import { restoreOrder } from '../components/registry';
import type { Manifest } from '../manifest/manifest';
import type { StepContext } from '../jobs/runner';
import { clearRollbackMarker, readRollbackMarker } from '../jobs/rollback_marker';

/**
 * - `started`: Mattermost had been stopped and was started again (nothing else was needed);
 * - `rolled_back`: a half-done restore was put back from its safety snapshot, then started;
 * - `half_restored`: a restore had begun overwriting and no safety snapshot can put it back;
 * - `nothing`: the killed job had changed nothing that needs repair.
 */
export type RecoveryAction = 'nothing' | 'started' | 'rolled_back' | 'half_restored';

export interface Recovery {
  /** The killed job, as its lock recorded it. */
  holder: LockInfo;
  /** The history record now marked interrupted (created for a killed CLI run, which keeps none). */
  jobId: string;
  action: RecoveryAction;
  safetySnapshotId?: string;
  /** Whether Mattermost is running and healthy after the repair (false: see `error`). */
  mattermostRunning: boolean;
  /** What could not be repaired; the admin must act. */
  error?: { code: string; message: string; hint?: string };
  /** One paragraph for the log, the post and the history; loud when the install may be damaged. */
  message: string;
  level: 'warn' | 'error';
}

export interface RecoverOptions {
  log(level: 'info' | 'warn' | 'error', message: string): void;
  signal?: AbortSignal;
}

const JOB_ID = /^[a-z0-9]{26}$/;

/**
 * Repairs after `stale`'s holder with `lock` held. Never throws for a failed repair: the result
 * carries the error, and the stale record is handed back into the lock file (this caller no
 * longer holds the lock) so the next job or sidecar start tries again.
 */
export async function recoverStaleLock(
  ec: EngineContext,
  lock: JobLock,
  stale: StaleLock,
  o: RecoverOptions,
): Promise<Recovery> {
  const h = stale.info;
  const what = `${h.kind} ${h.jobId} (pid ${h.pid}, started ${h.startedAt})`;
  o.log('warn', `found a stale lock from ${what}; that process is gone`);
  // Carry the state into our lock, so a kill during this repair leaves the same work to the next one.
  await lock.update({
    mattermostStopped: h.mattermostStopped,
    safetySnapshotId: h.safetySnapshotId,
    overwriting: h.overwriting,
    postgresStopped: h.postgresStopped,
  });
  const ctx: StepContext = {
    signal: o.signal ?? new AbortController().signal,
    progress: () => undefined,
    log: (l, m) => o.log(l, m),
  };
  let action: RecoveryAction = h.mattermostStopped ? 'started' : 'nothing';
  const notes: string[] = [];
  let error: Recovery['error'];

  // A pitr enable/disable killed while it restarted PostgreSQL: the database back first, as below.
  if (h.postgresStopped) {
    try {
      notes.push(await recoverPitrRestart(ec, (l, m) => o.log(l, m)));
      await lock.update({ postgresStopped: false });
    } catch (err) {
      const e = asBridgeError(err);
      // Beside the signing key: this repair's lock goes when it ends, and PostgreSQL stays down.
      await markPostgresDown(
        ec,
        `an interrupted ${h.kind} had stopped it and it could not be started again (${e.message})`,
        (l, m) => o.log(l, m),
      );
      error = {
        code: e.code,
        message: `PostgreSQL could not be started again: ${redact(e.message)}`,
        hint: await whatToDo(ec),
      };
      notes.push(`⚠️ PostgreSQL IS DOWN: the interrupted restart could not be finished (${redact(e.message)}).`);
    }
  }

  // A point-in-time restore first: its old data directory back and PostgreSQL running, so that
  // the files' rollback and Mattermost's start below find the database as it was.
  if (h.kind === 'restore') {
    try {
      const note = await recoverPitrRestore(ec, h.jobId, (l, m) => o.log(l, m), o.signal);
      if (note) notes.push(note);
    } catch (err) {
      const e = asBridgeError(err);
      error = {
        code: e.code,
        message: `PostgreSQL could not be put back: ${redact(e.message)}`,
        hint: 'docs/pitr.md: put the kept data directory back and start PostgreSQL by hand',
      };
      notes.push(
        `⚠️ PostgreSQL IS DOWN: the interrupted point-in-time restore could not be undone (${redact(e.message)}).`,
      );
    }
  }

  if (h.overwriting && h.safetySnapshotId) {
    o.log(
      'warn',
      `it was a restore killed while overwriting: rolling back from safety snapshot ${h.safetySnapshotId} first`,
    );
    try {
      const putBackIds = await rollBack(ec, h.safetySnapshotId, ctx);
      action = 'rolled_back';
      notes.push(
        `The interrupted restore was rolled back from safety snapshot \`${h.safetySnapshotId}\` (${putBackIds.join(', ')}).`,
      );
    } catch (err) {
      const e = asBridgeError(err);
      action = 'half_restored';
      error = {
        code: e.code,
        message: `rolling back from safety snapshot ${h.safetySnapshotId} failed: ${redact(e.message)}`,
        hint: `restore it by hand: mm-backup restore ${h.safetySnapshotId}`,
      };
      notes.push(
        `⚠️ Rolling back from safety snapshot \`${h.safetySnapshotId}\` FAILED (${redact(e.message)}): the install may be HALF-RESTORED. Restore it by hand: \`mm-backup restore ${h.safetySnapshotId}\`.`,
      );
    }
  } else if (h.overwriting) {
    action = 'half_restored';
    notes.push(
      '⚠️ The restore was killed while overwriting and took NO safety snapshot (--no-safety-snapshot): the install may be HALF-RESTORED. Restore a snapshot again (mm-backup list) before relying on it.',
    );
  }

  const mustStart = h.mattermostStopped || action === 'rolled_back' || action === 'half_restored';
  let mattermostRunning = !mustStart;
  if (mustStart && ec.service.canStop) {
    o.log(
      'warn',
      `${h.mattermostStopped ? 'it had stopped Mattermost' : 'the install was put back'}: starting Mattermost again`,
    );
    try {
      // A rolled-back install needs no second rollback if this start is killed; a half-restored one stays marked.
      await lock.update({ mattermostStopped: true, overwriting: action === 'rolled_back' ? false : h.overwriting });
      // Bounded even if the start command itself never returns: the sidecar must keep serving.
      const bound = AbortSignal.timeout((ec.cfg.service.healthTimeoutSeconds + 120) * 1000);
      await ec.service.start(o.signal ? AbortSignal.any([o.signal, bound]) : bound);
      mattermostRunning = true;
      notes.push('Mattermost was started again and is healthy.');
    } catch (err) {
      const e = asBridgeError(err);
      error = error ?? {
        code: e.code,
        message: `Mattermost could not be started again: ${redact(e.message)}`,
        hint: e.hint,
      };
      notes.push(
        `⚠️ Mattermost could NOT be started again: ${redact(e.message)}. The next mm-backup job or sidecar start tries again.`,
      );
    }
  } else if (mustStart) {
    notes.push('⚠️ No service commands are configured: start Mattermost yourself.');
  }
  if (mattermostRunning) {
    await lock.update({ mattermostStopped: false, safetySnapshotId: undefined, overwriting: undefined });
  }

  const head = `⚠️ ${kindTitle(h.kind)} ${h.jobId} was interrupted: its process (pid ${h.pid}, started ${h.startedAt}) was killed${h.mattermostStopped ? ' while Mattermost was stopped' : ''}.`;
  const message = [head, ...notes].join(' ');
  const level = error || action === 'half_restored' ? 'error' : 'warn';
  o.log(level, message);
  const jobId = await recordInterruption(ec, h, message, error);
  // Not repaired: the record goes back (naming the history record, so a retry adds to it).
  if (!mattermostRunning && ec.service.canStop) {
    await lock.handBack({ ...h, jobId, overwriting: action === 'rolled_back' ? false : h.overwriting });
  }
  return { holder: h, jobId, action, safetySnapshotId: h.safetySnapshotId, mattermostRunning, error, message, level };
}

/** Puts every component of the safety snapshot back, the database first (as the restore's undo does). */
async function rollBack(ec: EngineContext, safetyId: string, ctx: StepContext): Promise<string[]> {
  const safety = await ec.repo.loadSnapshot(safetyId);
  if (safety.trigger !== 'safety') {
    throw new BridgeError('PRECONDITION_FAILED', `snapshot ${safetyId} is not a safety snapshot`);
  }
  // The id comes from a file in the repository directory: a planted one must not restore foreign content.
  await ec.trust.requireManifest(ec.repo, safety, { action: 'used to roll back' });
  await assertNewestTrusted(ec, safety);
  // The lock is in the repository; only the marker outside it proves a restore of ours took this one.
  const recorded = await readRollbackMarker(ec.trust.keyFile);
  if (recorded !== safetyId) {
    throw new BridgeError(
      'PRECONDITION_FAILED',
      `snapshot ${safetyId} is not recorded outside the repository as the safety snapshot of a running restore${recorded ? ` (${recorded} is)` : ''}, so the install is not rolled back to it`,
    );
  }
  // Mattermost is stopped, so discovery reads its config and database but not its API.
  const d = await discover(ec.cfg).catch(() => undefined);
  const records = restoreOrder(safety.components.filter((c) => c.status === 'included'));
  const dbTarget = () => {
    if (!d) {
      throw new BridgeError(
        'PRECONDITION_FAILED',
        'the install cannot be discovered, so its database cannot be put back',
      );
    }
    return ec.engineFor(d.database);
  };
  for (const r of records) {
    await putBack(ec, r, d, ctx, dbTarget);
    ctx.log('warn', `${r.id} was put back from safety snapshot ${safetyId}`);
  }
  await clearRollbackMarker(ec.trust.keyFile);
  return records.map((r) => r.id);
}

/**
 * A genuine safety snapshot is the newest trusted snapshot: the killed restore held the lock from
 * its commit until now, so nothing was written after it. An older one (each is genuine and
 * signed) named by a planted lock would roll the whole install back in time. Seconds are compared,
 * not whole ids, since the safety id is drawn when the restore is planned.
 */
async function assertNewestTrusted(ec: EngineContext, safety: Manifest): Promise<void> {
  const second = (id: string) => id.slice(0, id.indexOf('-'));
  const { manifests } = await ec.repo.listSnapshotSummaries();
  for (const m of manifests) {
    if (second(m.id) <= second(safety.id)) continue;
    if ((await ec.trust.checkManifest(ec.repo, m)).state !== 'signed') continue;
    throw new BridgeError(
      'PRECONDITION_FAILED',
      `snapshot ${safety.id} is not the newest snapshot (${m.id} was taken after it), so it is not the safety snapshot of a restore killed just now`,
    );
  }
}

/** Marks the killed job interrupted in the history; a killed CLI run (no record) gets one. */
async function recordInterruption(
  ec: EngineContext,
  h: LockInfo,
  message: string,
  error: Recovery['error'],
): Promise<string> {
  const history = await JobHistory.open(ec.cfg.repository.path);
  const existing = JOB_ID.test(h.jobId) ? (await history.list()).find((r) => r.id === h.jobId) : undefined;
  // A repair killed in turn (the sidecar's start-up check) is no job of its own; the job it was
  // repairing stays "running" in the history and is marked by the sidecar's start-up sweep.
  if (!existing && !isJobKind(h.kind)) return h.jobId;
  const rec: JobRecord = existing ?? {
    id: JOB_ID.test(h.jobId) ? h.jobId : newJobId(),
    kind: h.kind as JobKind, // checked above unless the record exists
    trigger: 'cli',
    options: {},
    status: 'running',
    created_at: h.startedAt,
    started_at: h.startedAt,
    steps: [],
    log_tail: [],
  };
  if (rec.status === 'queued' || rec.status === 'running') markInterrupted(rec, message, error?.hint);
  else rec.log_tail.push({ at: new Date().toISOString(), level: 'warn', message });
  await history.save(rec);
  return rec.id;
}

function kindTitle(kind: string): string {
  return isJobKind(kind) ? JOB_KIND_TITLES[kind] : `Job ${kind}`;
}
