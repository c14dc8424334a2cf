/**
 * Runs operations for the service (API, slash command, schedule) in the background: one at a
 * time under the repository lock (shared with the CLI), with live events for SSE and status
 * posts, a persistent history, and cancellation through the same AbortSignal the CLI uses.
 * What runs is built by operations/ exactly as for the CLI.
 */
import { BridgeError, PreconditionError, asBridgeError, UsageError } from '../core/errors';
import { newJobId } from '../core/ids';
import { redact } from '../core/redact';
import type { EngineContext } from '../jobs/context';
import type { JobEvent } from '../jobs/events';
import { JobLock, type StaleLock } from '../jobs/lock';
import { runJob } from '../jobs/runner';
import { applyEvent, type JobRecord } from '../jobs/job_record';
import type { JobHistory } from '../jobs/job_history';
import { buildOperation, repairStaleLock, type JobRequest, type Operation, type OperationJobs } from '../operations';
import { jobNeedsDatabase } from '../operations/needs_database';
import type { Recovery } from '../operations/recover_stale_lock';
import type { PostgresDownRetry } from '../operations/postgres_down';

export type { JobRequest } from '../operations';

export type JobListener = (rec: JobRecord, event: JobEvent) => void;
/** Told when taking the lock for a job first repaired after a killed job (to post and show it). */
export type RecoveryListener = (r: Recovery) => void;
/** Told when taking the lock for a job first retried a PostgreSQL an earlier job left down. */
export type PostgresListener = (r: PostgresDownRetry) => void;

interface Running {
  rec: JobRecord;
  abort: AbortController;
  done: Promise<void>;
}

export class JobManager implements OperationJobs {
  private running: Running | undefined;
  private readonly listeners = new Set<JobListener>();
  private readonly recoveryListeners = new Set<RecoveryListener>();
  private postgresListener?: PostgresListener;
  private readonly recent = new Map<string, JobRecord>();

  constructor(
    private readonly ec: () => EngineContext,
    private readonly history: JobHistory,
  ) {}

