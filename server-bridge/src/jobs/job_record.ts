/** A job as the API, the history and the status posts see it (snake_case, like Mattermost's JSON). */
import type { JobEvent, JobKind, JobWarning, UndoFailure } from './events';

export type Trigger = 'cli' | 'schedule' | 'console' | 'slash' | 'api';
export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface StepRecord {
  id: string;
  title: string;
  status: 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';
  started_at?: string;
  finished_at?: string;
  duration_ms?: number;
  summary?: string;
  error?: string;
}

export interface JobRecord {
  id: string;
  kind: JobKind;
  trigger: Trigger;
  requested_by?: string;
  options: Record<string, unknown>;
  status: JobStatus;
  created_at: string;
  started_at?: string;
  finished_at?: string;
  duration_ms?: number;
  steps: StepRecord[];
  current_step?: string;
  progress?: { step: string; done: number; total?: number; unit: string; detail?: string };
  log_tail: Array<{ at: string; level: string; message: string }>;
  result?: Record<string, unknown>;
  error?: { code: string; message: string; hint?: string; step?: string; undo_failed?: UndoFailure[] };
  /** Follow-ups that failed although the job succeeded (e.g. the off-site copy after a backup). */
  warnings?: JobWarning[];
}

const LOG_TAIL = 50;

/** Applies one engine event to the record; pure, so the same code serves live views and replays. */
export function applyEvent(rec: JobRecord, e: JobEvent): void {
  const now = new Date().toISOString();
  const step = (id: string) => rec.steps.find((s) => s.id === id);
  switch (e.type) {
    case 'job.started':
      rec.status = 'running';
      rec.started_at = e.at;
      rec.steps = e.steps.map((s) => ({ id: s.id, title: s.title, status: 'pending' }));
      break;
    case 'step.started': {
      let s = step(e.step);
      if (!s) rec.steps.push((s = { id: e.step, title: e.title, status: 'pending' }));
      // A title may say more once the step starts (a database reference that became a dump).
      s.title = e.title;
      s.status = 'running';
      s.started_at = e.at;
      rec.current_step = e.step;
      rec.progress = undefined;
      break;
    }
    case 'step.progress':
      rec.progress = { step: e.step, done: e.done, total: e.total, unit: e.unit, detail: e.detail };
      break;
    case 'step.finished': {
      const s = step(e.step);
      if (s) Object.assign(s, { status: 'succeeded', finished_at: now, duration_ms: e.durationMs, summary: e.summary });
      break;
    }
    case 'step.skipped': {
      const s = step(e.step);
      if (s) Object.assign(s, { status: 'skipped', summary: e.reason });
      break;
    }
    case 'step.failed': {
      const s = step(e.step);
      if (s) Object.assign(s, { status: 'failed', finished_at: now, error: e.error });
      break;
    }
    case 'log':
    case 'undo.started':
    case 'undo.failed': {
      const message =
        e.type === 'log'
          ? e.message
          : e.type === 'undo.started'
            ? `undoing ${e.step}`
            : `undo of ${e.step} failed: ${e.error}`;
      rec.log_tail.push({ at: now, level: e.type === 'log' ? e.level : 'warn', message });
      if (rec.log_tail.length > LOG_TAIL) rec.log_tail.splice(0, rec.log_tail.length - LOG_TAIL);
      break;
    }
    case 'job.finished':
      rec.status = e.status;
      rec.finished_at = now;
      rec.duration_ms = e.durationMs;
      rec.current_step = undefined;
      rec.progress = undefined;
      if (e.error) {
        rec.error = {
          code: e.code ?? 'INTERNAL',
          message: e.error,
          hint: e.hint,
          step: rec.steps.find((s) => s.status === 'failed')?.id,
          ...(e.undoFailed ? { undo_failed: e.undoFailed } : {}),
        };
      }
      if (e.warnings) rec.warnings = e.warnings;
      break;
  }
}

/** The error code of a job whose process was killed (SIGKILL, OOM, power loss) before it ended. */
export const INTERRUPTED = 'INTERRUPTED';

/**
 * Ends a record whose process is gone: status "failed" with error code INTERRUPTED (so every
 * reader that knows "failed" shows it, and /metrics counts it), the running step failed too.
 */
export function markInterrupted(rec: JobRecord, message: string, hint?: string): void {
  const now = new Date().toISOString();
  const running = rec.steps.find((s) => s.status === 'running');
  if (running) {
    Object.assign(running, { status: 'failed', finished_at: now, error: 'interrupted: the process was killed' });
  }
  rec.status = 'failed';
  rec.finished_at = now;
  if (rec.started_at) rec.duration_ms = Date.parse(now) - Date.parse(rec.started_at);
  rec.current_step = undefined;
  rec.progress = undefined;
  rec.error = { code: INTERRUPTED, message, hint, step: running?.id };
  rec.log_tail.push({ at: now, level: 'error', message });
  if (rec.log_tail.length > LOG_TAIL) rec.log_tail.splice(0, rec.log_tail.length - LOG_TAIL);
}
