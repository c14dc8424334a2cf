/**
 * SHA-256 names (objects) sorted on local disk: an external merge sort, so an exact pass over every
 * distinct object of millions costs a bounded amount of memory (a chunk of CHUNK records and a read
 * buffer per run merged, under 10 MB) and 48 bytes of disk per name added, in a private directory
 * the caller gives (the process's spool directory, manifest/spool_dir.ts: removed at exit, a dead
 * process's by the next cleanup).
 *
 * Exact: names are compared whole (the first 64 bits only order them), so two names that share
 * a prefix are never taken for one (compare hash_set.ts, which may). Each record carries two numbers
 * (e.g. where the name was seen and its size); `distinct()` yields each name once, with the numbers
 * of the first record added for it, in ascending order of name: the order of the names' hex text,
 * and so of a storage's listing of objects/ (storage.ts: lexical order; layout.ts: objects/<ab>/<name>).
 */
import { open, rm, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { BridgeError } from './errors';

const KEY = 32;
const RECORD = KEY + 16;
/** Records sorted in memory at a time (6 MB); a power of two: its index bits are borrowed in sort keys. */
const CHUNK_BITS = 17;
/** Runs merged at once (each with a read buffer of READ records): more are merged in rounds first. */
const FAN_IN = 32;
const READ = 1024;
const HI = os.endianness() === 'LE' ? 1 : 0;
const LO = 1 - HI;

export interface SortedHash {
  sha256: string;
  a: number;
  b: number;
}

/**
 * Contract: add names (with two numbers each), then call `distinct()` once; it yields every
 * distinct name once, in ascending order, with the numbers first added for it. `dispose()`
 * removes the files (also when `distinct()` was not read to its end).
 */
export class HashSorter {
  private chunk: Buffer;
  private count = 0;
  private readonly runs: string[] = [];
  /** Every file made and not yet removed, for dispose(). */
  private readonly files = new Set<string>();
  private readonly chunkRecords: number;
  private readonly dir: string;
  private consumed = false;
  private addedTotal = 0;

  /** Run files go in `dir` (private: 0700). `chunkBits` (tests): log2 of the records sorted in memory at a time. */
  constructor(dir: string, opts: { chunkBits?: number } = {}) {
    const bits = opts.chunkBits ?? CHUNK_BITS;
    if (!Number.isInteger(bits) || bits < 1 || bits > 24) throw new BridgeError('INTERNAL', `bad chunk size 2^${bits}`);
    this.dir = dir;
    this.chunkRecords = 2 ** bits;
    // Grown as records come (a small snapshot's sort never takes the whole chunk).
    this.chunk = Buffer.alloc(Math.min(this.chunkRecords, 1024) * RECORD);
  }

  /** Records added so far. */
  get added(): number {
    return this.addedTotal;
  }

  async add(sha256: string, a = 0, b = 0): Promise<void> {
    if (this.consumed) throw new BridgeError('INTERNAL', 'HashSorter.add after distinct()');
    const at = this.count * RECORD;
    if (at === this.chunk.length) {
      const grown = Buffer.alloc(Math.min(this.chunkRecords * RECORD, 2 * this.chunk.length));
      this.chunk.copy(grown);
      this.chunk = grown;
    }
    // Hex decoding stops at the first character that is not a digit: a short write is a bad name.
    // (Upper case would decode; names come checked, in lower case, from the manifest schema.)
    if (sha256.length !== 2 * KEY || this.chunk.write(sha256, at, KEY, 'hex') !== KEY) {
      throw new BridgeError('INTERNAL', `not an object name: ${JSON.stringify(sha256)}`);
    }
    this.chunk.writeDoubleLE(a, at + KEY);
    this.chunk.writeDoubleLE(b, at + KEY + 8);
    this.count++;
    this.addedTotal++;
    if (this.count === this.chunkRecords) await this.spill();
  }

  /** Every distinct name once, ascending, with the numbers of the first record added for it. */
  async *distinct(): AsyncGenerator<SortedHash> {
    if (this.consumed) throw new BridgeError('INTERNAL', 'HashSorter.distinct() called twice');
    this.consumed = true;
    if (!this.runs.length) {
      // Everything fits in one chunk: no file at all.
      const order = this.sortChunk();
      for (const i of order) yield record(this.chunk, i * RECORD);
      return;
    }
    if (this.count) await this.spill();
    this.chunk = Buffer.alloc(0);
    // Rounds of merges until one pass can take every run. Runs are merged in consecutive groups
    // and keep their order, so the first record of a name stays the one added first.
    while (this.runs.length > FAN_IN) {
      const groups: string[][] = [];
      for (let i = 0; i < this.runs.length; i += FAN_IN) groups.push(this.runs.slice(i, i + FAN_IN));
      const next: string[] = [];
      for (const g of groups) {
        if (g.length === 1) {
          next.push(g[0] as string);
          continue;
        }
        const file = this.runFile();
        const out = await open(file, 'wx', 0o600);
        try {
          const w = new RunWriter(out);
          for await (const [buf, at] of mergeRuns(g)) await w.push(buf, at);
          await w.end();
        } finally {
          await out.close();
        }
        next.push(file);
        await this.remove(g);
      }
      this.runs.splice(0, this.runs.length, ...next);
    }
    for await (const [buf, at] of mergeRuns(this.runs)) yield record(buf, at);
  }

  async dispose(): Promise<void> {
    this.chunk = Buffer.alloc(0);
    this.runs.splice(0);
    await this.remove([...this.files]);
  }

  private runFile(): string {
    const file = path.join(this.dir, `sort-${process.pid}-${randomBytes(8).toString('hex')}.run`);
    this.files.add(file);
    return file;
  }

  private async remove(files: string[]): Promise<void> {
    await Promise.all(files.map((f) => rm(f, { force: true })));
    for (const f of files) this.files.delete(f);
  }

  /** Sorts the chunk, drops repeated names (keeping the first added) and writes it as a run. */
  private async spill(): Promise<void> {
    const order = this.sortChunk();
    const file = this.runFile();
    this.runs.push(file);
    const out = await open(file, 'wx', 0o600);
    try {
      const w = new RunWriter(out);
      for (const i of order) await w.push(this.chunk, i * RECORD);
      await w.end();
    } finally {
      await out.close();
    }
    this.count = 0;
  }

  /**
   * The chunk's records in name order, one per name (the first added): their indexes, so nothing
   * is copied. A native sort of 64-bit keys does the work: the first 64 bits of the name with the
   * record's index in the low bits, so equal keys cannot happen and ties keep the order added; the
   * few runs of keys that agree above the index bits (a name added twice, or names sharing ~47 bits)
   * are then ordered by the whole name.
   */
  private sortChunk(): Uint32Array {
    const n = this.count;
    const src = this.chunk;
    const mask = (this.chunkRecords - 1) >>> 0;
    const keys = new BigUint64Array(n);
    const kw = new Uint32Array(keys.buffer);
    for (let i = 0; i < n; i++) {
      kw[2 * i + HI] = src.readUInt32BE(i * RECORD);
      kw[2 * i + LO] = ((src.readUInt32BE(i * RECORD + 4) & ~mask) | i) >>> 0;
    }
    keys.sort();
    const order = new Uint32Array(n);
    let count = 0;
    const emit = (i: number): void => {
      const last = count ? (order[count - 1] as number) * RECORD : -1;
      if (last >= 0 && src.compare(src, last, last + KEY, i * RECORD, i * RECORD + KEY) === 0) return;
      order[count++] = i;
    };
    const compareWhole = (x: number, y: number): number =>
      src.compare(src, y * RECORD, y * RECORD + KEY, x * RECORD, x * RECORD + KEY) || x - y;
    let j = 0;
    while (j < n) {
      const hi = kw[2 * j + HI] as number;
      const top = ((kw[2 * j + LO] as number) & ~mask) >>> 0;
      let end = j + 1;
      while (end < n && kw[2 * end + HI] === hi && ((kw[2 * end + LO] as number) & ~mask) >>> 0 === top) end++;
      if (end - j === 1) {
        emit((kw[2 * j + LO] as number) & mask);
      } else {
        const idx: number[] = [];
        for (let k = j; k < end; k++) idx.push((kw[2 * k + LO] as number) & mask);
        idx.sort(compareWhole);
        for (const i of idx) emit(i);
      }
      j = end;
    }
    return order.subarray(0, count);
  }
}

function record(buf: Buffer, at: number): SortedHash {
  return {
    sha256: buf.toString('hex', at, at + KEY),
    a: buf.readDoubleLE(at + KEY),
    b: buf.readDoubleLE(at + KEY + 8),
  };
}

/** Buffers records and writes them in large pieces. */
class RunWriter {
  private readonly buf = Buffer.alloc(READ * RECORD * 4);
  private used = 0;
  constructor(private readonly out: FileHandle) {}
  async push(src: Buffer, at: number): Promise<void> {
    src.copy(this.buf, this.used, at, at + RECORD);
    this.used += RECORD;
    if (this.used === this.buf.length) await this.flush();
  }
  async end(): Promise<void> {
    await this.flush();
  }
  private async flush(): Promise<void> {
    let off = 0;
    while (off < this.used) off += (await this.out.write(this.buf, off, this.used - off)).bytesWritten;
    this.used = 0;
  }
}

/** A run being read: its current record at buf[at], with the first 64 bits of its name as numbers. */
class RunReader {
  buf = Buffer.alloc(READ * RECORD);
  at = 0;
  private len = 0;
  hi = 0;
  lo = 0;
  done = false;
  private constructor(
    private readonly fh: FileHandle,
    readonly order: number,
  ) {}

  static async open(file: string, order: number): Promise<RunReader> {
    const r = new RunReader(await open(file, 'r'), order);
    await r.fill();
    return r;
  }

  async next(): Promise<void> {
    this.at += RECORD;
    if (this.at >= this.len) await this.fill();
    else this.load();
  }

  async close(): Promise<void> {
    await this.fh.close();
  }

  private async fill(): Promise<void> {
    let len = 0;
    for (;;) {
      const { bytesRead } = await this.fh.read(this.buf, len, this.buf.length - len);
      if (bytesRead === 0) break;
      len += bytesRead;
      if (len === this.buf.length) break;
    }
    if (len % RECORD) throw new BridgeError('INTERNAL', 'a sort run file was cut short');
    this.len = len;
    this.at = 0;
    this.done = len === 0;
    if (!this.done) this.load();
  }

  private load(): void {
    this.hi = this.buf.readUInt32BE(this.at);
    this.lo = this.buf.readUInt32BE(this.at + 4);
  }
}

/** a before b: by name, then by run (the earlier run was added first). */
function before(a: RunReader, b: RunReader): boolean {
  if (a.hi !== b.hi) return a.hi < b.hi;
  if (a.lo !== b.lo) return a.lo < b.lo;
  const c = a.buf.compare(b.buf, b.at + 8, b.at + KEY, a.at + 8, a.at + KEY);
  return c === 0 ? a.order < b.order : c < 0;
}

/**
 * Merges sorted runs (each with one record per name) into one sequence with one record per
 * name, the first run's; yields (buffer, offset) views valid until the next step.
 */
async function* mergeRuns(files: string[]): AsyncGenerator<[Buffer, number]> {
  const readers: RunReader[] = [];
  try {
    for (const [i, f] of files.entries()) readers.push(await RunReader.open(f, i));
    const heap = readers.filter((r) => !r.done);
    const down = (from: number): void => {
      let i = from;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l] as RunReader, heap[m] as RunReader)) m = l;
        if (r < heap.length && before(heap[r] as RunReader, heap[m] as RunReader)) m = r;
        if (m === i) return;
        [heap[i], heap[m]] = [heap[m] as RunReader, heap[i] as RunReader];
        i = m;
      }
    };
    for (let i = (heap.length >> 1) - 1; i >= 0; i--) down(i);
    const last = Buffer.alloc(KEY);
    let any = false;
    while (heap.length) {
      const top = heap[0] as RunReader;
      if (!any || top.buf.compare(last, 0, KEY, top.at, top.at + KEY) !== 0) {
        any = true;
        top.buf.copy(last, 0, top.at, top.at + KEY);
        yield [top.buf, top.at];
      }
      await top.next();
      if (top.done) {
        const end = heap.pop() as RunReader;
        if (heap.length) heap[0] = end;
      }
      if (heap.length) down(0);
    }
  } finally {
    await Promise.all(readers.map((r) => r.close()));
  }
}

