/** The CLI's documented exit codes (README, "Exit codes"); scripts rely on them. */
import { BridgeError, type ErrorCode } from '../core/errors';

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

/**
 * A failure the command already reported in its own summary (with --json: `ok: false`, `error`
 * and `exit_code` in it): main() turns it into the exit code and says it on stderr, and writes
 * no second summary. `mm-backup status` while PostgreSQL is left down.
 */
export class ReportedFailure extends BridgeError {}
