/**
 * File indexes on local disk: entries as one JSON object per line in a private (0600) file, read
 * back as EntryStreams. A backup writes its new index here as it walks; a loaded manifest is
 * copied here as it is hashed, so every later pass (checks, restore, merge joins) reads exactly the
 * bytes whose signature was checked, however the repository changes meanwhile. A spool file is
 * removed when nothing refers to it any more, or when the process exits.
 */
import { unlinkSync } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Entry } from './manifest';
import type { EntryStream } from './entry_list';

const FLUSH_AT = 256 * 1024;
const NL = 0x0a;
const EMPTY = Buffer.alloc(0);
/** How much of a section one read takes (the buffer a reader keeps). */
const READ_SIZE = 256 * 1024;
const live = new Set<string>();
let exitHook = false;

/** Unlinks a spool file once the last EntryStream over it is garbage. */
const reaper = new FinalizationRegistry<string>((file) => {
  live.delete(file);
  try {
    unlinkSync(file);
  } catch {
    /* already gone (staging cleaned) */
  }
});

function track(file: string): void {
  live.add(file);
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const f of live) {
      try {
        unlinkSync(f);
      } catch {
        /* already gone */
      }
    }
  });
}

/** Writes entries in the order given; sections of it become EntryStreams. Not safe for concurrent writes. */
export class EntrySpool {
  private buf = '';
  private offset = 0;
  private sectionStart = 0;
  private sectionCount = 0;
  /** Symbolic links among the section's entries. */
  private sectionLinks = 0;
  /** Shared by every stream over this file: while one is reachable, the file stays. */
  private readonly owner = {};

  private constructor(
    readonly file: string,
    private handle: FileHandle | undefined,
  ) {}

  static async create(dir: string, prefix = 'index'): Promise<EntrySpool> {
    const file = path.join(dir, `${prefix}-${process.pid}-${randomBytes(8).toString('hex')}.jsonl`);
    const handle = await open(file, 'wx', 0o600);
    track(file);
    const spool = new EntrySpool(file, handle);
    reaper.register(spool.owner, file);
    return spool;
  }

  /** Entries written since the last section ended. */
  get pending(): number {
    return this.sectionCount;
  }

  async write(e: Entry): Promise<void> {
    return this.writeChecked(JSON.stringify(e), e);
  }

  /** `json`, a line that parses to `e` (checked by the caller), written as it is. */
  async writeChecked(json: string, e: Entry): Promise<void> {
    if (e.type === 'symlink') this.sectionLinks++;
    this.buf += `${json}\n`;
    this.sectionCount++;
    if (this.buf.length >= FLUSH_AT) await this.flush();
  }

  /** Ends the current section: the entries written since the last one, as a stream. */
  async endSection(): Promise<EntryStream> {
    await this.flush();
    const list = new FileEntryList(
      this.file,
      this.sectionStart,
      this.offset,
      this.sectionCount,
      this.sectionLinks,
      this.owner,
    );
    this.sectionStart = this.offset;
    this.sectionCount = 0;
    this.sectionLinks = 0;
    return list;
  }

  /** Closes the file for writing (streams already made keep working). */
  async close(): Promise<void> {
    await this.flush();
    const h = this.handle;
    this.handle = undefined;
    await h?.close();
  }

  /** Closes and removes the file now (a failed backup's index). */
  async discard(): Promise<void> {
    await this.close().catch(() => undefined);
    live.delete(this.file);
    await rm(this.file, { force: true });
  }

  private async flush(): Promise<void> {
    if (!this.buf) return;
    if (!this.handle) throw new Error('entry spool is closed');
    const data = Buffer.from(this.buf, 'utf8');
    this.buf = '';
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.handle.write(data, done, data.length - done, this.offset + done);
      done += bytesWritten;
    }
    this.offset += data.length;
  }
}

/**
 * Whether `list` is a section of a spool file: bytes written once and never changed, so what is
 * true of one reading of it (a check passed) is true of every later one.
 */
export function isSpooledList(list: unknown): boolean {
  return list instanceof FileEntryList;
}

/**
 * How many symbolic links a spooled list holds, counted as its entries were written (undefined
 * for any other list): a check that only looks for links can skip a list with none without
 * reading it.
 */
export function spooledSymlinks(list: unknown): number | undefined {
  return list instanceof FileEntryList ? list.symlinks : undefined;
}

/** A byte range of a spool file, one entry per line. */
class FileEntryList implements EntryStream {
  constructor(
    private readonly file: string,
    private readonly start: number,
    private readonly end: number,
    readonly length: number,
    readonly symlinks: number,
    /** Held only so that the file outlives every stream over it (see reaper). */
    readonly keepAlive: object,
  ) {}

  [Symbol.asyncIterator](): SpoolReader {
    return new SpoolReader(this.file, this.start, this.end);
  }

  /** The lines as written: a manifest written from a spool copies them (1.5 s of a 1M-file commit's 6 s). */
  lines(): AsyncIterable<string> {
    return { [Symbol.asyncIterator]: () => linesOf(this[Symbol.asyncIterator]()) };
  }
}

/** A reader's lines, unparsed, as an iterator (return() closes the reader). */
function linesOf(reader: SpoolReader): AsyncIterator<string> {
  return {
    next: async () => {
      const line = await reader.nextLine();
      return line === undefined ? { done: true, value: undefined } : { done: false, value: line };
    },
    return: async () => {
      await reader.return();
      return { done: true, value: undefined };
    },
  };
}

