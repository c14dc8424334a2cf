/** Verification results, stored beside the immutable manifests as verifications/<id>.json. */
import { z } from 'zod';
import type { Storage } from '../storage/storage';

const recordSchema = z.object({
  snapshotId: z.string(),
  at: z.string(),
  deep: z.boolean(),
  ok: z.boolean(),
  issues: z.array(z.object({ component: z.string(), path: z.string().optional(), object: z.string().optional(), problem: z.string() })),
});
export type VerificationRecord = z.infer<typeof recordSchema>;

export async function writeVerification(storage: Storage, rec: VerificationRecord): Promise<void> {
  await storage.put(`verifications/${rec.snapshotId}.json`, Buffer.from(JSON.stringify(rec)));
}

/** The latest verification of each snapshot; unreadable records are ignored (never trusted). */
export async function readVerifications(storage: Storage): Promise<Map<string, VerificationRecord>> {
  const out = new Map<string, VerificationRecord>();
  for await (const o of storage.list('verifications')) {
    try {
      const chunks: Buffer[] = [];
      for await (const c of await storage.get(o.key)) chunks.push(c as Buffer);
      const rec = recordSchema.parse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      out.set(rec.snapshotId, rec);
    } catch {
      /* a damaged record means "not verified" */
    }
  }
  return out;
}
