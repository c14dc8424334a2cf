/** Events a running job emits; renderers (terminal, NDJSON, later HTTP/SSE and channel posts) consume them. */
export type JobKind =
  'backup' | 'restore' | 'verify' | 'prune' | 'replicate' | 'pitr-backup' | 'pitr-enable' | 'pitr-disable';

/** Every job kind with its title, as posts and notices name it. */
export const JOB_KIND_TITLES: Readonly<Record<JobKind, string>> = {
  backup: 'Backup',
  restore: 'Restore',
  verify: 'Verification',
  prune: 'Prune',
  replicate: 'Off-site copy',
  'pitr-backup': 'Physical backup',
  'pitr-enable': 'Enable point-in-time recovery',
  'pitr-disable': 'Disable point-in-time recovery',
};

export function isJobKind(kind: string): kind is JobKind {
  return Object.hasOwn(JOB_KIND_TITLES, kind);
}

/** A step whose undo failed: what a failed job could NOT put back. */
export interface UndoFailure {
  step: string;
  title: string;
  error: string;
}

/** A follow-up (a backup's off-site copy or prune) that failed while the job itself succeeded. */
export interface JobWarning {
  followUp: string;
  step: string;
  code: string;
  message: string;
  hint?: string;
}

export type JobEvent =
  | { type: 'job.started'; jobId: string; kind: JobKind; at: string; steps: Array<{ id: string; title: string }> }
  | { type: 'step.started'; jobId: string; step: string; title: string; at: string }
  | {
      type: 'step.progress';
      jobId: string;
      step: string;
      done: number;
      total?: number;
      unit: 'bytes' | 'files' | 'objects';
      detail?: string;
    }
  | {
      type: 'step.finished';
      jobId: string;
      step: string;
      durationMs: number;
      summary?: string;
      /** The process's highest resident set so far (getrusage's maxRSS) as the step ended: which step raised the peak. */
      peakRssBytes?: number;
    }
  | { type: 'step.skipped'; jobId: string; step: string; title: string; reason: string }
  | { type: 'step.failed'; jobId: string; step: string; error: string; code: string }
  | { type: 'undo.started'; jobId: string; step: string }
  | { type: 'undo.failed'; jobId: string; step: string; error: string }
  | { type: 'log'; jobId: string; level: 'info' | 'warn' | 'error'; message: string }
  | {
      type: 'job.finished';
      jobId: string;
      status: 'succeeded' | 'failed' | 'cancelled';
      durationMs: number;
      error?: string;
      code?: string;
      hint?: string;
      undoFailed?: UndoFailure[];
      warnings?: JobWarning[];
    };

export type EmitFn = (event: JobEvent) => void;
