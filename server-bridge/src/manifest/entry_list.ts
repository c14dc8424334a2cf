/**
 * A component's file index. Small lists (tests, a component of a few single files) may be arrays;
 * a backup's or a loaded manifest's index is an EntryStream read from a private local file, so a
 * million-file install never holds its index in memory. Both are read with `for await`.
 */
import { BridgeError } from '../core/errors';
import type { Entry } from './manifest';

/** Entries in path order (byPath), read from the start on each iteration; `length` is known up front. */
export interface EntryStream extends AsyncIterable<Entry> {
  readonly length: number;
  /**
   * Optional: the same entries as the JSON lines they were stored as (each checked when it was
   * written), read without parsing or serialising, or undefined when this stream has none.
   */
  lines?(): AsyncIterable<string> | undefined;
}

/** The list's entries as stored JSON lines when it has them (EntryStream.lines), else undefined. */
export function storedLines(list: EntryList): AsyncIterable<string> | undefined {
  return Array.isArray(list) ? undefined : (list as EntryStream).lines?.();
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

/** An iterator that can pass over entries without making them (a spool file's: entry_spool.ts). */
interface SkippingIterator extends AsyncIterator<Entry> {
  /** Passes over up to `n` entries; resolves to how many there were. */
  skip(n: number): Promise<number>;
  /** The next entry's stored line, unparsed (undefined at the end). */
  nextLine(): Promise<string | undefined>;
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

  /**
   * Passes over the `n` entries whose path starts with `prefix` (a subtree taken from elsewhere);
   * from a spooled list without parsing them, but for the first and the last. True when there were
   * exactly `n`: the first and the n-th are under `prefix` and the one after them is not (in a
   * byPath list a subtree is one run). False leaves the cursor somewhere in or past the subtree.
   */
  async skipUnder(prefix: string, n: number): Promise<boolean> {
    await this.seek(prefix);
    const under = () => this.head !== undefined && this.head.path.startsWith(prefix);
    if (n === 0) return !under();
    if (!under()) return false;
    if (n > 1) {
      // The head is the first of them; all but the last of the others are passed over.
      const it = this.it as Partial<Pick<SkippingIterator, 'skip'>>;
      if (typeof it.skip === 'function') {
        if ((await it.skip(n - 2)) !== n - 2) return false;
      } else {
        for (let i = 2; i < n; i++) await this.next();
      }
      await this.next();
      if (!under()) return false;
    }
    await this.next();
    return !under();
  }

  /**
   * The stored lines of the `n` entries under `prefix` (a subtree carried whole into a manifest),
   * from a spooled list, parsing only the first, the n-th and the one after them, as skipUnder
   * checks. Where the list does not hold exactly `n` there, the lines yielded are not `n` (the
   * caller counts them and fails); the cursor is then somewhere in or past the subtree.
   */
  async *linesUnder(prefix: string, n: number): AsyncGenerator<string> {
    const it = this.it as Partial<SkippingIterator>;
    if (typeof it.nextLine !== 'function') throw new BridgeError('INTERNAL', 'linesUnder needs a spooled list');
    await this.seek(prefix);
    const under = () => this.head !== undefined && this.head.path.startsWith(prefix);
    if (n === 0 || !under()) {
      if (n === 0 && under()) yield this.headLine as string;
      return;
    }
    yield this.headLine as string;
    for (let k = 2; k < n; k++) {
      const line = await it.nextLine();
      if (line === undefined) {
        this.done = true;
        this.head = undefined;
        return;
      }
      yield line;
    }
    if (n > 1) {
      await this.next();
      if (!under()) return;
      yield this.headLine as string;
    }
    await this.next();
    if (under()) yield this.headLine as string; // one more than counted: the caller's count says so
  }

  /** Stops reading (the underlying file stream is closed). */
  async close(): Promise<void> {
    this.done = true;
    await this.it.return?.();
  }

  /** The stored JSON line of the entry last returned (seek, under), when the list is spooled. */
  get headLine(): string | undefined {
    return this.head === undefined ? undefined : (this.it as { lastLine?: string }).lastLine;
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