/**
 * The names of `sorted` (ascending, distinct) that `listing` does not list, by a merge join.
 * A name is passed over only when the listing names exactly it, so nothing missing is ever
 * skipped; a listing out of order (against the storage contract) can only make more names come
 * out (copied again), never fewer.
 */
export async function* notListed<T extends { sha256: string }>(
  sorted: AsyncIterable<T>,
  listing: AsyncIterable<{ sha256: string }>,
): AsyncGenerator<T> {
  const listed = new ListingCursor(listing);
  try {
    for await (const x of sorted) if (!(await listed.has(x.sha256))) yield x;
  } finally {
    await listed.close();
  }
}

/** Reads a listing forward: `has(name)` for names that do not decrease. */
class ListingCursor {
  private readonly it: AsyncIterator<{ sha256: string }>;
  private head: string | undefined;
  private started = false;
  private ended = false;
  constructor(listing: AsyncIterable<{ sha256: string }>) {
    this.it = listing[Symbol.asyncIterator]();
  }

  async has(name: string): Promise<boolean> {
    if (!this.started) {
      this.started = true;
      await this.advance();
    }
    while (this.head !== undefined && this.head < name) await this.advance();
    return this.head === name;
  }

  async close(): Promise<void> {
    if (!this.ended) {
      this.ended = true;
      await this.it.return?.();
    }
  }

  private async advance(): Promise<void> {
    const r = await this.it.next();
    if (r.done) {
      this.ended = true;
      this.head = undefined;
    } else {
      this.head = r.value.sha256;
    }
  }
}
