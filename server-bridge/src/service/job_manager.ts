/**
 * Runs engine jobs for the service (API, slash command, schedule): one at a time under the
 * repository lock (shared with the CLI), with live events for SSE and status posts, a
 * persistent history, and cancellation through the same AbortSignal the CLI uses.
 */
import { BridgeError, PreconditionError, asBridgeError, UsageError } from '../core/errors';
import { newJobId } from '../core/ids';
import { redact } from '../core/redact';
import type { ComponentId } from '../config/schema';
import { discover } from '../discovery/discover';
import { discoverOrFromSnapshot } from '../discovery/from_snapshot';
import type { EngineContext } from '../jobs/context';
import type { JobEvent, JobKind } from '../jobs/events';
import { JobLock, type StaleLock } from '../jobs/lock';
import { recoverStaleLock, type Recovery } from '../jobs/recover_stale_lock';
import { planBackup } from '../operations/backup_plan';
import { planPrune } from '../operations/prune_plan';
import { planRestore } from '../operations/restore_plan';
import { planVerify } from '../operations/verify_plan';
import { planReplicate } from '../operations/replicate_plan';
import { runJob, type Job } from '../jobs/runner';
import { applyEvent, type JobRecord, type Trigger } from '../jobs/job_record';
import type { JobHistory } from '../jobs/job_history';

export interface JobRequest {
  kind: JobKind;
  trigger: Trigger;
  requestedBy?: string;
  mode?: 'offline' | 'online';
  snapshotId?: string;
  deep?: boolean;
  dryRun?: boolean;
  components?: ComponentId[];
}

export type JobListener = (rec: JobRecord, event: JobEvent) => void;
/** Told when taking the lock for a job first repaired after a killed job (to post and show it). */
export type RecoveryListener = (r: Recovery) => void;

interface Running {
  rec: JobRecord;
  abort: AbortController;
  done: Promise<void>;
}

export class JobManager {
  private running: Running | undefined;
  private readonly listeners = new Set<JobListener>();
  private readonly recoveryListeners = new Set<RecoveryListener>();
  private readonly recent = new Map<string, JobRecord>();

  constructor(private readonly ec: () => EngineContext, private readonly history: JobHistory) {}

