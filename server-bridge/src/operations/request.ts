/**
 * What a front end asks for (CLI flags, an API body, a slash command, the schedule) and what it
 * gets back: one request shape for every front end, so the same request builds the same job.
 */
import type { ComponentId } from '../config/schema';
import type { EngineContext } from '../jobs/context';
import type { JobEvent, JobKind } from '../jobs/events';
import type { JobLock } from '../jobs/lock';
import type { JobRecord, Trigger } from '../jobs/job_record';
import type { Job } from '../jobs/runner';

/** Where and how a restore writes, when not simply in place with a safety snapshot. */
export interface RestoreTarget {
  installDir?: string;
  absoluteRoots?: boolean;
  /** The database to restore into (a secret: never logged). */
  databaseUrl?: string;
  safetySnapshot?: boolean;
  force?: boolean;
  /** Physical mode: restore in place to this time (ISO with offset) or "latest", instead of a snapshot. */
  at?: string;
}

export interface OperationRequest {
  kind: JobKind;
  mode?: 'offline' | 'online';
  /** verify and restore: a snapshot id or "latest". */
  snapshotId?: string;
  deep?: boolean;
  dryRun?: boolean;
  /** backup: the components to leave out. */
  exclude?: ComponentId[];
  /** backup: walk every directory of the file store, whatever the database says changed. */
  fullWalk?: boolean;
  /** backup in physical mode: take a logical dump of the database now, whatever pitr.logicalDumpEveryDays says. */
  logical?: boolean;
  /** restore: the components to put back (default all of the snapshot's). */
  include?: ComponentId[];
  /** backup: copy off-site afterwards; default backup.replicateAfter. */
  replicate?: boolean;
  /** backup: apply the retention policy afterwards; default backup.pruneAfter. */
  prune?: boolean;
  /** verify and restore: accept a snapshot with no signature (docs/security.md). */
  allowUnsigned?: boolean;
  /** pitr-backup: the pgBackRest backup type; default chosen by the schedule rules (pitr.fullEveryDays). */
  pitrType?: 'full' | 'diff' | 'incr';
  /** pitr-enable and pitr-disable: the admin's explicit consent to restart PostgreSQL (default no restart). */
  restartPostgres?: boolean;
  /**
   * pitr-enable, CLI only (`pitr enable --force`): replace another tool's archive_command, restart
   * despite other pending changes. The API's schema has no such field (POST /v1/jobs refuses it).
   */
  force?: boolean;
  /** restore, CLI only: a new install dir or database, no safety snapshot, --force. */
  restore?: RestoreTarget;
}

/** A request as the sidecar records it: who asked, and through which front end. */
export interface JobRequest extends OperationRequest {
  trigger: Trigger;
  requestedBy?: string;
}

/** What building an operation needs: the engine, the held lock, and where notices go. */
export interface OperationRuntime {
  ec: EngineContext;
  lock: JobLock;
  trigger: Trigger;
  /** The job has this process to itself (the CLI): an online backup lowers the whole process to its budget. */
  ownProcess?: boolean;
  /** Things worth saying while inputs are gathered (discovery fallbacks); redacted by the caller. */
  notice(text: string): void;
}

/**
 * One operation, built once whoever runs it: the job (steps, follow-ups, finally), and the
 * result shaped from what the job did, the same object in the job record and the CLI summary.
 */
export interface Operation {
  job: Job;
  /** The JSON result (snake_case, as the API shows it); undefined while nothing was produced. */
  result(): Record<string, unknown> | undefined;
  /** The CLI's summary: the result plus fields scripts already read, and one line for people. */
  summary(): { json: Record<string, unknown>; text: string };
  /** What a failed job left behind, said with its error at each boundary (a restore's rollback). */
  failureNote?(): string | undefined;
}

/** The sidecar's background jobs as the front ends (HTTP, slash, schedule) use them. */
export interface OperationJobs {
  readonly current: JobRecord | undefined;
  /** Takes the lock and starts the job in the background; throws LOCK_HELD at once when busy. */
  start(req: JobRequest): Promise<JobRecord>;
  get(id: string): Promise<JobRecord | undefined>;
  list(limit?: number): Promise<JobRecord[]>;
  cancel(id: string): boolean;
  /** Every event of every job; returns an unsubscribe function. */
  on(fn: (rec: JobRecord, event: JobEvent) => void): () => void;
}
