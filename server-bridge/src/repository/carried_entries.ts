/**
 * A tree's index whose carried subtrees (settled day directories) are joined in when it is read,
 * not when the walk passes them. The walk made while Mattermost is stopped only passes over the
 * parent's entries under such a subtree (unparsed); reading the index later, when the manifest is
 * written after the restart, merges them into their byPath place. At a million files, carrying
 * them during the walk was 4-5 s of a 13 s downtime.
 */
import { BridgeError } from '../core/errors';
import { EntryCursor, type EntryList, type EntryStream } from '../manifest/entry_list';
import type { Entry } from '../manifest/manifest';
import { plural } from '../core/units';
import { isSpooledList } from '../manifest/entry_spool';

/** A subtree taken from the parent: its directory's path and the number of entries under it. */
export interface CarriedSubtree {
  rel: string;
  entries: number;
}

/** What a subtree of an index holds, counted as the index was written (for a later carry). */
export interface SubtreeStats {
  /** Entries under the directory (its own entry not counted). */
  entries: number;
  files: number;
  /** Bytes of its files. */
  bytes: number;
  /** Files without a checksum (changed, not read yet): such a subtree must be carried by reading. */
  unhashed: number;
}

/** Counts `e` into the stats of its subtree `key`. */
export function countInto(stats: Map<string, SubtreeStats>, key: string, e: Entry): void {
  let st = stats.get(key);
  if (!st) stats.set(key, (st = { entries: 0, files: 0, bytes: 0, unhashed: 0 }));
  st.entries++;
  if (e.type !== 'file') return;
  st.files++;
  st.bytes += e.size ?? 0;
  if (!e.sha256) st.unhashed++;
}

/**
 * Contract: iterating yields `walked` with the entries of `parent` under each carried subtree in
 * their byPath place, `length` in all. A subtree whose entries in `parent` are not the number
 * given fails the iteration (the manifest is not written: never a snapshot with a hole). Both
 * lists must be immutable (spooled); each iteration reads them again.
 */
export class CarriedEntries implements EntryStream {
  private readonly carried: CarriedSubtree[];
  readonly length: number;

  constructor(
    private readonly walked: EntryStream,
    private readonly parent: EntryList,
    carried: readonly CarriedSubtree[],
  ) {
    this.carried = [...carried].sort((a, b) => compare(`${a.rel}/`, `${b.rel}/`));
    this.length = walked.length + carried.reduce((n, c) => n + c.entries, 0);
  }

  [Symbol.asyncIterator](): AsyncGenerator<Entry> {
    return this.merged(false) as AsyncGenerator<Entry>;
  }

  /** The entries as stored JSON lines, when both lists are spooled (see EntryStream.lines). */
  lines(): AsyncIterable<string> | undefined {
    if (!isSpooledList(this.walked) || !isSpooledList(this.parent)) return undefined;
    return { [Symbol.asyncIterator]: () => this.merged(true) as AsyncGenerator<string> };
  }

  /** The merge; `raw`: each entry's stored line instead of the entry. */
  private async *merged(raw: boolean): AsyncGenerator<Entry | string> {
    const cursor = new EntryCursor(this.parent);
    const walked = this.walked[Symbol.asyncIterator]();
    const walkedLine = (): string => (walked as { lastLine?: string }).lastLine as string;
    try {
      let next = await walked.next();
      for (const { rel, entries } of this.carried) {
        const prefix = `${rel}/`;
        // Walked paths that sort before the subtree (its directory, a sibling such as 'd.txt').
        while (!next.done && next.value.path < prefix) {
          yield raw ? walkedLine() : next.value;
          next = await walked.next();
        }
        let n = 0;
        // Raw, the carried lines are copied unparsed (JSON.parse of a million lines was most of
        // an offline commit's 4.3 s at 1M files, against 1.6 s online, whose index is one spool).
        if (raw) {
          for await (const line of cursor.linesUnder(prefix, entries)) {
            n++;
            yield line;
          }
        } else {
          for await (const e of cursor.under(prefix)) {
            n++;
            yield e;
          }
        }
        if (n !== entries) {
          throw new BridgeError(
            'INTERNAL',
            `the index taken from before the stop holds ${plural(n, 'entry', 'entries')} under ${rel}, ${entries} were counted when it was written: the snapshot is not written rather than have a hole`,
            { hint: 'run the backup again with --full-walk' },
          );
        }
      }
      while (!next.done) {
        yield raw ? walkedLine() : next.value;
        next = await walked.next();
      }
    } finally {
      await walked.return?.();
      await cursor.close();
    }
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
