/**
 * What a restore --at in progress did to PostgreSQL, kept OUTSIDE the repository (beside the
 * signing key, like jobs/rollback_marker.ts): the job lock lives in the repository, and whoever
 * can write there must not be able to make the successor of a killed job rename or remove a
 * directory of their choosing. Written before PostgreSQL is stopped, removed once the restored
 * cluster is committed to (or the old one is back). It names the job that wrote it: a successor
 * acts on it only for that job's stale lock, and a repair that could not complete sets it aside
 * (`<name>.failed-<stamp>`) so that no later job puts an old directory back over a newer one.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ASIDE_MARK } from '../database/pgbackrest/data_dir';

const NAME = 'mm-backup-pitr-restore.json';

const markerSchema = z.object({ dataDir: z.string(), aside: z.string(), jobId: z.string().optional() });
/** The data directory, where a restore moves (or moved) it aside, and the restore's job id (absent: an older version wrote it). */
export type PitrRestoreMarker = z.output<typeof markerSchema>;

function markerFile(keyFile: string | undefined): string | undefined {
  return keyFile ? path.join(path.dirname(keyFile), NAME) : undefined;
}

export async function writePitrRestoreMarker(keyFile: string | undefined, m: PitrRestoreMarker): Promise<void> {
  const file = markerFile(keyFile);
  if (!file) return;
  const tmp = `${file}.${randomBytes(6).toString('hex')}`;
  await writeFile(tmp, `${JSON.stringify(m)}\n`, { mode: 0o600 });
  await rename(tmp, file);
}

/** The marker, or undefined; one whose aside is not `<dataDir>.before-restore-…` is ignored. */
export async function readPitrRestoreMarker(keyFile: string | undefined): Promise<PitrRestoreMarker | undefined> {
  const file = markerFile(keyFile);
  if (!file) return undefined;
  try {
    const m = markerSchema.parse(JSON.parse(await readFile(file, 'utf8')));
    const ok =
      path.isAbsolute(m.dataDir) &&
      m.aside.startsWith(`${m.dataDir}${ASIDE_MARK}`) &&
      !m.aside.slice(m.dataDir.length).includes('/');
    return ok ? m : undefined;
  } catch {
    return undefined;
  }
}

export async function clearPitrRestoreMarker(keyFile: string | undefined): Promise<void> {
  const file = markerFile(keyFile);
  if (file) await rm(file, { force: true });
}

/** Renames the marker to `<name>.failed-<UTC stamp>` (kept for the admin, acted on by nothing); its new path, or undefined when there was none. */
export async function setAsidePitrRestoreMarker(keyFile: string | undefined): Promise<string | undefined> {
  const file = markerFile(keyFile);
  if (!file) return undefined;
  const to = `${file}.failed-${new Date().toISOString().replace(/[-:.]/g, '')}`;
  try {
    await rename(file, to);
    return to;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