  /** Registers a listener for every event of every job; returns an unsubscribe function. */
  on(fn: JobListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  onRecovery(fn: RecoveryListener): () => void {
    this.recoveryListeners.add(fn);
    return () => this.recoveryListeners.delete(fn);
  }

  get current(): JobRecord | undefined {
    return this.running?.rec;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    if (this.running?.rec.id === id) return this.running.rec;
    return this.recent.get(id) ?? (await this.history.list()).find((r) => r.id === id);
  }

  async list(limit = 50): Promise<JobRecord[]> {
    const stored = await this.history.list(limit);
    if (this.running && !stored.some((r) => r.id === this.running?.rec.id)) stored.unshift(this.running.rec);
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
    validate(req);
    const ec = this.ec();
    const rec: JobRecord = {
      id: newJobId(), kind: req.kind, trigger: req.trigger, requested_by: req.requestedBy,
      options: stripUndefined({ mode: req.mode, snapshot_id: req.snapshotId, deep: req.deep, dry_run: req.dryRun, components: req.components }),
      status: 'queued', created_at: new Date().toISOString(), steps: [], log_tail: [],
    };
    const { lock, stale } = await JobLock.acquire(ec.lockDir, rec.id, req.kind);
    const abort = new AbortController();
    const emit = (e: JobEvent) => {
      applyEvent(rec, e);
      for (const fn of this.listeners) {
        try { fn(rec, e); } catch { /* a listener never breaks a job */ }
      }
      if (e.type !== 'step.progress' && e.type !== 'log') void this.history.save(rec).catch(() => undefined);
    };
    const done = this.execute(ec, rec, req, lock, stale, abort.signal, emit)
      .finally(async () => {
        await lock.release().catch(() => undefined);
        await this.history.save(rec).catch(() => undefined);
        this.recent.set(rec.id, rec);
        this.running = undefined;
      });
    this.running = { rec, abort, done };
    await this.history.save(rec);
    return rec;
  }

  private async execute(ec: EngineContext, rec: JobRecord, req: JobRequest, lock: JobLock, stale: StaleLock | undefined, signal: AbortSignal, emit: (e: JobEvent) => void): Promise<void> {
    let job: Job;
    let result: () => Record<string, unknown> | undefined;
    try {
      if (stale) {
        // The same repair as at sidecar start-up and before CLI jobs (jobs/recover_stale_lock.ts).
        const r = await recoverStaleLock(ec, lock, stale, { log: (level, message) => emit({ type: 'log', jobId: rec.id, level, message }), signal });
        for (const fn of this.recoveryListeners) {
          try { fn(r); } catch { /* a listener never breaks a job */ }
        }
        if (r.error && !r.mattermostRunning) throw new BridgeError(r.error.code as BridgeError['code'], r.error.message, { hint: r.error.hint });
      }
      ({ job, result } = await this.plan(ec, rec, req, lock));
      job.id = rec.id;
    } catch (err) {
      const e = asBridgeError(err);
      emit({ type: 'job.started', jobId: rec.id, kind: rec.kind, at: new Date().toISOString(), steps: [] });
      emit({ type: 'job.finished', jobId: rec.id, status: e.code === 'CANCELLED' ? 'cancelled' : 'failed', durationMs: 0, error: redact(e.message), code: e.code, hint: e.hint });
      return;
    }
    await lock.update({ jobId: rec.id, kind: rec.kind });
    const outcome = await runJob(job, signal, (e) => {
      if (e.type === 'job.finished' && e.status === 'succeeded') rec.result = result();
      emit(e);
    });
    if (outcome.status !== 'succeeded') rec.result = result();
  }

  private async plan(ec: EngineContext, rec: JobRecord, req: JobRequest, lock: JobLock): Promise<{ job: Job; result: () => Record<string, unknown> | undefined }> {
    switch (req.kind) {
      case 'backup': {
        const d = await discover(ec.cfg, { exclude: req.components });
        const p = planBackup(ec, d, lock, { mode: req.mode ?? ec.cfg.backup.mode, trigger: rec.trigger });
        return {
          job: p.job,
          result: () => {
            const m = p.result.manifest;
            return m ? { snapshot_id: m.id, mode: m.mode, bytes: m.stats.bytes, new_bytes: m.stats.newBytes, files: m.stats.files, files_read: m.stats.filesRead, duration_ms: m.stats.durationMs, downtime_ms: m.stats.downtimeMs } : undefined;
          },
        };
      }
      case 'verify': {
        const m = await ec.repo.loadSnapshot(req.snapshotId ?? 'latest');
        const d = await discover(ec.cfg).catch(() => undefined);
        const p = planVerify(ec, m, d ? ec.engineFor(d.database) : undefined, { deep: !!req.deep });
        return { job: p.job, result: () => ({ snapshot_id: m.id, deep: !!req.deep, objects: p.outcome.objects, issues: p.outcome.issues }) };
      }
      case 'restore': {
        const m = await ec.repo.loadSnapshot(req.snapshotId as string);
        const d = await discoverOrFromSnapshot(ec.cfg, m, ec.repo, () => undefined);
        const p = planRestore(ec, m, d, lock, { components: req.components, safetySnapshot: true, force: false });
        return {
          job: p.job,
          result: () => ({ snapshot_id: m.id, restored: p.outcome.restored, safety_snapshot_id: p.outcome.safetySnapshotId, rolled_back: p.outcome.rolledBack }),
        };
      }
      case 'replicate': {
        const openOff = ec.offsite;
        if (!openOff) throw new UsageError('no off-site copy is configured (offsite.mode "replicate")');
        const p = planReplicate(ec, () => openOff(true));
        return {
          job: p.job,
          result: () => ({ location: p.outcome.location, copied: p.outcome.copied, objects_uploaded: p.outcome.objectsUploaded, bytes_uploaded: p.outcome.bytesUploaded, removed: p.outcome.removed }),
        };
      }
      case 'prune': {
        const p = planPrune(ec, { dryRun: !!req.dryRun });
        return {
          job: p.job,
          result: () => ({ dry_run: p.outcome.dryRun, kept: p.outcome.plan?.keep.length ?? 0, removed: p.outcome.plan?.remove ?? [], objects_removed: p.outcome.objectsRemoved, bytes_freed: p.outcome.bytesFreed }),
        };
      }
    }
  }
}

function validate(req: JobRequest): void {
  if (req.kind === 'restore' && !req.snapshotId) throw new UsageError('a restore needs a snapshot id');
}

function lockHeld(rec: JobRecord): BridgeError {
  return new PreconditionError('LOCK_HELD', `another job is running: ${rec.kind} ${rec.id} (started ${rec.started_at ?? rec.created_at})`, {
    hint: 'wait for it to finish, or cancel it', details: { job_id: rec.id },
  });
}

function stripUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
