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
    /** Custom endpoint for MinIO, Ceph RGW, B2, Wasabi…; omit for AWS. */
    endpoint: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://s3.eu-central-003.backblazeb2.com' })
      .optional(),
    region: z.string().min(1).default('us-east-1'),
    bucket: z
      .string()
      .regex(
        /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
        'must be an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)',
      ),
    prefix: z
      .string()
      .regex(
        /^([A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*)?$/,
        'must be a relative key prefix such as "mattermost/prod" (letters, digits, . _ -)',
      )
      .default(''),
    /** Path-style URLs (endpoint/bucket/key); MinIO and most self-hosted servers need it. */
    forcePathStyle: z.boolean().default(false),
    /** 0600 files holding the access key id and secret; without them the standard AWS chain applies (AWS_* env, ~/.aws, instance role). */
    accessKeyIdFile: absolute.optional(),
    secretAccessKeyFile: absolute.optional(),
  })
  .refine((s) => !!s.accessKeyIdFile === !!s.secretAccessKeyFile, {
    error: 'accessKeyIdFile and secretAccessKeyFile go together',
    path: ['secretAccessKeyFile'],
  });

export const encryptionSchema = z
  .strictObject({
    /** age public keys (age1…) new objects are encrypted to; the server needs no secret for these. */
    recipients: z
      .array(
        z.string().regex(/^age1[0-9a-z]{20,}$/, 'must be an age recipient (age1…), as printed by mm-backup keygen'),
      )
      .default([]),
    /** 0600 file with age identities (AGE-SECRET-KEY-1…), needed to read: list/verify/restore. */
    identityFile: absolute.optional(),
    /** 0600 file with a passphrase that unlocks the repository's own key (stored in the bucket, scrypt-protected). */
    passphraseFile: absolute.optional(),
  })
  .refine((e) => e.recipients.length > 0 || !!e.identityFile || !!e.passphraseFile, {
    error: 'needs recipients, identityFile or passphraseFile',
  });

/** Built from the top-level retention schema so both sides share one shape. */
export function offsiteSchema<R extends z.ZodType>(retention: R) {
  return z.strictObject({
    /** replicate: keep the local repository and copy each snapshot off-site; direct: the bucket is the repository. */
    mode: z.enum(['replicate', 'direct']).default('replicate'),
    s3: s3Schema,
    encryption: encryptionSchema.optional(),
    /** Retention of the off-site copies; default: the same as the local one. */
    retention: retention.optional(),
    /** Deprecated: read as backup.replicateAfter when that is not set (config/load.ts says so once). */
    replicateAfterBackup: z.boolean().optional(),
    retry: z
      .strictObject({
        attempts: z.number().int().min(1).max(20).default(6),
        baseDelayMs: z.number().int().min(1).max(60_000).default(1000),
        maxDelayMs: z.number().int().min(1).max(600_000).default(30_000),
      })
      .prefault({}),
  });
}
