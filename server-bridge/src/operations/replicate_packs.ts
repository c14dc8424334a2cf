/**
 * Packs in replicate (docs/storage.md "Packs"): a needed object that is packed locally goes
 * off-site in its whole pack, the pack file and then its index copied as they are (encrypted on
 * the way when the off-site copy is), so the off-site copy has the local layout and names. The
 * off-site sweep removes packs none of whose objects a remaining off-site snapshot uses. There is
 * no off-site repack: a pack with one object still in use stays whole.
 */
import { lstat, stat } from 'node:fs/promises';
import path from 'node:path';
import { NotFoundError, StorageError } from '../core/errors';
import type { PrefixSet } from '../core/hash_set';
import { packIndexKey, packKey, packOfIndexKey, packOfKey, PACK_INDEXES, PACKS } from '../repository/layout';
import { MAX_INDEX_FILE_BYTES } from '../repository/pack_limits';
import { PackIndexError, parsePackIndexFile, type PackedObject } from '../repository/pack_index_file';
import { readOptional } from '../repository/trust';
import { KeyMismatchError } from '../storage/encrypted_storage';
import type { LocalStorage } from '../storage/local_storage';
import { fileBody, readBufferAtMost, type Storage } from '../storage/storage';

/** Pack names off-site: packs/ files and index/ files, each by name only (nothing read or decrypted). */
export interface PackNames {
  packs: Set<string>;
  indexes: Set<string>;
}

/** Lists packs/ and index/ of `storage` once (names only: a host with only public keys can do it). */
export async function listPackNames(storage: Storage): Promise<PackNames> {
  const names: PackNames = { packs: new Set(), indexes: new Set() };
  for await (const o of storage.list(PACKS)) {
    const p = packOfKey(o.key);
    if (p) names.packs.add(p);
  }
  for await (const o of storage.list(PACK_INDEXES)) {
    const p = packOfIndexKey(o.key);
    if (p) names.indexes.add(p);
  }
  return names;
}

/** What one local pack needs off-site: its file, its index, or both; `bytes` is what is sent (for progress). */
export interface PackUpload {
  pack: string;
  sendPack: boolean;
  sendIndex: boolean;
  bytes: number;
}

/** The file of `key` in the local repository (to stream from it). */
export function localFile(local: LocalStorage, key: string): string {
  return path.join(local.root, ...key.split('/'));
}

/**
 * localFile() for an upload, refused unless it is a regular file: the uploads open it by path, and
 * a FIFO there would block a libuv thread for ever (abort cannot end an open) and a link could
 * send a file from outside the repository (or endless /dev/zero) off-site. A swap between this
 * look and the open is not caught: that needs write access to the local repository at that moment.
 */
export async function uploadableFile(local: LocalStorage, key: string): Promise<string> {
  const file = localFile(local, key);
  const st = await lstat(file).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new NotFoundError(`${key} is not in the local repository`);
    }
    throw new StorageError(`cannot look at ${key} in the local repository: ${(err as Error).message}`, { cause: err });
  });
  if (!st.isFile()) {
    throw new StorageError(
      `${key} in the local repository is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'}; it is not copied off-site`,
      {
        permanent: true,
        hint: `someone changed ${file}: run mm-backup verify, and put the file back from a copy or prune the snapshots that use it`,
      },
    );
  }
  return file;
}

/**
 * The uploads that make each of `packs` (local pack names) complete off-site: the pack file
 * unless `off` lists it, the index unless `off` lists it. A pack listed off-site is taken to be
 * whole (a put is atomic, and the name is the SHA-256 of the bytes), as objects are.
 */
export async function planPackUploads(
  local: LocalStorage,
  packs: Iterable<string>,
  off: PackNames,
): Promise<PackUpload[]> {
  const out: PackUpload[] = [];
  for (const pack of [...packs].sort()) {
    const sendPack = !off.packs.has(pack);
    const sendIndex = !off.indexes.has(pack);
    if (!sendPack && !sendIndex) continue;
    let bytes = 0;
    if (sendPack) bytes += (await stat(localFile(local, packKey(pack)))).size;
    if (sendIndex) bytes += (await stat(localFile(local, packIndexKey(pack)))).size;
    out.push({ pack, sendPack, sendIndex, bytes });
  }
  return out;
}

