/**
 * repository.json marks a directory (or bucket prefix) as an mm-backup repository, in one shape
 * for the local repository and the off-site copy: format, version, id, creation time, and for an
 * off-site copy whether it is encrypted (and to which recipients). It is written once, into an
 * empty repository, last (after any key files); a repository that already holds snapshots or
 * objects but lost its marker is refused with an explanation, never re-initialised silently (that
 * would hide a wrong repository.path or a damaged repository behind a fresh id). Markers written
 * before the shapes were unified (no `encryption`: an unencrypted repository) still read.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { NotFoundError, PreconditionError } from '../core/errors';
import { readBufferAtMost, type Storage } from '../storage/storage';
import { MAX_MARKER_BYTES } from './read_limits';
import { MARKER_KEY, OBJECTS, PACK_INDEXES, PACKS, SNAPSHOTS } from './layout';

const markerSchema = z
  .object({
    format: z.literal('mm-backup-repository'),
    // 1: objects only; 2: may hold packs (packs/, index/), which a reader of version 1 does not know.
    version: z.union([z.literal(1), z.literal(2)]),
    id: z.string(),
    createdAt: z.string(),
    // Absent in markers of repositories made before the off-site copy's shape was shared: not encrypted.
    encryption: z.enum(['age', 'none']).default('none'),
    recipients: z.array(z.string()).optional(),
  })
  .loose();

export type RepositoryMarker = z.infer<typeof markerSchema>;

/** A new marker; `recipients` for an age-encrypted repository. */
export function newMarker(encryption?: { recipients: string[] }): RepositoryMarker {
  return {
    format: 'mm-backup-repository',
    version: 1,
    id: randomBytes(16).toString('hex'),
    createdAt: new Date().toISOString(),
    encryption: encryption ? 'age' : 'none',
    ...(encryption ? { recipients: encryption.recipients } : {}),
  };
}

export function markerText(m: RepositoryMarker): Buffer {
  return Buffer.from(`${JSON.stringify(m, null, 2)}\n`);
}

/** The marker, or undefined when there is none; PreconditionError when it is not one of ours. */
export async function readMarker(storage: Storage): Promise<RepositoryMarker | undefined> {
  let bytes: Buffer;
  try {
    // A few hundred bytes: a huge file there (or a link to an endless one) is refused as it arrives.
    bytes = await readBufferAtMost(storage, MARKER_KEY, MAX_MARKER_BYTES, (max) => {
      const where = storage.describe().location;
      return new PreconditionError(
        'PRECONDITION_FAILED',
        `${MARKER_KEY} at ${where} is longer than ${max} bytes, so it is not an mm-backup repository marker (and is not read)`,
        { hint: markerHint(storage) },
      );
    });
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `${MARKER_KEY} at ${storage.describe().location} is not valid JSON`,
      { cause: err, hint: markerHint(storage) },
    );
  }
  const res = markerSchema.safeParse(parsed);
  const version = (parsed as { format?: unknown; version?: unknown } | null)?.version;
  if (
    !res.success &&
    (parsed as { format?: unknown } | null)?.format === 'mm-backup-repository' &&
    typeof version === 'number' &&
    version > 2
  ) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `the repository at ${storage.describe().location} is format version ${version}, written by a newer mm-backup; this one reads versions 1 and 2`,
      { hint: 'upgrade mm-backup on this host to the version that wrote the repository' },
    );
  }
  if (!res.success) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `${MARKER_KEY} at ${storage.describe().location} is not an mm-backup repository marker`,
      { hint: markerHint(storage) },
    );
  }
  return res.data;
}

/** Throws PreconditionError when `storage` holds snapshots or objects (it lost its marker). */
export async function refuseUnmarkedData(storage: Storage): Promise<void> {
  for (const prefix of [SNAPSHOTS, OBJECTS, PACKS, PACK_INDEXES]) {
    for await (const obj of storage.list(prefix)) {
      const where = storage.describe().location;
      throw new PreconditionError(
        'PRECONDITION_FAILED',
        `${where} holds mm-backup data (${obj.key}) but no ${MARKER_KEY}: the repository marker is missing, so it is not used and not re-created`,
        { hint: markerHint(storage) },
      );
    }
  }
}

function markerHint(storage: Storage): string {
  const what = storage.describe().kind === 'local' ? 'repository.path points' : 'the bucket, prefix and endpoint point';
  return `check that ${what} at the repository you mean; if so, put its ${MARKER_KEY} back from a copy, or write a new one: {"format":"mm-backup-repository","version":2,"id":"<32 hex digits>","createdAt":"<ISO time>"}, then run mm-backup verify on every snapshot`;
}

/** The marker of the repository in `storage`, written first if the repository is empty. */
export async function ensureRepositoryMarker(storage: Storage): Promise<RepositoryMarker> {
  const found = await readMarker(storage);
  if (found) return found;
  await refuseUnmarkedData(storage);
  const marker = newMarker();
  await storage.put(MARKER_KEY, markerText(marker));
  return marker;
}

/**
 * Marks the repository as one that holds packs (version 2) before the first pack is stored, so that
 * an mm-backup that predates packs refuses it instead of reading snapshots whose objects it cannot
 * find. The marker is rewritten whole (one put), keeping everything else in it.
 */
export async function upgradeMarkerForPacks(storage: Storage): Promise<void> {
  const marker = await readMarker(storage);
  if (!marker) {
    throw new PreconditionError('PRECONDITION_FAILED', `${MARKER_KEY} at ${storage.describe().location} is missing`, {
      hint: markerHint(storage),
    });
  }
  if (marker.version >= 2) return;
  await storage.put(MARKER_KEY, markerText({ ...marker, version: 2 }));
}
