/**
 * The repository layout, in one place: every key a repository holds, the files beside it, and
 * the one listing of snapshots. The README's "The repository, and restoring by hand" section
 * documents the same layout for people; keep the two in step.
 *
 *   repository.json                 marker (repository/marker.ts): format, id, encryption
 *   keys/repository-key.age         off-site, passphrase: the repository's age identity, sealed
 *   keys/check.age                  off-site, encrypted: a known text proving the configured key
 *   objects/<ab>/<sha256>           every distinct content once, named by its SHA-256
 *   packs/<ab>/<sha256>             a pack: packed objects' exact bytes back to back, named by the
 *                                   SHA-256 of the whole file (pack_writer.ts; not written yet)
 *   index/<packSha256>.json         a pack's index: where each object is in it (pack_index_file.ts)
 *   snapshots/<id>.json             a manifest, written last: the snapshot exists from then on
 *   snapshots/<id>.sig              its signature, written just before it
 *   verifications/<id>.json, .sig   the last verification of a snapshot, and its signature
 *   lock.json                       the job lock (local repository directory only; jobs/lock.ts)
 *   tmp/                            staging (local directory only; the local storage's temp dir)
 */
import { UsageError } from '../core/errors';
import { SNAPSHOT_ID } from '../manifest/manifest';
import type { Storage } from '../storage/storage';

export const MARKER_KEY = 'repository.json';
/** The off-site repository's own age identity, encrypted with the passphrase (scrypt). */
export const SEALED_KEY_KEY = 'keys/repository-key.age';
/** A known text encrypted to the repository's recipients: decrypting it proves the key. */
export const KEY_CHECK_KEY = 'keys/check.age';
/** The job lock's file name in the local repository directory (not a storage key: never off-site). */
export const LOCK_FILE = 'lock.json';

export const OBJECTS = 'objects';
export const PACKS = 'packs';
export const PACK_INDEXES = 'index';
export const SNAPSHOTS = 'snapshots';
export const VERIFICATIONS = 'verifications';

/** Keys an encrypted repository stores as they are: the marker says the rest is encrypted, key files are age files already. */
export function isPlaintextKey(key: string): boolean {
  return key === MARKER_KEY || key.startsWith('keys/');
}

export function objectKey(sha256: string): string {
  return `${OBJECTS}/${sha256.slice(0, 2)}/${sha256}`;
}

/** The object's name from its key, or undefined for anything else under objects/. */
export function objectOfKey(key: string): string | undefined {
  const sha = key.split('/').at(-1) ?? '';
  return /^[0-9a-f]{64}$/.test(sha) && key === objectKey(sha) ? sha : undefined;
}

/**
 * A pack (content-addressed like an object, never modified). Write order: the pack, then its
 * index, then (after the repository's sync) the manifest that uses them. A pack without an index
 * is an orphan nobody reads; an index whose pack is missing means its objects are missing.
 */
export function packKey(packSha256: string): string {
  return `${PACKS}/${packSha256.slice(0, 2)}/${packSha256}`;
}

/** The pack's name from its key, or undefined for anything else under packs/. */
export function packOfKey(key: string): string | undefined {
  const sha = key.split('/').at(-1) ?? '';
  return /^[0-9a-f]{64}$/.test(sha) && key === packKey(sha) ? sha : undefined;
}

/** The index of pack `packSha256`: which objects it holds, at which offsets (pack_index_file.ts). */
export function packIndexKey(packSha256: string): string {
  return `${PACK_INDEXES}/${packSha256}.json`;
}

/** The pack an index key names, or undefined for anything else under index/. */
export function packOfIndexKey(key: string): string | undefined {
  return /^index\/([0-9a-f]{64})\.json$/.exec(key)?.[1];
}

export function snapshotKey(id: string): string {
  if (!SNAPSHOT_ID.test(id)) {
    throw new UsageError(`"${id}" is not a snapshot id (expected e.g. 20260101T030000Z-a1b2c3)`);
  }
  return `${SNAPSHOTS}/${id}.json`;
}

/** The manifest's signature (repository/signing.ts), beside it so readers that predate signing still work. */
export function snapshotSignatureKey(id: string): string {
  return `${SNAPSHOTS}/${id}.sig`;
}

export function verificationKey(id: string): string {
  return `${VERIFICATIONS}/${id}.json`;
}

export function verificationSignatureKey(id: string): string {
  return `${VERIFICATIONS}/${id}.sig`;
}

/** What a key under snapshots/ is: a manifest or a signature of a valid snapshot id, else undefined. */
export function parseSnapshotKey(key: string): { id: string; kind: 'manifest' | 'signature' } | undefined {
  const m = /^snapshots\/(.+)\.(json|sig)$/.exec(key);
  if (!m || !SNAPSHOT_ID.test(m[1] as string)) return undefined;
  return { id: m[1] as string, kind: m[2] === 'json' ? 'manifest' : 'signature' };
}

/** The snapshot id of a verification record's key, or undefined. */
export function parseVerificationKey(key: string): string | undefined {
  return /^verifications\/(.+)\.json$/.exec(key)?.[1];
}

/**
 * The one listing of snapshots: which ids have a manifest (the snapshot exists) and which have a
 * signature, by key name only (nothing read or decrypted), ids in lexical (= time) order; and
 * each manifest's size as stored.
 */
export async function listSnapshotKeys(
  storage: Storage,
): Promise<{ manifests: string[]; signatures: Set<string>; sizes: Map<string, number> }> {
  const manifests: string[] = [];
  const signatures = new Set<string>();
  const sizes = new Map<string, number>();
  for await (const o of storage.list(SNAPSHOTS)) {
    const k = parseSnapshotKey(o.key);
    if (k?.kind === 'manifest') {
      manifests.push(k.id);
      sizes.set(k.id, o.size);
    } else if (k) signatures.add(k.id);
  }
  return { manifests: manifests.sort(), signatures, sizes };
}

/** Ids of the snapshots whose manifest exists in `storage`. */
export async function snapshotIds(storage: Storage): Promise<Set<string>> {
  return new Set((await listSnapshotKeys(storage)).manifests);
}
