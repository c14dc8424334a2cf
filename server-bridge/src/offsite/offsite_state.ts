/**
 * Which snapshots have an off-site copy. Only key names are listed (never decrypted), so this
 * works on a write-only host and costs one listing.
 */
import type { Storage } from '../storage/storage';
import { snapshotIds } from '../repository/layout';

export type OffsiteState = 'present' | 'absent' | 'unknown';

/** The time a snapshot was started, from its id (20260101T030000Z-a1b2c3), without reading it. */
export function snapshotTime(id: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(id);
  if (!m) return new Date(0);
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

/**
 * The off-site state of each listed snapshot, or undefined when no off-site storage is configured.
 * In mode "direct" everything listed is off-site; in mode "replicate" the bucket is listed, and
 * when it cannot be reached every state is "unknown", with the reason.
 */
export async function offsiteStates(
  ec: { cfg: { offsite?: { mode: string } }; offsite?: (create?: boolean) => Promise<{ storage: Storage }> },
  ids: string[],
): Promise<{ states: Map<string, OffsiteState>; warning?: string } | undefined> {
  if (!ec.cfg.offsite) return undefined;
  if (ec.cfg.offsite.mode === 'direct' || !ec.offsite) return { states: new Map(ids.map((id) => [id, 'present'])) };
  try {
    const remote = await snapshotIds((await ec.offsite(false)).storage);
    return { states: new Map(ids.map((id) => [id, remote.has(id) ? 'present' : 'absent'])) };
  } catch (err) {
    if ((err as { code?: string }).code === 'NOT_FOUND') return { states: new Map(ids.map((id) => [id, 'absent'])) };
    return {
      states: new Map(ids.map((id) => [id, 'unknown'])),
      warning: `the off-site copy could not be checked: ${(err as Error).message}`,
    };
  }
}