/** Puts the pack file, then its index (the documented order: an index is never there before its pack). */
export async function uploadPack(
  local: LocalStorage,
  target: Storage,
  u: PackUpload,
  opts: { signal?: AbortSignal },
): Promise<void> {
  if (u.sendPack) await target.put(packKey(u.pack), fileBody(await uploadableFile(local, packKey(u.pack))), opts);
  if (u.sendIndex) {
    await target.put(packIndexKey(u.pack), fileBody(await uploadableFile(local, packIndexKey(u.pack))), opts);
  }
}

/** What the off-site pack sweep did; `kept` lists packs it could not judge (their index unreadable here), with why. */
export interface PackSweep {
  removed: number;
  kept: Array<{ pack: string; why: string }>;
}

/**
 * Removes off-site packs none of whose objects `live` holds (index first, then the pack: an
 * index never names a missing pack for longer than the two deletes), and packs with no index
 * (an upload interrupted between the two; nobody reads them, the next replicate sends the pair
 * again if needed). With `readIndexes` false only the latter are removed: no pack can have lost
 * its last user when no off-site snapshot was dropped, and reading every index is the cost.
 * A pack's objects are read from the local index of the same pack when there is one (a pack's
 * name is the SHA-256 of its bytes, so the local index describes the off-site file exactly, and a
 * host holding only public keys can still sweep), else from the off-site index, decrypted through
 * `off`. A pack whose index cannot be read or does not parse is kept and reported. A pack with
 * any object in use is kept whole: there is no off-site repack.
 */
export async function sweepOffsitePacks(
  local: LocalStorage,
  off: Storage,
  live: PrefixSet,
  opts: { readIndexes: boolean; signal?: AbortSignal },
): Promise<PackSweep> {
  const names = await listPackNames(off);
  const result: PackSweep = { removed: 0, kept: [] };
  for (const pack of names.packs) {
    if (names.indexes.has(pack)) continue;
    await off.delete(packKey(pack));
    result.removed++;
  }
  if (!opts.readIndexes) return result;
  for (const pack of [...names.indexes].sort()) {
    let objects: PackedObject[] | undefined;
    try {
      objects = await packObjects(local, off, pack, opts);
    } catch (err) {
      if (!(err instanceof PackIndexError || err instanceof KeyMismatchError)) throw err;
      result.kept.push({ pack, why: err.message });
      continue;
    }
    if (!objects || objects.some((o) => live.has(o.sha256))) continue;
    await off.delete(packIndexKey(pack));
    if (names.packs.has(pack)) await off.delete(packKey(pack));
    result.removed++;
  }
  return result;
}

/** The objects of `pack`: from the local index when it parses, else the off-site one; undefined when gone since listed. */
async function packObjects(
  local: LocalStorage,
  off: Storage,
  pack: string,
  opts: { signal?: AbortSignal },
): Promise<PackedObject[] | undefined> {
  const tooLong = (max: number) => new PackIndexError(pack, 'too-large', `more than ${max} bytes`);
  const mine = await readOptional(local, packIndexKey(pack), MAX_INDEX_FILE_BYTES, tooLong).catch((err: unknown) => {
    if (err instanceof PackIndexError) return undefined; // too long: the off-site one may do
    throw err;
  });
  if (mine) {
    try {
      return parsePackIndexFile(mine, pack).objects;
    } catch (err) {
      if (!(err instanceof PackIndexError)) throw err;
    }
  }
  const info = await off.stat(packIndexKey(pack));
  if (!info) return undefined;
  if (info.size > MAX_INDEX_FILE_BYTES) {
    throw new PackIndexError(pack, 'too-large', `${info.size} bytes, more than ${MAX_INDEX_FILE_BYTES}`);
  }
  try {
    // Bounded again as it arrives: the file may have been replaced since the stat.
    const bytes = await readBufferAtMost(off, packIndexKey(pack), MAX_INDEX_FILE_BYTES, tooLong, opts);
    return parsePackIndexFile(bytes, pack).objects;
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}
