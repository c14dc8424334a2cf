/**
 * repository.json marks a directory (or bucket prefix) as an mm-backup repository. It is written
 * once, into an empty one; a repository that already holds snapshots or objects but lost its
 * marker is refused with an explanation, never re-initialised silently (that would hide a wrong
 * repository.path or a damaged repository behind a fresh id).
 */
import { randomBytes } from 'node:crypto';
import { PreconditionError } from '../core/errors';
import type { Storage } from '../storage/storage';

export const REPO_MARKER = 'repository.json';

/** Writes the marker into an empty repository; throws PreconditionError for a non-empty one without it. */
export async function ensureRepositoryMarker(storage: Storage): Promise<void> {
  if (await storage.stat(REPO_MARKER)) return;
  for (const prefix of ['snapshots', 'objects']) {
    for await (const obj of storage.list(prefix)) {
      const where = storage.describe().location;
      throw new PreconditionError('PRECONDITION_FAILED',
        `${where} holds mm-backup data (${obj.key}) but no ${REPO_MARKER}: the repository marker is missing, so it is not used and not re-created`, {
          hint: `check that repository.path points at the repository you mean; if it does, put its ${REPO_MARKER} back from a copy, or write a new one: {"format":"mm-backup-repository","version":1,"id":"<32 hex digits>","createdAt":"<ISO time>"}, then run mm-backup verify on every snapshot`,
        });
    }
  }
  const marker = { format: 'mm-backup-repository', version: 1, id: randomBytes(16).toString('hex'), createdAt: new Date().toISOString() };
  await storage.put(REPO_MARKER, Buffer.from(`${JSON.stringify(marker, null, 2)}\n`));
}
