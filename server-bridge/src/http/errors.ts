/**
 * The HTTP boundary: every error becomes Mattermost's error shape
 * `{id, message, detailed_error, request_id, status_code}` with a status chosen once, here.
 */
import type { ErrorBody, FieldError } from '@mm-backup/api';
import { asBridgeError, ConfigError, type ErrorCode } from '../core/errors';
import { redact } from '../core/redact';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly id: string,
    message: string,
    readonly errors?: FieldError[],
  ) {
    super(message);
  }
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  USAGE: 400,
  CONFIG_INVALID: 400,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  LOCK_HELD: 409,
  CANCELLED: 409,
  PRECONDITION_FAILED: 412,
  DISK_SPACE: 507,
  VERSION_MISMATCH: 412,
  VERIFICATION_FAILED: 422,
  MATTERMOST_UNAVAILABLE: 503,
  TIMED_OUT: 504,
};

export function toErrorBody(err: unknown, requestId: string): ErrorBody {
  if (err instanceof HttpError) {
    return {
      id: err.id,
      message: err.message,
      detailed_error: '',
      request_id: requestId,
      status_code: err.status,
      ...(err.errors ? { errors: err.errors } : {}),
    };
  }
  const fastifyErr = err as { statusCode?: number; code?: string; message?: string; validation?: unknown };
  if (fastifyErr.statusCode && fastifyErr.statusCode < 500 && !(err as { code?: string }).code?.match(/^[A-Z_]+$/)) {
    return {
      id: 'mm_backup.request.invalid',
      message: fastifyErr.message ?? 'bad request',
      detailed_error: '',
      request_id: requestId,
      status_code: fastifyErr.statusCode,
    };
  }
  if (fastifyErr.statusCode && fastifyErr.code?.startsWith('FST_')) {
    return {
      id: 'mm_backup.request.invalid',
      message: fastifyErr.message ?? 'bad request',
      detailed_error: '',
      request_id: requestId,
      status_code: fastifyErr.statusCode,
    };
  }
  const e = asBridgeError(err);
  const status = STATUS[e.code] ?? 500;
  return {
    id: `mm_backup.${e.code.toLowerCase()}`,
    message: status === 500 && e.code === 'INTERNAL' ? 'internal error; see the sidecar log' : redact(e.message),
    detailed_error: '',
    request_id: requestId,
    status_code: status,
    hint: e.hint ? redact(e.hint) : undefined,
    // A config problem found by path (settings): each one, so the page can show it by its field.
    ...(e instanceof ConfigError && e.fields.length
      ? { errors: e.fields.map((f) => ({ path: f.path, message: redact(f.message) })) }
      : {}),
  };
}