  /** Registers a listener for every event of every job; returns an unsubscribe function. */
  on(fn: JobListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  onRecovery(fn: RecoveryListener): () => void {
    this.recoveryListeners.add(fn);
    return () => this.recoveryListeners.delete(fn);
  }

  /** The one listener of PostgreSQL retries (the sidecar's). */
  onPostgres(fn: PostgresListener): void {
    this.postgresListener = fn;
  }

  get current(): JobRecord | undefined {
    return this.running?.rec;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    if (this.running?.rec.id === id) return this.running.rec;
    return this.recent.get(id) ?? (await this.history.list()).find((r) => r.id === id);
  }

  /** The newest records first; a record this process holds wins over its disk copy, which can lag its last event (saves are not awaited). */
  async list(limit = 50): Promise<JobRecord[]> {
    const live = new Map(this.recent);
    const running = this.running?.rec;
    if (running) live.set(running.id, running);
    const stored = (await this.history.list(limit)).map((r) => live.get(r.id) ?? r);
    if (running && !stored.some((r) => r.id === running.id)) stored.unshift(running);
    return stored.slice(0, limit);
  }

  /** Cancels the running job; undo and finally steps (restarting Mattermost) still run. */
  cancel(id: string): boolean {
    if (this.running?.rec.id !== id) return false;
    this.running.abort.abort(new BridgeError('CANCELLED', 'cancelled by request'));
    return true;
  }

  /** Waits for the running job (tests, shutdown). */
  async idle(): Promise<void> {
    await this.running?.done;
  }

  /**
   * Takes the lock and starts the job in the background. Throws LOCK_HELD at once when another
   * job (here or a CLI run) holds the lock, so callers can answer 409 immediately.
   */
  async start(req: JobRequest): Promise<JobRecord> {
    // A job that has reported its end is only releasing its lock: wait for that, don't refuse.
    if (this.running && ['succeeded', 'failed', 'cancelled'].includes(this.running.rec.status)) await this.running.done;
    if (this.running) throw lockHeld(this.running.rec);
    if (req.kind === 'restore' && !req.snapshotId && !req.restore?.at) {
      throw new UsageError('a restore needs a snapshot id or a point in time');
    }
    const ec = this.ec();
    const rec: JobRecord = {
      id: newJobId(),
      kind: req.kind,
      trigger: req.trigger,
      requested_by: req.requestedBy,
      options: stripUndefined({
        mode: req.mode,
        snapshot_id: req.snapshotId,
        deep: req.deep,
        dry_run: req.dryRun,
        exclude: req.exclude,
        include: req.include,
        replicate: req.replicate,
        prune: req.prune,
        pitr_type: req.pitrType,
        restart_postgres: req.restartPostgres,
        logical: req.logical,
        at: req.restore?.at,
      }),
      status: 'queued',
      created_at: new Date().toISOString(),
      steps: [],
      log_tail: [],
    };
    // Taken here so a held lock is refused at once; a stale one is repaired in the background.
    const { lock, stale } = await JobLock.acquire(ec.lockDir, rec.id, req.kind);
    const abort = new AbortController();
    const emit = (e: JobEvent) => {
      applyEvent(rec, e);
      for (const fn of this.listeners) {
        try {
          fn(rec, e);
        } catch {
          /* a listener never breaks a job */
        }
      }
      if (e.type !== 'step.progress' && e.type !== 'log') void this.history.save(rec).catch(() => undefined);
    };
    const done = this.execute(ec, rec, req, lock, stale, abort.signal, emit).finally(async () => {
      await lock.release().catch(() => undefined);
      await this.history.save(rec).catch(() => undefined);
      this.recent.set(rec.id, rec);
      this.running = undefined;
    });
    this.running = { rec, abort, done };
    await this.history.save(rec);
    return rec;
  }

  private async execute(
    ec: EngineContext,
    rec: JobRecord,
    req: JobRequest,
    lock: JobLock,
    stale: StaleLock | undefined,
    signal: AbortSignal,
    emit: (e: JobEvent) => void,
  ): Promise<void> {
    const log = (level: 'info' | 'warn' | 'error', message: string) =>
      emit({ type: 'log', jobId: rec.id, level, message });
    let op: Operation;
    try {
      await repairStaleLock(ec, lock, stale, {
        log,
        signal,
        needsDatabase: jobNeedsDatabase(req),
        onRecovery: (r) => {
          for (const fn of this.recoveryListeners) {
            try {
              fn(r);
            } catch {
              /* a listener never breaks a job */
            }
          }
        },
        onPostgres: (r) => {
          try {
            this.postgresListener?.(r);
          } catch {
            /* a listener never breaks a job */
          }
        },
      });
      op = await buildOperation(req, { ec, lock, trigger: rec.trigger, notice: (text) => log('info', text) });
      op.job.id = rec.id;
    } catch (err) {
      const e = asBridgeError(err);
      emit({ type: 'job.started', jobId: rec.id, kind: rec.kind, at: new Date().toISOString(), steps: [] });
      emit({
        type: 'job.finished',
        jobId: rec.id,
        status: e.code === 'CANCELLED' ? 'cancelled' : 'failed',
        durationMs: 0,
        error: redact(e.message),
        code: e.code,
        hint: e.hint,
      });
      return;
    }
    await lock.update({ jobId: rec.id, kind: rec.kind });
    const outcome = await runJob(op.job, signal, (e) => {
      // The result is in the record before job.finished reaches listeners (posts, SSE).
      if (e.type === 'job.finished') rec.result = op.result();
      emit(e);
    });
    rec.result = op.result();
    if (outcome.status !== 'succeeded' && op.failureNote && rec.error) {
      const note = op.failureNote();
      if (note) rec.error = { ...rec.error, message: `${rec.error.message}${note}` };
    }
  }
}

function lockHeld(rec: JobRecord): BridgeError {
  return new PreconditionError(
    'LOCK_HELD',
    `another job is running: ${rec.kind} ${rec.id} (started ${rec.started_at ?? rec.created_at})`,
    {
      hint: 'wait for it to finish, or cancel it',
      details: { job_id: rec.id },
    },
  );
}

function stripUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
