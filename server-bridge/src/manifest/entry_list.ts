/**
 * A component's file index. Small lists (tests, a component of a few single files) may be arrays;
 * a backup's or a loaded manifest's index is an EntryStream read from a private local file, so a
 * million-file install never holds its index in memory. Both are read with `for await`.
 */
import type { Entry } from './manifest';

/** Entries in path order (byPath), read from the start on each iteration; `length` is known up front. */
export interface EntryStream extends AsyncIterable<Entry> {
  readonly length: number;
}

export type EntryList = readonly Entry[] | EntryStream;

/** The first entry (the component root '' when the list is a whole tree), without reading the rest. */
export async function firstEntry(list: EntryList): Promise<Entry | undefined> {
  if (Array.isArray(list)) return (list as readonly Entry[])[0];
  for await (const e of list) return e;
  return undefined;
}

/** Whether the list is a whole tree (it has the root itself, which sorts first). */
export async function isWholeTree(list: EntryList): Promise<boolean> {
  if (Array.isArray(list)) return (list as readonly Entry[]).some((e) => e.path === '');
  return (await firstEntry(list))?.path === '';
}

/** The whole list in memory: only for lists known to be small (single-file components) and tests. */
export async function collectEntries(list: EntryList): Promise<Entry[]> {
  const out: Entry[] = [];
  for await (const e of list) out.push(e);
  return out;
}

/**
 * A cursor for a merge join: `seek(path)` returns the entry with exactly that path, advancing past
 * smaller ones. Paths asked for must not decrease (a walk in byPath order); an out-of-order list
 * costs lookups (the entries skipped are not found again), never a wrong answer.
 */
export class EntryCursor {
  private readonly it: AsyncIterator<Entry> | Iterator<Entry>;
  private head: Entry | undefined;
  private done = false;
  private started = false;

  constructor(list: EntryList | undefined) {
    this.it = list
      ? Array.isArray(list)
        ? (list as readonly Entry[])[Symbol.iterator]()
        : (list as EntryStream)[Symbol.asyncIterator]()
      : [][Symbol.iterator]();
  }

  async seek(p: string): Promise<Entry | undefined> {
    if (!this.started) {
      this.started = true;
      await this.next();
    }
    while (!this.done && this.head !== undefined && this.head.path < p) await this.next();
    return this.head?.path === p ? this.head : undefined;
  }

  /**
   * The entries whose path starts with `prefix` (a directory's subtree: 'dir/'), in order, each
   * consumed as it is yielded. Like `seek`, it must not go back behind a path already asked for.
   */
  async *under(prefix: string): AsyncGenerator<Entry> {
    await this.seek(prefix);
    while (!this.done && this.head !== undefined && this.head.path.startsWith(prefix)) {
      yield this.head;
      await this.next();
    }
  }

  /** Stops reading (the underlying file stream is closed). */
  async close(): Promise<void> {
    this.done = true;
    await this.it.return?.();
  }

  private async next(): Promise<void> {
    const r = await this.it.next();
    if (r.done) {
      this.done = true;
      this.head = undefined;
    } else {
      this.head = r.value;
    }
  }
}
