/**
 * The files of a point-in-time restore, from the file snapshots: the config, plugins and the rest
 * as of the newest snapshot finished at or before T, and the attachments the database of T may
 * reference that were uploaded after that snapshot, from the first snapshot started at or after T
 * (attachments are immutable: a later copy of one is the same file).
 */
import type { ComponentRecord, Entry, Manifest } from '../manifest/manifest';
import type { EntryStream } from '../manifest/entry_list';
import { AncestorStack, inPathOrder } from '../manifest/entry_ancestors';
import { DiskAncestry } from './restore_at_disk';
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
    (m) =>
      m.installDir === installDir && m.components.some((c) => c.status === 'included' && !c.database && !c.physical),
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

/** What the merge adds, and what it leaves out. */
export interface Additions {
  /** `later`'s entries to write, as a record of single paths (no root entry: nothing is removed). */
  record: ComponentRecord;
  /** How many new paths of `later` were left out, and the first few, each with why. */
  refused: number;
  refusedExamples: string[];
}

const EXAMPLES = 10;

/**
 * `later`'s entries whose path `base` does not have: what `base` lacks, and nothing of what it
 * has is replaced. A path under something `base` has as a non-directory (a symbolic link, a file)
 * is left out: the whole-tree restore of `base` just put that link back, and writing below it
 * would follow it out of the root. With `root` (the tree `base` was restored to), each path is
 * also checked there (restore_at_disk.ts), once, before anything is written; what fails is left
 * out too. Both lists are in path order: one merge pass decides and counts, each read streams.
 */
export async function addedSince(base: ComponentRecord, later: ComponentRecord, root?: string): Promise<Additions> {
  async function* candidates(): AsyncGenerator<{ e: Entry; problem?: string }> {
    const seen = new BaseAncestry(base);
    try {
      for await (const e of inPathOrder(later.entries)) {
        if (e.path === '') continue;
        const b = await seen.advanceTo(e.path);
        if (b.present) continue;
        yield { e, problem: b.problem };
      }
    } finally {
      await seen.close();
    }
  }
  // Decided once: the disk changes as the merge writes, the list it writes must not.
  const onDisk = new Set<string>();
  const disk = root === undefined ? undefined : new DiskAncestry(root);
  let length = 0;
  let files = 0;
  let bytes = 0;
  let refused = 0;
  const refusedExamples: string[] = [];
  for await (const c of candidates()) {
    let problem = c.problem;
    if (!problem && disk) {
      problem = await disk.problem(c.e);
      if (problem) onDisk.add(c.e.path);
    }
    if (problem) {
      if (refused++ < EXAMPLES) refusedExamples.push(`${JSON.stringify(c.e.path)} ${problem}`);
      continue;
    }
    length++;
    if (c.e.type === 'file') {
      files++;
      bytes += c.e.size ?? 0;
    }
  }
  async function* added(): AsyncGenerator<Entry> {
    for await (const c of candidates()) if (!c.problem && !onDisk.has(c.e.path)) yield c.e;
  }
  const entries: EntryStream = { length, [Symbol.asyncIterator]: added };
  return { record: { ...later, entries, files, bytes }, refused, refusedExamples };
}

/**
 * `base` read alongside a list in path order: whether it has a path, and whether something above
 * that path is a non-directory in it. Memory: the entries above the current path.
 */
class BaseAncestry {
  private readonly it: AsyncIterator<Entry> | Iterator<Entry>;
  private head: Entry | undefined;
  private started = false;
  private done = false;
  private readonly above = new AncestorStack<Entry>();

  constructor(base: ComponentRecord) {
    const list = inPathOrder(base.entries);
    this.it = Array.isArray(list)
      ? (list as readonly Entry[])[Symbol.iterator]()
      : (list as EntryStream)[Symbol.asyncIterator]();
  }

  /** Paths asked for must not decrease (both lists are sorted by path). */
  async advanceTo(p: string): Promise<{ present: boolean; problem?: string }> {
    if (!this.started) {
      this.started = true;
      await this.next();
    }
    while (this.head !== undefined && this.head.path < p) {
      this.above.skipTo(this.head.path);
      if (this.head.path !== '') this.above.push(this.head);
      await this.next();
    }
    if (this.head?.path === p) return { present: true };
    this.above.skipTo(p);
    for (let i = p.lastIndexOf('/'); i > 0; i = p.lastIndexOf('/', i - 1)) {
      const a = this.above.find(p.slice(0, i));
      if (a && a.type !== 'dir') {
        return {
          present: false,
          problem: `lies under ${JSON.stringify(a.path)}, a ${a.type} in the restored snapshot`,
        };
      }
    }
    return { present: false };
  }

  async close(): Promise<void> {
    this.done = true;
    await this.it.return?.();
  }

  private async next(): Promise<void> {
    const r = this.done ? { done: true as const, value: undefined } : await this.it.next();
    if (r.done) {
      this.done = true;
      this.head = undefined;
    } else {
      this.head = r.value;
    }
  }
}
