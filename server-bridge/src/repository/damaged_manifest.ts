/** A manifest that does not parse is a verification finding (exit 4), not a storage fault. */
import { VerificationError } from '../core/errors';

/** The error for manifest `key` that cannot be used: `problem` says why (not JSON, invalid). */
export function damagedManifest(key: string, problem: string, cause?: unknown): VerificationError {
  return new VerificationError(`manifest ${key} ${problem}`, [{ component: 'manifest', path: key, problem }], {
    cause,
    hint: 'this snapshot cannot be verified or restored; use another one (mm-backup list) and check the repository disk',
  });
}
