/** Checking an object's bytes, read whole, against its name and its size in the manifest. */
import { createHash } from 'node:crypto';
import { VerificationError } from '../core/errors';
import { plural } from '../core/units';
import type { OutOfRangeError } from '../storage/range';
import type { BrokenPackIndex, PackLocation } from './pack_index';

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

/** Refuses content read for use that is not the object the manifest names (exit 4). */
export function assertSameObject(sha256: string, actual: string): void {
  if (actual === sha256) return;
  throw new VerificationError(
    `object ${sha256.slice(0, 12)}… does not match its checksum (got ${actual.slice(0, 12)}…): the repository was changed or damaged since the backup, and it is not used`,
    [{ component: 'object', object: sha256, problem: 'content does not match its checksum' }],
    { hint: 'someone or something changed the repository; run mm-backup verify and see docs/security.md' },
  );
}

/** "object is missing", naming the pack index files that could not be read (`broken`): one may have listed it. */
export function missingProblem(broken: readonly BrokenPackIndex[]): string {
  if (!broken.length) return 'object is missing';
  return `object is missing: it is no object file and in no readable pack, and ${plural(broken.length, 'pack index', 'pack indexes')} cannot be read (${(broken[0] as BrokenPackIndex).key}${broken.length > 1 ? ', …' : ''}): one may list it`;
}

/** A packed object's slice reaches past the end of its pack (`indexed`: the pack's size its index gives): the pack was cut short. */
export function cutShortProblem(loc: PackLocation, err: OutOfRangeError, indexed: number | undefined): string {
  const has = err.size === undefined ? 'ends before it' : `has ${err.size} bytes`;
  return `object is missing: its pack ${loc.pack.slice(0, 12)}… ${has}${indexed === undefined ? '' : `, its index says ${indexed}`} (cut short); the object was at bytes ${loc.offset}-${loc.offset + loc.size - 1}`;
}
