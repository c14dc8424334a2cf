/**
 * Stores a finished pack in the documented order (layout.ts): the pack under packKey(packSha),
 * then its index under packIndexKey(packSha). A crash between the two leaves an orphan pack that
 * nothing reads (prune's to remove); an index is never visible before its pack. The manifest that
 * uses the pack's objects is written later, after the repository's sync, by the backup.
 */
import { rm } from 'node:fs/promises';
import { fileBody, type Storage } from '../storage/storage';
import { packIndexKey, packKey } from './layout';
import { serializePackIndexFile } from './pack_index_file';
import type { FinishedPack } from './pack_writer';

/**
 * Puts `pack`'s file (consumed: renamed into a local repository, uploaded then removed otherwise)
 * and then its index. A pack already stored with the same size (the same objects in the same
 * order) is not put again and the staged file is removed. On failure the staged file stays for a
 * retry; the caller removes it (or cleanStaging does).
 */
export async function storePack(
  storage: Storage,
  pack: FinishedPack,
  opts: { signal?: AbortSignal } = {},
): Promise<void> {
  const key = packKey(pack.packSha);
  const existing = await storage.stat(key);
  if (existing?.size === pack.size) await rm(pack.file, { force: true });
  else await storage.put(key, fileBody(pack.file, { consume: true }), opts);
  await storage.put(packIndexKey(pack.packSha), Buffer.from(serializePackIndexFile(pack.index)), opts);
}
