/**
 * A pack's index file, index/<packSha256>.json (layout.ts):
 *   {"format":"mm-backup-pack-index","version":1,"pack":"<sha256>","size":<pack bytes>,
 *    "objects":[{"sha256":"<sha256>","offset":<n>,"size":<n>}, ...]}
 * objects in offset order, back to back from offset 0 to `size`. Parsed as hostile input: whoever
 * can write the bucket can write this file, and a reader trusts it to cut slices out of a pack. A
 * slice is still checked against its SHA-256 when it is read; these checks make sure a lie in an
 * index is refused whole, before anything is looked up in it, and costs bounded memory.
 */
import { VerificationError, type ErrorOptions } from '../core/errors';
import { MAX_INDEX_FILE_BYTES, MAX_PACK_OBJECTS, MAX_PACK_SIZE, MAX_PACKED_OBJECT } from './pack_limits';

export const PACK_INDEX_FORMAT = 'mm-backup-pack-index';
export const PACK_INDEX_VERSION = 1;

/** One object of a pack: its bytes are pack[offset, offset + size). */
export interface PackedObject {
  sha256: string;
  offset: number;
  size: number;
}

/** A parsed, valid index: contiguous objects from 0 to `size`, distinct, each within the limits. */
export interface PackIndexFile {
  pack: string;
  size: number;
  objects: PackedObject[];
}

/** Why an index file was refused (stable, for callers and tests). */
export type PackIndexProblem =
  'too-large' | 'not-json' | 'format' | 'pack-name' | 'bad-object' | 'layout' | 'duplicate' | 'too-many';

/**
 * An index file that is not a valid pack index: code VERIFICATION_FAILED (the repository was
 * damaged or changed by someone else), `problem` saying which check failed, `pack` the pack its key names.
 */
export class PackIndexError extends VerificationError {
  readonly problem: PackIndexProblem;
  readonly pack: string;
  constructor(pack: string, problem: PackIndexProblem, message: string, opts?: ErrorOptions) {
    super(
      `pack index ${pack.slice(0, 12)}… is not valid: ${message}`,
      [{ component: 'pack-index', object: pack, problem: message }],
      {
        hint: 'the repository was damaged or changed by someone else; run mm-backup verify',
        ...opts,
      },
    );
    this.problem = problem;
    this.pack = pack;
  }
}

const SHA256 = /^[0-9a-f]{64}$/;
const TOP_KEYS = ['format', 'version', 'pack', 'size', 'objects'];
const OBJECT_KEYS = ['sha256', 'offset', 'size'];

const isCount = (v: unknown, max: number): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= max;

function hasExactKeys(v: unknown, keys: string[]): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const own = Object.keys(v);
  return own.length === keys.length && keys.every((k) => Object.prototype.hasOwnProperty.call(v, k));
}

/**
 * Parses index file `bytes` read from index/<expectedPack>.json. Throws PackIndexError for anything
 * but a valid index of exactly that pack: longer than MAX_INDEX_FILE_BYTES (checked before parsing),
 * not JSON, another format or version, unknown keys, another pack's name, a sha that is not 64
 * lowercase hex digits, an object over MAX_PACKED_OBJECT, gaps or overlaps (each object must start
 * where the previous ended, the first at 0, the last end at `size`), a sha twice, more than
 * MAX_PACK_OBJECTS objects or none, a size over MAX_PACK_SIZE.
 */
export function parsePackIndexFile(bytes: Buffer | string, expectedPack: string): PackIndexFile {
  const fail = (problem: PackIndexProblem, message: string, cause?: unknown): never => {
    throw new PackIndexError(expectedPack, problem, message, cause === undefined ? {} : { cause });
  };
  const length = typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.length;
  if (length > MAX_INDEX_FILE_BYTES) fail('too-large', `${length} bytes, more than ${MAX_INDEX_FILE_BYTES}`);
  let doc: unknown;
  try {
    doc = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
  } catch (err) {
    fail('not-json', 'not JSON', err);
  }
  if (!hasExactKeys(doc, TOP_KEYS)) return fail('format', `expected exactly the keys ${TOP_KEYS.join(', ')}`);
  if (doc.format !== PACK_INDEX_FORMAT || doc.version !== PACK_INDEX_VERSION) {
    fail(
      'format',
      `format ${JSON.stringify(doc.format)} version ${JSON.stringify(doc.version)}, expected ${PACK_INDEX_FORMAT} ${PACK_INDEX_VERSION}`,
    );
  }
  if (doc.pack !== expectedPack) fail('pack-name', 'it names another pack than its file name does');
  if (!isCount(doc.size, MAX_PACK_SIZE)) fail('format', `size must be a whole number of at most ${MAX_PACK_SIZE}`);
  const objects = doc.objects;
  if (!Array.isArray(objects) || objects.length === 0) return fail('format', 'objects must be a non-empty list');
  if (objects.length > MAX_PACK_OBJECTS) fail('too-many', `${objects.length} objects, more than ${MAX_PACK_OBJECTS}`);
  const seen = new Set<string>();
  const out: PackedObject[] = [];
  let end = 0;
  for (const [i, o] of (objects as unknown[]).entries()) {
    if (!hasExactKeys(o, OBJECT_KEYS)) {
      return fail('bad-object', `object ${i} must have exactly ${OBJECT_KEYS.join(', ')}`);
    }
    const { sha256, offset, size } = o;
    if (typeof sha256 !== 'string' || !SHA256.test(sha256)) {
      return fail('bad-object', `object ${i}: sha256 is not 64 lowercase hex digits`);
    }
    if (!isCount(offset, MAX_PACK_SIZE)) {
      return fail('bad-object', `object ${i}: offset is not a whole number in range`);
    }
    if (!isCount(size, MAX_PACKED_OBJECT)) {
      return fail('bad-object', `object ${i}: size is not a whole number of at most ${MAX_PACKED_OBJECT}`);
    }
    if (offset !== end) {
      return fail('layout', `object ${i} starts at ${offset}, expected ${end} (${offset < end ? 'overlap' : 'gap'})`);
    }
    if (seen.has(sha256)) return fail('duplicate', `object ${sha256.slice(0, 12)}… is listed twice`);
    seen.add(sha256);
    end += size;
    out.push({ sha256, offset, size });
  }
  if (end !== doc.size) fail('layout', `its objects end at ${end}, the pack is said to be ${doc.size as number} bytes`);
  return { pack: expectedPack, size: doc.size as number, objects: out };
}

/** The index file's text (keys in the documented order, one line: jq reads it either way). */
export function serializePackIndexFile(index: PackIndexFile): string {
  return `${JSON.stringify({
    format: PACK_INDEX_FORMAT,
    version: PACK_INDEX_VERSION,
    pack: index.pack,
    size: index.size,
    objects: index.objects.map((o) => ({ sha256: o.sha256, offset: o.offset, size: o.size })),
  })}\n`;
}
