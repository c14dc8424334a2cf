/**
 * The bounds on repository files that are read whole into memory (docs/security.md). Anyone who
 * can write the repository or the bucket can make any file huge; each is refused as it arrives
 * (storage.ts readAtMost) past a bound well above anything mm-backup writes, so a hostile or
 * broken file costs at most that much memory instead of the sidecar (with Mattermost perhaps
 * stopped). Pack indexes are bounded by MAX_INDEX_FILE_BYTES (pack_limits.ts), packs read whole
 * by their index's size, manifests are streamed (manifest_io.ts).
 */
import { VerificationError } from '../core/errors';
import { readBufferAtMost, type ReadOptions, type Storage } from '../storage/storage';
import { objectKey } from './layout';

/** repository.json: a few hundred bytes (marker.ts). */
export const MAX_MARKER_BYTES = 64 * 1024;

/** A signature file (.sig of a snapshot or a verification record): about 450 bytes (signing.ts). */
export const MAX_SIGNATURE_BYTES = 64 * 1024;

/**
 * A verification record: at most MAX_LISTED_ISSUES (1000) issues, each a path (at most 4 KiB on
 * Linux) and a problem of a line or two, so at most ~5 MB.
 */
export const MAX_VERIFICATION_BYTES = 16 * 1024 * 1024;

/** The off-site key files (the passphrase-sealed key, the key check): age files of one short text. */
export const MAX_KEY_FILE_BYTES = 1024 * 1024;

/**
 * An object read whole when its caller does not know its size (Repository.readObjectBytes, meant
 * for small files such as a config.json): a larger one is refused, not held.
 */
export const MAX_WHOLE_OBJECT_BYTES = 64 * 1024 * 1024;

/**
 * A repository file longer than its bound: code VERIFICATION_FAILED (the repository was damaged
 * or changed by someone else), naming the key and the bound.
 */
export class FileTooLargeError extends VerificationError {
  readonly key: string;
  readonly max: number;
  constructor(key: string, max: number, what = 'mm-backup never writes one that large') {
    super(
      `${key} is longer than ${max} bytes (${what}), so it is not read`,
      [{ component: 'repository', path: key, problem: `longer than ${max} bytes` }],
      {
        hint: 'the repository was damaged or changed by someone else: check who can write to it, then run mm-backup verify (see docs/security.md)',
      },
    );
    this.key = key;
    this.max = max;
  }
}

/** The `tooLong` of readBufferAtMost for `key`: a FileTooLargeError. */
export const tooLarge =
  (key: string, what?: string) =>
  (max: number): FileTooLargeError =>
    new FileTooLargeError(key, max, what);

/**
 * An object file read whole (Repository.readObjectBytes): refused as soon as it passes `size`,
 * the size its manifest gives it (a longer file cannot match its checksum), and never past
 * MAX_WHOLE_OBJECT_BYTES (whatever a manifest says). NotFoundError when there is none.
 */
export function readObjectFile(
  storage: Storage,
  sha256: string,
  opts: ReadOptions & { size?: number } = {},
): Promise<Buffer> {
  const key = objectKey(sha256);
  // The manifest's size can only lower the bound: a hostile manifest naming a huge size must not lift it.
  const bySnapshot = opts.size !== undefined && opts.size < MAX_WHOLE_OBJECT_BYTES;
  const why = bySnapshot ? 'the size its snapshot gives it' : 'read whole only up to that';
  return readBufferAtMost(
    storage,
    key,
    bySnapshot ? (opts.size as number) : MAX_WHOLE_OBJECT_BYTES,
    tooLarge(key, why),
    opts,
  );
}
