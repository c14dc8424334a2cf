/**
 * Which safety snapshot a restore in progress may be rolled back from, kept OUTSIDE the repository
 * (beside the signing key, which is trusted for the same reason): the job lock lives in the
 * repository, and whoever can write there could name any genuine older safety snapshot in a
 * planted lock, and hide every newer snapshot by deleting its signature. The marker is written
 * before a restore starts overwriting and removed when the restore ends (or was rolled back).
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

const NAME = 'mm-backup-rollback.json';

/** The marker file for a signing key file; none for a host without one (no rollback after a kill). */
function markerFile(keyFile: string | undefined): string | undefined {
  return keyFile ? path.join(path.dirname(keyFile), NAME) : undefined;
}

/** Records that `safetySnapshotId` holds the state before the running restore (0600, atomic). */
export async function writeRollbackMarker(keyFile: string | undefined, safetySnapshotId: string): Promise<void> {
  const file = markerFile(keyFile);
  if (!file) return;
  const tmp = `${file}.${randomBytes(6).toString('hex')}`;
  await writeFile(tmp, `${JSON.stringify({ safetySnapshotId })}\n`, { mode: 0o600 });
  await rename(tmp, file);
}

/** The safety snapshot a killed restore recorded, or undefined when none is recorded. */
export async function readRollbackMarker(keyFile: string | undefined): Promise<string | undefined> {
  const file = markerFile(keyFile);
  if (!file) return undefined;
  try {
    const id = (JSON.parse(await readFile(file, 'utf8')) as { safetySnapshotId?: unknown }).safetySnapshotId;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Forgets the marker: the restore ended, or its rollback was done. */
export async function clearRollbackMarker(keyFile: string | undefined): Promise<void> {
  const file = markerFile(keyFile);
  if (file) await rm(file, { force: true });
}
