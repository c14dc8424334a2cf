/**
 * Runs a job's steps in order. On failure or cancellation it stops the job's background tasks,
 * undoes the failed step and every completed step in reverse (undo must be idempotent), then
 * ALWAYS runs the `finally` steps (restart Mattermost) even when the job was cancelled.
 *
 * Follow-ups run after the steps succeeded (a backup's off-site copy and prune): a follow-up that
 * fails is a warning of the job, not its failure (the snapshot exists), and nothing is undone.
 *
 * A background task is work one step starts and a later step awaits (the database dump whose
 * snapshot is pinned while files are copied and Mattermost restarts): its progress and logs
 * belong to the step that started it until a step awaits it, and a failing job stops it.
 */
import { setMaxListeners } from 'node:events';
import { asBridgeError, BridgeError, CancelledError } from '../core/errors';
import { redact } from '../core/redact';
import type { EmitFn, JobKind, JobWarning, UndoFailure } from './events';

/** Names a background task and the type of its result; `backgroundTask<T>(name)` makes one. */
export interface BackgroundTask<T> {
  readonly name: string;
  /** Never set: carries T for the type checker only. */
  readonly result?: T;
}

export function backgroundTask<T>(name: string): BackgroundTask<T> {
  return { name };
}

/** What a unit of work reports through and is cancelled by (components, repository, plans). */
export interface StepContext {
  signal: AbortSignal;
  progress: (done: number, total: number | undefined, unit: 'bytes' | 'files' | 'objects', detail?: string) => void;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/** A running step's context: a StepContext that can also start and await background tasks. */
export interface JobStepContext extends StepContext {
  /**
   * Starts `run` in the background under this job; the returned promise settles with it (it
   * never rejects unhandled: a failure is also thrown by awaitBackground). A failing or
   * cancelled job aborts the task's signal and waits for it before undoing.
   */
  startBackground<T>(task: BackgroundTask<T>, run: (ctx: StepContext) => Promise<T>): Promise<T>;
  /** Waits for a task started by an earlier step; its progress and logs belong to this step from now on. */
  awaitBackground<T>(task: BackgroundTask<T>): Promise<T>;
}

export interface Step {
  id: string;
  title: string;
  /** Returns a reason to skip the step, or undefined to run it. Evaluated when the step is reached. */
  skip?(): string | undefined;
  /** Returns an optional one-line summary for the log. */
  // eslint-disable-next-line @typescript-eslint/no-invalid-void-type -- most steps return nothing; a summary is optional
  run(ctx: JobStepContext): Promise<string | void>;
  undo?(ctx: JobStepContext): Promise<void>;
}

/** Steps that run after the job's own steps succeeded; a failure is a warning of the job. */
export interface FollowUp {
  /** e.g. "replicate", "prune": names the follow-up in warnings and results. */
  id: string;
  title: string;
  steps: Step[];
}

export interface Job {
  id: string;
  kind: JobKind;
  steps: Step[];
  followUps?: FollowUp[];
  finally: Step[];
}

export interface JobResult {
  status: 'succeeded' | 'failed' | 'cancelled';
  error?: BridgeError;
  failedStep?: string;
  /** Steps whose undo failed: what the job could NOT put back. Rendered with the error at each boundary. */
  undoFailed?: UndoFailure[];
  /** Follow-ups that failed; the job itself succeeded. */
  warnings?: JobWarning[];
  durationMs: number;
}

/** Every step id of a job in the order it runs, follow-ups included (what job.started announces). */
export function stepList(job: Job): Array<{ id: string; title: string }> {
  return [...job.steps, ...(job.followUps ?? []).flatMap((f) => f.steps)].map((s) => ({ id: s.id, title: s.title }));
}

/** "Undoing it failed for: …", the sentence every boundary adds to a job's error. */
export function describeUndoFailed(undoFailed: UndoFailure[] | undefined): string {
  return undoFailed?.length
    ? `Undoing it failed for: ${undoFailed.map((u) => `${u.title} (${u.error})`).join('; ')}`
    : '';
}

/** The abort reason when it says who cancelled (e.g. "cancelled by SIGTERM"), else a generic one. */
function cancelled(signal: AbortSignal, cause?: unknown): BridgeError {
  const reason: unknown = signal.reason;
  if (reason instanceof BridgeError && reason.code === 'CANCELLED') return reason;
  return new CancelledError('the job was cancelled', { cause });
}

function freshSignal(): AbortSignal {
  const s = new AbortController().signal;
  setMaxListeners(1000, s);
  return s;
}

interface Running {
  promise: Promise<unknown>;
  abort: AbortController;
  /** The step whose progress and logs the task reports as. */
  owner: { step: Step };
  settled: boolean;
}

/** Runs `job`; never throws: the result carries the error. */
export async function runJob(job: Job, signal: AbortSignal, emit: EmitFn): Promise<JobResult> {
  // One signal is shared by every concurrent copy, child process and stream of the job.
  setMaxListeners(1000, signal);
  const started = Date.now();
  const now = () => new Date().toISOString();
  emit({ type: 'job.started', jobId: job.id, kind: job.kind, at: now(), steps: stepList(job) });
  // Progress is throttled here, once for every step: at most four events a second (and always the
  // final one), since one event per file floods NDJSON output, SSE clients and status posts.
  const lastProgress = new Map<string, number>();
  const background = new Map<string, Running>();
  const progressOf =
    (owner: { step: Step }): StepContext['progress'] =>
    (done, total, unit, detail) => {
      const id = owner.step.id;
      const t = Date.now();
      if (t - (lastProgress.get(id) ?? 0) < 250 && !(total !== undefined && done >= total)) return;
      lastProgress.set(id, t);
      emit({ type: 'step.progress', jobId: job.id, step: id, done, total, unit, detail });
    };
  const logOf = (): StepContext['log'] => (level, message) =>
    emit({ type: 'log', jobId: job.id, level, message: redact(message) });
  const ctxFor = (step: Step, sig: AbortSignal): JobStepContext => {
    const ctx: JobStepContext = {
      signal: sig,
      progress: progressOf({ step }),
      log: logOf(),
      startBackground: (task, run) => {
        if (background.has(task.name)) {
          throw new BridgeError('INTERNAL', `background task ${task.name} was started twice`);
        }
        const abort = new AbortController();
        setMaxListeners(1000, abort.signal);
        if (sig.aborted) abort.abort(sig.reason);
        else sig.addEventListener('abort', () => abort.abort(sig.reason), { once: true });
        const owner = { step };
        const bgCtx: StepContext = { signal: abort.signal, progress: progressOf(owner), log: ctx.log };
        const running: Running = { promise: Promise.resolve(), abort, owner, settled: false };
        const promise = run(bgCtx).finally(() => {
          running.settled = true;
        });
        running.promise = promise;
        promise.catch(() => undefined); // awaited by a later step, or stopped by the runner
        background.set(task.name, running);
        return promise;
      },
      awaitBackground: async <T>(task: BackgroundTask<T>) => {
        const running = background.get(task.name);
        if (!running) throw new BridgeError('INTERNAL', `background task ${task.name} never started`);
        running.owner.step = step;
        const value = (await running.promise) as T;
        background.delete(task.name);
        return value;
      },
    };
    return ctx;
  };
  /** Stops every background task no step awaited to its end, and waits until each has. */
  const stopBackground = async (): Promise<void> => {
    for (const [name, b] of background) {
      if (!b.settled) b.abort.abort(new CancelledError(`background task ${name} stopped: the job did not complete`));
      await b.promise.catch(() => undefined);
    }
    background.clear();
  };

  const runStep = async (step: Step): Promise<BridgeError | undefined> => {
    const t0 = Date.now();
    emit({ type: 'step.started', jobId: job.id, step: step.id, title: step.title, at: now() });
    try {
      const summary = await step.run(ctxFor(step, signal));
      if (signal.aborted) throw cancelled(signal);
      emit({
        type: 'step.finished',
        jobId: job.id,
        step: step.id,
        durationMs: Date.now() - t0,
        summary: summary ? redact(summary) : undefined,
        peakRssBytes: process.resourceUsage().maxRSS * 1024,
      });
      return undefined;
    } catch (err) {
      const e = signal.aborted ? cancelled(signal, err) : asBridgeError(err);
      emit({ type: 'step.failed', jobId: job.id, step: step.id, error: redact(e.message), code: e.code });
      return e;
    }
  };

  const completed: Step[] = [];
  let error: BridgeError | undefined;
  let failedStep: string | undefined;
  for (const step of job.steps) {
    if (signal.aborted) {
      error = cancelled(signal);
      failedStep = step.id;
      break;
    }
    const reason = step.skip?.();
    if (reason) {
      emit({ type: 'step.skipped', jobId: job.id, step: step.id, title: step.title, reason });
      continue;
    }
    const e = await runStep(step);
    completed.push(step); // a failed step may have half-applied changes: undo it too
    if (e) {
      error = e;
      failedStep = step.id;
      break;
    }
  }

  const warnings: JobWarning[] = [];
  if (!error) {
    for (const f of job.followUps ?? []) {
      let failed: JobWarning | undefined;
      for (const step of f.steps) {
        const reason = failed
          ? `${f.title} failed at an earlier step`
          : signal.aborted
            ? 'the job was cancelled'
            : step.skip?.();
        if (reason) {
          emit({ type: 'step.skipped', jobId: job.id, step: step.id, title: step.title, reason });
          continue;
        }
        const e = await runStep(step);
        if (e) {
          failed = {
            followUp: f.id,
            step: step.id,
            code: e.code,
            message: redact(e.message),
            hint: e.hint ? redact(e.hint) : undefined,
          };
          warnings.push(failed);
        }
      }
    }
    // A cancelled follow-up cancels the job (someone asked to stop), though the job's own work is done.
    if (signal.aborted) {
      error = cancelled(signal);
      failedStep = warnings.at(-1)?.step;
    }
  }

  const undoFailed: UndoFailure[] = [];
  await stopBackground();
  if (error && failedStep && !warnings.length) {
    // Undo and cleanup must run even though the job's own signal is aborted.
    for (const step of [...completed].reverse()) {
      if (!step.undo) continue;
      emit({ type: 'undo.started', jobId: job.id, step: step.id });
      try {
        await step.undo(ctxFor(step, freshSignal()));
      } catch (err) {
        const message = redact(asBridgeError(err).message);
        undoFailed.push({ step: step.id, title: step.title, error: message });
        emit({ type: 'undo.failed', jobId: job.id, step: step.id, error: message });
      }
    }
  }

  for (const step of job.finally) {
    const t0 = Date.now();
    if (step.skip?.()) continue;
    emit({ type: 'step.started', jobId: job.id, step: step.id, title: step.title, at: now() });
    try {
      const summary = await step.run(ctxFor(step, freshSignal()));
      emit({
        type: 'step.finished',
        jobId: job.id,
        step: step.id,
        durationMs: Date.now() - t0,
        summary: summary ? redact(summary) : undefined,
      });
    } catch (err) {
      const e = asBridgeError(err);
      emit({ type: 'step.failed', jobId: job.id, step: step.id, error: redact(e.message), code: e.code });
      if (!error) {
        error = e;
        failedStep = step.id;
      }
    }
  }

  const status = error ? (error.code === 'CANCELLED' ? 'cancelled' : 'failed') : 'succeeded';
  const durationMs = Date.now() - started;
  emit({
    type: 'job.finished',
    jobId: job.id,
    status,
    durationMs,
    error: error ? redact(error.message) : undefined,
    code: error?.code,
    hint: error?.hint ? redact(error.hint) : undefined,
    ...(undoFailed.length ? { undoFailed } : {}),
    ...(warnings.length ? { warnings } : {}),
  });
  return {
    status,
    error,
    failedStep,
    undoFailed: undoFailed.length ? undoFailed : undefined,
    warnings: warnings.length ? warnings : undefined,
    durationMs,
  };
}
