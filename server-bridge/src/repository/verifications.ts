/**
 * Verification results, stored beside the immutable manifests as verifications/<id>.json, each
 * signed (verifications/<id>.sig) like a manifest: a forged "verified OK" written into the
 * repository must not make retention keep, or an admin trust, a snapshot nobody checked.
 */
import { z } from 'zod';
import type { Storage } from '../storage/storage';
import { sha256Hex, type SigningKey } from './signing';
import { MAX_SIGNATURE_BYTES, MAX_VERIFICATION_BYTES } from './read_limits';
import { readOptional, type TrustPolicy } from './trust';
import { parseVerificationKey, VERIFICATIONS, verificationKey, verificationSignatureKey } from './layout';

const recordSchema = z.object({
  snapshotId: z.string(),
  at: z.string(),
  deep: z.boolean(),
  ok: z.boolean(),
  issues: z.array(
    z.object({
      component: z.string(),
      path: z.string().optional(),
      object: z.string().optional(),
      problem: z.string(),
    }),
  ),
});
export type VerificationRecord = z.infer<typeof recordSchema>;

/** Writes the record; with `signer` its signature first, so a visible record is already signed. */
export async function writeVerification(storage: Storage, rec: VerificationRecord, signer?: SigningKey): Promise<void> {
  const bytes = Buffer.from(JSON.stringify(rec));
  if (signer) {
    await storage.put(
      verificationSignatureKey(rec.snapshotId),
      signer.sign('verification', rec.snapshotId, sha256Hex(bytes)),
    );
  } else await storage.delete(verificationSignatureKey(rec.snapshotId));
  await storage.put(verificationKey(rec.snapshotId), bytes);
}

/** Removes a snapshot's record and its signature. */
export async function deleteVerification(storage: Storage, id: string): Promise<void> {
  await storage.delete(verificationKey(id));
  await storage.delete(verificationSignatureKey(id));
}

/**
 * The latest verification of each snapshot that is signed by a key `trust` accepts. Unreadable,
 * unsigned and untrusted records (and ones longer than read_limits.ts allows) are ignored: they
 * mean "not verified", never "verified".
 */
export async function readVerifications(
  storage: Storage,
  trust: TrustPolicy,
): Promise<Map<string, VerificationRecord>> {
  const out = new Map<string, VerificationRecord>();
  for await (const o of storage.list(VERIFICATIONS)) {
    const id = parseVerificationKey(o.key);
    if (!id) continue;
    try {
      const bytes = await readOptional(storage, o.key, MAX_VERIFICATION_BYTES);
      if (!bytes) continue;
      const rec = recordSchema.parse(JSON.parse(bytes.toString('utf8')));
      if (rec.snapshotId !== id) continue;
      const verdict = await trust.check(
        'verification',
        id,
        sha256Hex(bytes),
        await readOptional(storage, verificationSignatureKey(id), MAX_SIGNATURE_BYTES),
      );
      if (verdict.state === 'signed') out.set(id, rec);
    } catch {
      /* a damaged record means "not verified" */
    }
  }
  return out;
}
