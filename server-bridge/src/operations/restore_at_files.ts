/**
 * The files of a point-in-time restore, from the file snapshots: the config, plugins and the rest
 * as of the newest snapshot finished at or before T, and the attachments the database of T may
 * reference that were uploaded after that snapshot, from the first snapshot started at or after T
 * (attachments are immutable: a later copy of one is the same file).
 */
import type { ComponentRecord, Entry, Manifest } from '../manifest/manifest';
import { EntryCursor, type EntryStream } from '../manifest/entry_list';
import type { Repository } from '../repository/repository';

/** The file store's component id (its attachments are merged in from after T). */
export const FILE_STORE = 'data';

export interface FileSnapshotChoice {
  /** Newest snapshot of this install finished at or before T: its files are restored. */
  before?: Manifest;
  /** Oldest snapshot of this install started at or after T: its new attachments are merged in. */
  after?: Manifest;
}

/** Summaries only are read to choose; the two chosen manifests are loaded whole. */
export async function chooseFileSnapshots(repo: Repository, installDir: string, at: Date): Promise<FileSnapshotChoice> {
  const ours = (await repo.listSnapshotSummaries()).manifests.filter(
    (m) => m.installDir === installDir && m.components.some((c) => c.status === 'included' && !c.database),
  );
  const t = at.getTime();
  const before = ours
    .filter((m) => Date.parse(m.finishedAt) <= t)
    .sort(byTime('finishedAt'))
    .pop();
  const after = ours.filter((m) => Date.parse(m.startedAt) >= t).sort(byTime('startedAt'))[0];
  return {
    before: before ? await repo.loadSnapshot(before.id) : undefined,
    after: after ? await repo.loadSnapshot(after.id) : undefined,
  };
}

function byTime(field: 'startedAt' | 'finishedAt') {
  return (a: Manifest, b: Manifest) => Date.parse(a[field]) - Date.parse(b[field]);
}

/** The file store's record of `m`, when it holds one. */
export function fileStoreRecord(m: Manifest | undefined): ComponentRecord | undefined {
  return m?.components.find((c) => c.id === FILE_STORE && c.status === 'included');
}

/**
 * `later`'s entries whose path `base` does not have, as a record of single paths (no root entry,
 * so the restore writes only these and removes nothing): what `base` lacks, and nothing of what
 * it has is replaced. Both lists are in path order: one merge pass counts, each read streams.
 */
export async function addedSince(base: ComponentRecord, later: ComponentRecord): Promise<ComponentRecord> {
  async function* added(): AsyncGenerator<Entry> {
    const cursor = new EntryCursor(base.entries);
    try {
      for await (const e of later.entries) {
        if (e.path === '' || (await cursor.seek(e.path))) continue;
        yield e;
      }
    } finally {
      await cursor.close();
    }
  }
  let length = 0;
  let files = 0;
  let bytes = 0;
  for await (const e of added()) {
    length++;
    if (e.type === 'file') {
      files++;
      bytes += e.size ?? 0;
    }
  }
  const entries: EntryStream = { length, [Symbol.asyncIterator]: added };
  return { ...later, entries, files, bytes };
}
