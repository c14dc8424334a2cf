/**
 * How much room a backup may need in the repository, found as cheaply as the free space allows.
 * Each tree's exact figure needs a walk of it (a scan: at a million files 20-45 s, a walk the
 * backup then makes again); the used space of the filesystems the trees lie on bounds it without
 * one. Where the repository has room for the bounds (or is a bucket, which has no figure to check),
 * no tree is scanned and each tree's first pass reads as it walks; otherwise every tree is scanned,
 * as the exact figure may still fit. A sparse file (or one on a compressing filesystem) can take
 * more room stored than it takes on its disk: past the bound, such a backup fails on the full
 * repository disk (DISK_SPACE, nothing half-written) instead of being refused before it starts.
 */
import type { BackupComponent, Estimate } from '../components/component';

/** `bytes` the backup may need; `scanned` when the trees were walked to find it (their estimate() ran). */
export interface SpaceNeeded {
  bytes: number;
  scanned: boolean;
}

/**
 * Contract: calls `estimate` for every component without a bound (databases) and, only when the
 * bounds do not fit in `usable`, for the others too; a component whose estimate() did not run
 * must not expect it (its precopy and backup make the first pass).
 */
export async function spaceNeeded(
  components: readonly BackupComponent[],
  usable: number,
  estimate: (c: BackupComponent) => Promise<Estimate>,
): Promise<SpaceNeeded> {
  const byDisk = new Map<number, number>();
  const bounded: BackupComponent[] = [];
  const rest: BackupComponent[] = [];
  for (const c of components) {
    const b = c.bound ? await c.bound() : undefined;
    if (!b) {
      rest.push(c);
      continue;
    }
    bounded.push(c);
    byDisk.set(b.dev, b.bytes);
  }
  let bytes = 0;
  for (const c of rest) bytes += (await estimate(c)).changedBytes;
  const bound = [...byDisk.values()].reduce((a, b) => a + b, 0);
  if (bytes + bound <= usable) return { bytes: bytes + bound, scanned: false };
  for (const c of bounded) bytes += (await estimate(c)).changedBytes;
  return { bytes, scanned: bounded.length > 0 };
}
