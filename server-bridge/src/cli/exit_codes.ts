/** The CLI's documented exit codes (README, "Exit codes"); scripts rely on them. */
import type { ErrorCode } from '../core/errors';

export const EXIT = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  PRECONDITION: 3,
  VERIFICATION: 4,
  CANCELLED: 130,
} as const;

export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'USAGE':
    case 'CONFIG_INVALID':
      return EXIT.USAGE;
    case 'PRECONDITION_FAILED':
    case 'LOCK_HELD':
    case 'DISK_SPACE':
    case 'VERSION_MISMATCH':
    case 'NOT_FOUND':
      return EXIT.PRECONDITION;
    case 'VERIFICATION_FAILED':
      return EXIT.VERIFICATION;
    case 'CANCELLED':
      return EXIT.CANCELLED;
    default:
      return EXIT.FAILURE;
  }
}
