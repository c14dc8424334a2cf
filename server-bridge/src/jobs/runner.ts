/**
 * Runs a job's steps in order. On failure or cancellation it undoes the failed step and every
 * completed step in reverse (undo must be idempotent), then ALWAYS runs the `finally` steps
 * (restart Mattermost, release the lock) even when the job was cancelled.
 */
import { setMaxListeners } from 'node:events';
import { asBridgeError, BridgeError, CancelledError } from '../core/errors';
import { redact } from '../core/redact';
import type { EmitFn, JobKind } from './events';

export interface StepContext {
  signal: AbortSignal;
  progress(done: number, total: number | undefined, unit: 'bytes' | 'files' | 'objects', detail?: string): void;
  log(level: 'info' | 'warn' | 'error', message: string): void;
}

export interface Step {
  id: string;
  title: string;
  /** Returns a reason to skip the step, or undefined to run it. Evaluated when the step is reached. */
  skip?(): string | undefined;
  /** Returns an optional one-line summary for the log. */
  run(ctx: StepContext): Promise<string | void>;
  undo?(ctx: StepContext): Promise<void>;
}

export interface Job {
  id: string;
  kind: JobKind;
  steps: Step[];
  finally: Step[];
}

export interface JobResult {
  status: 'succeeded' | 'failed' | 'cancelled';
  error?: BridgeError;
  failedStep?: string;
  /** Steps whose undo failed: what the job could NOT put back (its error message names them too). */
  undoFailed?: Array<{ step: string; title: string; error: string }>;
  durationMs: number;
}

/** The abort reason when it says who cancelled (e.g. "cancelled by SIGTERM"), else a generic one. */
function cancelled(signal: AbortSignal, cause?: unknown): BridgeError {
  const reason: unknown = signal.reason;
  if (reason instanceof BridgeError && reason.code === 'CANCELLED') return reason;
  return new CancelledError('the job was cancelled', { cause });
}

/** Runs `job`; never throws: the result carries the error. */
export async function runJob(job: Job, signal: AbortSignal, emit: EmitFn): Promise<JobResult> {
  // One signal is shared by every concurrent copy, child process and stream of the job.
  setMaxListeners(1000, signal);
  const started = Date.now();
  const now = () => new Date().toISOString();
  emit({ type: 'job.started', jobId: job.id, kind: job.kind, at: now(), steps: job.steps.map((s) => ({ id: s.id, title: s.title })) });
  // Progress is throttled here, once for every step: at most four events a second (and always the
  // final one), since one event per file floods NDJSON output, SSE clients and status posts.
  const lastProgress = new Map<string, number>();
  const ctxFor = (step: Step, sig: AbortSignal): StepContext => ({
    signal: sig,
    progress: (done, total, unit, detail) => {
      const now = Date.now();
      if (now - (lastProgress.get(step.id) ?? 0) < 250 && !(total !== undefined && done >= total)) return;
      lastProgress.set(step.id, now);
      emit({ type: 'step.progress', jobId: job.id, step: step.id, done, total, unit, detail });
    },
    log: (level, message) => emit({ type: 'log', jobId: job.id, level, message: redact(message) }),
  });

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
      emit({ type: 'step.skipped', jobId: job.id, step: step.id, reason });
      continue;
    }
    const t0 = Date.now();
    emit({ type: 'step.started', jobId: job.id, step: step.id, title: step.title, at: now() });
    try {
      const summary = await step.run(ctxFor(step, signal));
      if (signal.aborted) throw cancelled(signal);
      completed.push(step);
      emit({ type: 'step.finished', jobId: job.id, step: step.id, durationMs: Date.now() - t0, summary: summary ? redact(summary) : undefined });
    } catch (err) {
      error = signal.aborted ? cancelled(signal, err) : asBridgeError(err);
      failedStep = step.id;
      emit({ type: 'step.failed', jobId: job.id, step: step.id, error: redact(error.message), code: error.code });
      completed.push(step); // a failed step may have half-applied changes: undo it too
      break;
    }
  }

  const undoFailed: NonNullable<JobResult['undoFailed']> = [];
  if (error) {
    // Undo and cleanup must run even though the job's own signal is aborted.
    const cleanup = new AbortController().signal;
    setMaxListeners(1000, cleanup);
    for (const step of [...completed].reverse()) {
      if (!step.undo) continue;
      emit({ type: 'undo.started', jobId: job.id, step: step.id });
      try {
        await step.undo(ctxFor(step, cleanup));
      } catch (err) {
        const message = redact(asBridgeError(err).message);
        undoFailed.push({ step: step.id, title: step.title, error: message });
        emit({ type: 'undo.failed', jobId: job.id, step: step.id, error: message });
      }
    }
    // The error must not read as if everything was put back: it names what was not.
    if (undoFailed.length) {
      error.message += `. Undoing it failed for: ${undoFailed.map((u) => `${u.title} (${u.error})`).join('; ')}`;
    }
  }

  for (const step of job.finally) {
    const cleanup = new AbortController().signal;
    setMaxListeners(1000, cleanup);
    const t0 = Date.now();
    if (step.skip?.()) continue;
    emit({ type: 'step.started', jobId: job.id, step: step.id, title: step.title, at: now() });
    try {
      const summary = await step.run(ctxFor(step, cleanup));
      emit({ type: 'step.finished', jobId: job.id, step: step.id, durationMs: Date.now() - t0, summary: summary ? redact(summary) : undefined });
    } catch (err) {
      const e = asBridgeError(err);
      emit({ type: 'step.failed', jobId: job.id, step: step.id, error: redact(e.message), code: e.code });
      if (!error) {
        error = e;
        failedStep = step.id;
      }
    }
  }

  const status = !error ? 'succeeded' : error.code === 'CANCELLED' ? 'cancelled' : 'failed';
  const durationMs = Date.now() - started;
  emit({
    type: 'job.finished', jobId: job.id, status, durationMs,
    error: error ? redact(error.message) : undefined, code: error?.code, hint: error?.hint ? redact(error.hint) : undefined,
  });
  return { status, error, failedStep, undoFailed: undoFailed.length ? undoFailed : undefined, durationMs };
}
