/**
 * Every error the engine raises is a BridgeError with a stable `code`. Boundaries (CLI exit code,
 * HTTP status, chat message) translate by code once; nothing in between rewraps a BridgeError.
 */
export type ErrorCode =
  | 'USAGE'
  | 'CONFIG_INVALID'
  | 'PRECONDITION_FAILED'
  | 'LOCK_HELD'
  | 'DISK_SPACE'
  | 'VERSION_MISMATCH'
  | 'VERIFICATION_FAILED'
  | 'NOT_FOUND'
  | 'STORAGE_FAILED'
  | 'PROCESS_FAILED'
  | 'OUTPUT_TOO_LARGE'
  | 'MATTERMOST_UNAVAILABLE'
  | 'CANCELLED'
  | 'TIMED_OUT'
  | 'FORBIDDEN'
  | 'INTERNAL';

export interface ErrorOptions {
  cause?: unknown;
  /** What the admin should do next; shown under the message. */
  hint?: string;
  details?: Record<string, unknown>;
}

export class BridgeError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly details?: Record<string, unknown>;
  constructor(code: ErrorCode, message: string, opts: ErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = opts.hint;
    this.details = opts.details;
  }
}

export class UsageError extends BridgeError {
  constructor(message: string, opts?: ErrorOptions) {
    super('USAGE', message, opts);
  }
}

/** A config file that does not parse or does not match the schema; `issues` name key and problem. */
export class ConfigError extends BridgeError {
  readonly issues: string[];
  /** The same problems by key (`retention.keepLast`), for callers that show them next to a field. */
  readonly fields: Array<{ path: string; message: string }>;
  constructor(
    message: string,
    issues: string[] = [],
    opts?: ErrorOptions & { fields?: Array<{ path: string; message: string }> },
  ) {
    super('CONFIG_INVALID', issues.length ? `${message}\n  - ${issues.join('\n  - ')}` : message, opts);
    this.issues = issues;
    this.fields = opts?.fields ?? [];
  }
}

/** Something about the environment forbids the job from starting (disk, versions, a held lock). */
export class PreconditionError extends BridgeError {
  // eslint-disable-next-line @typescript-eslint/no-useless-constructor -- narrows which codes a PreconditionError carries
  constructor(
    code: 'PRECONDITION_FAILED' | 'LOCK_HELD' | 'DISK_SPACE' | 'VERSION_MISMATCH',
    message: string,
    opts?: ErrorOptions,
  ) {
    super(code, message, opts);
  }
}

export interface VerifyIssue {
  component: string;
  path?: string;
  object?: string;
  problem: string;
}

/** A snapshot failed verification; `issues` lists every problem found, not just the first. */
export class VerificationError extends BridgeError {
  readonly issues: VerifyIssue[];
  constructor(message: string, issues: VerifyIssue[], opts?: ErrorOptions) {
    super('VERIFICATION_FAILED', message, opts);
    this.issues = issues;
  }
}

/** Refused whoever asks (a component that holds secrets is never downloaded from the page). */
export class ForbiddenError extends BridgeError {
  constructor(message: string, opts?: ErrorOptions) {
    super('FORBIDDEN', message, opts);
  }
}

export class NotFoundError extends BridgeError {
  constructor(message: string, opts?: ErrorOptions) {
    super('NOT_FOUND', message, opts);
  }
}

export class StorageError extends BridgeError {
  /** True when retrying cannot help (no space, permission denied, bad key). */
  readonly permanent: boolean;
  constructor(
    message: string,
    opts: ErrorOptions & { permanent?: boolean } = {},
    code: 'STORAGE_FAILED' | 'DISK_SPACE' = 'STORAGE_FAILED',
  ) {
    super(code, message, opts);
    this.permanent = opts.permanent ?? false;
  }
}

/**
 * A key that is not a plain file where the storage keeps it (a link, a FIFO, a directory): refused
 * for good, and a sign that someone else wrote there (a signature file like that is damaged).
 */
export class NotRegularFileError extends StorageError {
  constructor(key: string, what: string, opts: ErrorOptions = {}) {
    super(`cannot read ${key}: ${what}`, { ...opts, permanent: true });
  }
}

/**
 * The repository's disk filled up during a job (ENOSPC, EDQUOT): code DISK_SPACE like the
 * up-front space check, with the figures known at that moment, never an internal error.
 */
export class DiskFullError extends StorageError {
  constructor(message: string, opts: ErrorOptions = {}) {
    super(
      message,
      {
        hint: 'free space on that disk (or move repository.path to a bigger one), or remove old snapshots with mm-backup prune; then run the job again',
        ...opts,
        permanent: true,
      },
      'DISK_SPACE',
    );
  }
}

export class ProcessError extends BridgeError {
  constructor(message: string, opts?: ErrorOptions) {
    super('PROCESS_FAILED', message, opts);
  }
}

/**
 * A child printed more than its caller keeps of an output it must read whole (JSON): reported as
 * that, with the limit, not as the parse error a cut-off text would give.
 */
export class OutputTooLargeError extends BridgeError {
  constructor(message: string, opts?: ErrorOptions) {
    super('OUTPUT_TOO_LARGE', message, opts);
  }
}

/**
 * A child process ran past its deadline (or went silent for too long) and was stopped: what
 * waited, for how long, and what to check, with the stopped process's failure as the cause.
 */
export class TimeoutError extends BridgeError {
  constructor(message: string, opts?: ErrorOptions) {
    super('TIMED_OUT', message, opts);
  }
}

export class MattermostError extends BridgeError {
  constructor(message: string, opts?: ErrorOptions) {
    super('MATTERMOST_UNAVAILABLE', message, opts);
  }
}

export class CancelledError extends BridgeError {
  constructor(message = 'cancelled', opts?: ErrorOptions) {
    super('CANCELLED', message, opts);
  }
}

/** Wraps anything that is not a BridgeError so boundaries only deal with one type. */
export function asBridgeError(err: unknown): BridgeError {
  if (err instanceof BridgeError) return err;
  if (err instanceof Error && err.name === 'AbortError') return new CancelledError('cancelled', { cause: err });
  const message = err instanceof Error ? err.message : String(err);
  return new BridgeError('INTERNAL', message, { cause: err });
}

/** Throws CancelledError when the signal is aborted; call between units of work. */
export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    throw reason instanceof BridgeError
      ? reason
      : new CancelledError(reason instanceof Error ? reason.message : 'cancelled');
  }
}