/**
 * Reads a spool section line by line: next() parses one entry, skip() passes over entries without
 * parsing them (a walk that takes a subtree's entries from elsewhere; JSON.parse is most of the
 * cost of reading an index). The section is read into one buffer, reused, and each line decoded
 * on its own (a newline byte is never part of a multi-byte character). Why not a read stream's
 * chunks: a chunk decoded whole is a string too large for V8's young generation, and a chunk kept
 * while its lines are read outlives a few young collections; either way each chunk of each pass
 * was garbage only a full collection frees: three passes over a million entries took 61 full
 * collections, now 2 (docs/performance.md).
 */
export class SpoolReader implements AsyncIterator<Entry> {
  private buf: Buffer;
  /** Bytes of `buf` read and not yet taken: [at, len). */
  private at = 0;
  private len = 0;
  /** The file offset of the next read. */
  private pos: number;
  private handle: Promise<FileHandle> | undefined;
  private ended: boolean;
  /**
   * The read after the buffer's, into `spare`, made while the buffer's lines are taken: a read
   * waited for only when the buffer runs out queued behind the restore's own file calls in
   * libuv's pool (the read stream this replaced also read ahead).
   */
  private ahead: Promise<number> | undefined;
  private spare: Buffer = EMPTY;

  constructor(
    private readonly file: string,
    start: number,
    private readonly end: number,
  ) {
    this.pos = start;
    this.ended = end <= start;
    this.buf = this.ended ? EMPTY : Buffer.allocUnsafe(Math.min(READ_SIZE, end - start));
  }

  /** The line the entry next() returned last was parsed from. */
  lastLine: string | undefined;

  async next(): Promise<IteratorResult<Entry>> {
    const line = await this.nextLine();
    this.lastLine = line;
    return line === undefined ? { done: true, value: undefined } : { done: false, value: JSON.parse(line) as Entry };
  }

  /** Passes over up to `n` entries, unparsed (their lines only counted); returns how many there were. */
  async skip(n: number): Promise<number> {
    let k = 0;
    while (k < n) {
      const nl = this.buf.indexOf(NL, this.at);
      if (nl >= 0 && nl < this.len) {
        this.at = nl + 1;
        k++;
      } else if (!(await this.fill())) {
        if (this.at < this.len) k++; // a last line without its newline
        this.at = this.len;
        break;
      }
    }
    return k;
  }

  async return(): Promise<IteratorResult<Entry>> {
    this.at = this.len;
    await this.close();
    return { done: true, value: undefined };
  }

  /** The next line, unparsed, or undefined at the end. */
  async nextLine(): Promise<string | undefined> {
    for (;;) {
      const nl = this.buf.indexOf(NL, this.at);
      if (nl >= 0 && nl < this.len) {
        const line = this.buf.toString('utf8', this.at, nl);
        this.at = nl + 1;
        return line;
      }
      if (!(await this.fill())) {
        const rest = this.at < this.len ? this.buf.toString('utf8', this.at, this.len) : undefined;
        this.at = this.len;
        return rest;
      }
    }
  }

  /** Reads more of the section after what is left in the buffer; false when there is no more. */
  private async fill(): Promise<boolean> {
    if (this.ended) return false;
    try {
      const n = await (this.ahead ?? this.readAhead());
      this.ahead = undefined;
      // What is left (the start of a line) moves to the front, the bytes read after it; a line
      // longer than the buffer grows it.
      const left = this.len - this.at;
      if (left + n > this.buf.length) {
        const grown = Buffer.allocUnsafe(Math.max(left + n, 2 * this.buf.length));
        this.buf.copy(grown, 0, this.at, this.len);
        this.buf = grown;
      } else if (left > 0) {
        this.buf.copy(this.buf, 0, this.at, this.len);
      }
      this.spare.copy(this.buf, left, 0, n);
      this.at = 0;
      this.len = left + n;
      if (n === 0 || this.pos >= this.end) await this.close();
      else void this.readAhead();
      return n > 0;
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /** Starts the next read into `spare` (free once fill() copied it out); resolves to the bytes read. */
  private readAhead(): Promise<number> {
    if (this.spare.length === 0) this.spare = Buffer.allocUnsafe(this.buf.length);
    const want = Math.min(this.spare.length, this.end - this.pos);
    this.handle ??= open(this.file, 'r');
    const read = this.handle
      .then((fh) => fh.read(this.spare, 0, want, this.pos))
      .then(({ bytesRead }) => {
        this.pos += bytesRead; // what was read, not asked for: a file cut short ends the list there
        return bytesRead;
      });
    // Held, not awaited, until the next fill(): a failure waits there (and is not an unhandled rejection).
    read.catch(() => undefined);
    this.ahead = read;
    return read;
  }

  /** Ends reading: the file is closed (what is in the buffer can still be taken). */
  private async close(): Promise<void> {
    this.ended = true;
    const h = this.handle;
    const ahead = this.ahead;
    this.handle = undefined;
    this.ahead = undefined;
    await ahead?.catch(() => undefined); // no read left running on the handle closed next
    await h?.then((fh) => fh.close()).catch(() => undefined);
  }
}
