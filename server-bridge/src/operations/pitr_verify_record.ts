/**
 * What the last `pgbackrest verify` of a deep verify found, kept beside physical mode's state
 * (`mm-backup-pitr/verify.json`, 0600 in the 0700 directory): status reads its WAL gaps on every
 * reading without running verify (which reads the whole repository) again. Outside the
 * repository, so a repository writer cannot hide a gap or invent one.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Config } from '../config/schema';
import type { WalGap } from '../database/pgbackrest/wal_gaps';
import { readRegularFile, replaceFile } from '../database/pgbackrest/safe_fs';
import { pitrStateFile } from './pitr_state';

const SEGMENT = /^[0-9A-F]{24}$/;
const recordSchema = z.strictObject({
  version: z.literal(1),
  at: z.iso.datetime(),
  ok: z.boolean(),
  gaps: z
    .array(
      z.strictObject({
        archiveId: z.string().max(64),
        lastBefore: z.string().regex(SEGMENT),
        firstAfter: z.string().regex(SEGMENT),
      }),
    )
    .max(1000),
});
export type PitrVerifyRecord = z.output<typeof recordSchema>;

function recordFile(cfg: Config): string {
  return path.join(path.dirname(pitrStateFile(cfg)), 'verify.json');
}

export async function savePitrVerifyRecord(cfg: Config, ok: boolean, gaps: WalGap[]): Promise<void> {
  const file = recordFile(cfg);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const rec: PitrVerifyRecord = { version: 1, at: new Date().toISOString(), ok, gaps: gaps.slice(0, 1000) };
  await replaceFile(file, JSON.stringify(rec, null, 2), { mode: 0o600 });
}

/** The last record, or undefined when none was written (or it is unreadable: then no gap is assumed, said by verify next time). */
export async function loadPitrVerifyRecord(cfg: Config): Promise<PitrVerifyRecord | undefined> {
  try {
    const text = (await readRegularFile(recordFile(cfg))).data.toString('utf8');
    const parsed = recordSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
