/** Checking an object's bytes, read whole, against its name and its size in the manifest. */
import { createHash } from 'node:crypto';
import type { PackLocation } from './pack_index';

/** The problem with an object's bytes read whole (a packed one's names its pack), or undefined. */
export function checkBytes(
  sha256: string,
  size: number | undefined,
  buf: Buffer,
  loc?: PackLocation,
): string | undefined {
  const actual = createHash('sha256').update(buf).digest('hex');
  const where = loc ? ` in pack ${loc.pack.slice(0, 12)}… at byte ${loc.offset}` : '';
  if (actual !== sha256) return `content does not match its checksum (got ${actual.slice(0, 12)}…)${where}`;
  if (size !== undefined && buf.length !== size) {
    return `size ${buf.length} differs from the manifest's ${size}${where}`;
  }
  return undefined;
}
