/**
 * The `offsite` config block: an S3-compatible bucket that holds either copies of the local
 * snapshots (mode "replicate") or the repository itself (mode "direct"), optionally age-encrypted.
 * Secrets (S3 keys, the age identity, the passphrase) only ever come from 0600 files or the
 * environment, never from this JSON.
 */
import { z } from 'zod';

const absolute = z
  .string()
  .min(1)
  .refine((p) => p.startsWith('/'), 'must be an absolute path');

export const s3Schema = z
  .strictObject({
    endpoint: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://s3.eu-central-003.backblazeb2.com' })
      .optional()
      .describe('The S3 API URL of MinIO, Ceph RGW, Backblaze B2, Wasabi…; unset: AWS.'),
    region: z.string().min(1).default('us-east-1').describe("The bucket's region."),
    bucket: z
      .string()
      .regex(
        /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
        'must be an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)',
      )
      .describe('The bucket the repository lives in.'),
    prefix: z
      .string()
      .regex(
        /^([A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*)?$/,
        'must be a relative key prefix such as "mattermost/prod" (letters, digits, . _ -)',
      )
      .default('')
      .describe('Key prefix of the repository in the bucket; one prefix per Mattermost server.'),
    forcePathStyle: z
      .boolean()
      .default(false)
      .describe('Path-style URLs (endpoint/bucket/key); MinIO and most self-hosted servers need `true`.'),
    accessKeyIdFile: absolute
      .optional()
      .describe(
        'A 0600 file with the access key id; with `secretAccessKeyFile` (both or neither). Unset: the standard AWS chain (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, `AWS_PROFILE` and `~/.aws`, an instance role).',
      ),
    secretAccessKeyFile: absolute.optional().describe('A 0600 file with the secret access key.'),
  })
  .refine((s) => !!s.accessKeyIdFile === !!s.secretAccessKeyFile, {
    error: 'accessKeyIdFile and secretAccessKeyFile go together',
    path: ['secretAccessKeyFile'],
  });

export const encryptionSchema = z
  .strictObject({
    recipients: z
      .array(
        z.string().regex(/^age1[0-9a-z]{20,}$/, 'must be an age recipient (age1…), as printed by mm-backup keygen'),
      )
      .default([])
      .describe(
        'age public keys (`age1…`, from `mm-backup keygen`) every object is encrypted to; the server needs no secret to write.',
      ),
    identityFile: absolute
      .optional()
      .describe(
        'A 0600 file with the age identity (`AGE-SECRET-KEY-1…`), needed only to read (verify, restore, list in `direct` mode); keep it off the server when you can.',
      ),
    passphraseFile: absolute
      .optional()
      .describe(
        "A 0600 file with a passphrase that unlocks the repository's own key (stored in the bucket, scrypt-protected).",
      ),
  })
  .refine((e) => e.recipients.length > 0 || !!e.identityFile || !!e.passphraseFile, {
    error: 'needs recipients, identityFile or passphraseFile',
  });

/** Built from the top-level retention schema so both sides share one shape. */
export function offsiteSchema<R extends z.ZodType>(retention: R) {
  return z.strictObject({
    mode: z
      .enum(['replicate', 'direct'])
      .default('replicate')
      .describe(
        '`replicate`: the local repository plus a copy of each snapshot off-site; `direct`: the bucket is the repository (`repository.path` still holds the lock and staging).',
      ),
    s3: s3Schema.describe('Where the bucket is.'),
    encryption: encryptionSchema
      .optional()
      .describe(
        'age encryption of everything under the prefix; needs `recipients`, `identityFile` or `passphraseFile`.',
      ),
    retention: retention
      .optional()
      .describe('What stays off-site (the keys of `retention`); unset: the same as `retention`.'),
    replicateAfterBackup: z
      .boolean()
      .optional()
      .describe('Deprecated: read as `backup.replicateAfter` when that is not set, with a notice.'),
    retry: z
      .strictObject({
        attempts: z.number().int().min(1).max(20).default(6).describe('Tries of one request.'),
        baseDelayMs: z.number().int().min(1).max(60_000).default(1000).describe('First backoff delay.'),
        maxDelayMs: z.number().int().min(1).max(600_000).default(30_000).describe('Longest backoff delay.'),
      })
      .prefault({})
      .describe(
        'Retries with exponential backoff on transient errors (network, 5xx, throttling); access and configuration errors fail at once.',
      ),
  });
}
