/**
 * One directory's names sorted on local disk (an external merge sort), for a directory too large
 * to sort in memory (ordered_walk.ts): the caller hands sorted-or-not chunks of names, each is
 * sorted and written as a run in a private directory (the process's spool directory,
 * manifest/spool_dir.ts), and the runs are merged lazily as the caller reads. Memory: one read
 * buffer per run merged (at most FAN_IN of them; more runs are merged in rounds first), whatever
 * the directory's size.
 *
 * Order: ascending UTF-16 code units, the order of JavaScript's `<` on strings (what the walk's
 * `cmp` uses), not UTF-8 byte order: names are stored as UTF-8 and compared after decoding.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { BridgeError } from '../core/errors';

/** Runs merged at once, each with a READ-byte buffer. */
const FAN_IN = 64;
const READ = 64 * 1024;
const WRITE = 1024 * 1024;
/** A record: a flag byte, the name's UTF-8 length (u16) and the name. */
const HEAD = 3;

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Contract: `addRun` any number of chunks, then `finish()` once, then `next()` until it returns
 * undefined (each name once, ascending; `flag` is the flag given with it). `dispose()` closes and
 * removes every file, at any point and more than once; reading to the end disposes too.
 */
export class NameSpill {
  private readonly files = new Set<string>();
  private runs: string[] = [];
  private last: string | undefined;
  private finished = false;
  disposed = false;
  /** The flag of the name `next()` returned last. */
  flag = false;

  /** Run files go in `dir` (private: 0700). */
  constructor(private readonly dir: string) {}

  /** Sorts `names` (with their flags, same indexes) and writes them as one run. */
  addRun(names: readonly string[], flags: readonly boolean[]): void {
    this.alive();
    if (this.finished) throw new BridgeError('INTERNAL', 'NameSpill.addRun after finish()');
    if (!names.length) return;
    const order = Array.from(names.keys()).sort((a, b) => cmp(names[a] as string, names[b] as string));
    let bytes = 0;
    for (const n of names) bytes += HEAD + 3 * n.length;
    const w = new RunWriter(this.newFile(), Math.min(bytes, WRITE));
    try {
      for (const i of order) w.push(names[i] as string, flags[i] === true);
      w.end();
    } finally {
      w.close();
    }
    this.runs.push(w.file);
  }

  /**
   * Merges runs in rounds until FAN_IN buffers can take them all, then opens them for `next()`.
   * `pause` is awaited between rounds' records now and then (the caller's chance to yield).
   */
  async finish(pause: () => Promise<void>): Promise<void> {
    this.alive();
    this.finished = true;
    while (this.runs.length > FAN_IN) {
      const next: string[] = [];
      for (let i = 0; i < this.runs.length; i += FAN_IN) {
        this.alive(); // disposed during the last group's pauses: no new file
        const group = this.runs.slice(i, i + FAN_IN);
        if (group.length === 1) {
          next.push(group[0] as string);
          continue;
        }
        const merging = new Merge(group);
        const w = new RunWriter(this.newFile());
        try {
          let n = 0;
          for (let name = merging.next(); name !== undefined; name = merging.next()) {
            w.push(name, merging.flag);
            if (++n % 4096 === 0) {
              await pause();
              this.alive();
            }
          }
          w.end();
        } finally {
          w.close();
          merging.close();
        }
        next.push(w.file);
        this.remove(group);
      }
      this.runs = next;
    }
    this.merge = new Merge(this.runs);
  }

  private merge: Merge | undefined;

  /** The next name in ascending order (each once), or undefined at the end (files then removed). */
  next(): string | undefined {
    const m = this.merge;
    if (!m) return undefined;
    for (;;) {
      const name = m.next();
      if (name === undefined) {
        this.dispose();
        return undefined;
      }
      // A name listed twice (a directory changing while it is read can do that) is walked once.
      if (name === this.last) continue;
      this.last = name;
      this.flag = m.flag;
      return name;
    }
  }

  dispose(): void {
    this.disposed = true;
    this.merge?.close();
    this.merge = undefined;
    this.remove([...this.files]);
  }

  private alive(): void {
    if (this.disposed) throw new BridgeError('INTERNAL', 'NameSpill used after dispose()');
  }

  private newFile(): string {
    const file = path.join(this.dir, `names-${process.pid}-${randomBytes(8).toString('hex')}.run`);
    this.files.add(file);
    return file;
  }

  private remove(files: string[]): void {
    for (const f of files) {
      rmSync(f, { force: true });
      this.files.delete(f);
    }
  }
}

class RunWriter {
  private readonly buf: Buffer;
  private used = 0;
  private readonly fd: number;
  /** `size`: the buffer's bytes, enough for the largest record (a small run needs no more than its own). */
  constructor(
    readonly file: string,
    size = WRITE,
  ) {
    this.buf = Buffer.allocUnsafe(Math.max(size, HEAD + 3 * 255));
    this.fd = openSync(file, 'wx', 0o600);
  }
  push(name: string, flag: boolean): void {
    // A name is at most 255 bytes on disk; decoded, at most 255 UTF-16 units of at most 3 UTF-8 bytes each.
    if (this.used + HEAD + 3 * name.length > this.buf.length) this.flush();
    if (HEAD + 3 * name.length > this.buf.length) throw new BridgeError('INTERNAL', 'a name too long to sort');
    const len = this.buf.write(name, this.used + HEAD, 'utf8');
    this.buf[this.used] = flag ? 1 : 0;
    this.buf.writeUInt16LE(len, this.used + 1);
    this.used += HEAD + len;
  }
  end(): void {
    this.flush();
  }
  close(): void {
    closeSync(this.fd);
  }
  private flush(): void {
    let off = 0;
    while (off < this.used) off += writeSync(this.fd, this.buf, off, this.used - off);
    this.used = 0;
  }
}

/** One run being read, its current record decoded into `name` and `flag`. */
class RunReader {
  private readonly buf = Buffer.allocUnsafe(READ);
  private at = 0;
  private len = 0;
  private pos = 0;
  private fd: number | undefined;
  name: string | undefined;
  flag = false;

  constructor(file: string) {
    this.fd = openSync(file, 'r');
    this.advance();
  }

  /** Moves to the next record; `name` is undefined at the end (the file is then closed). */
  advance(): void {
    if (!this.have(HEAD)) {
      this.end();
      return;
    }
    const n = this.buf.readUInt16LE(this.at + 1);
    if (!this.have(HEAD + n)) throw new BridgeError('INTERNAL', 'a sorted run of names ends mid-record');
    this.flag = this.buf[this.at] === 1;
    this.name = this.buf.toString('utf8', this.at + HEAD, this.at + HEAD + n);
    this.at += HEAD + n;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private end(): void {
    if (this.at !== this.len) throw new BridgeError('INTERNAL', 'a sorted run of names ends mid-record');
    this.name = undefined;
    this.close();
  }

  /** Whether `n` bytes from `at` are buffered, reading more when they are not. */
  private have(n: number): boolean {
    if (this.len - this.at >= n) return true;
    if (this.fd === undefined) return false;
    this.buf.copy(this.buf, 0, this.at, this.len);
    this.len -= this.at;
    this.at = 0;
    for (;;) {
      const got = readSync(this.fd, this.buf, this.len, this.buf.length - this.len, this.pos);
      this.pos += got;
      this.len += got;
      if (this.len >= n) return true;
      if (got === 0) return false;
    }
  }
}

/** A k-way merge of runs: a binary heap of readers ordered by their current name. */
class Merge {
  private readonly heap: RunReader[] = [];
  private readonly all: RunReader[] = [];
  flag = false;

  constructor(files: readonly string[]) {
    try {
      for (const f of files) {
        const r = new RunReader(f);
        this.all.push(r);
        if (r.name !== undefined) this.push(r);
      }
    } catch (err) {
      this.close();
      throw err;
    }
  }

  next(): string | undefined {
    const top = this.heap[0];
    if (!top) return undefined;
    const name = top.name as string;
    this.flag = top.flag;
    top.advance();
    if (top.name === undefined) {
      const last = this.heap.pop() as RunReader;
      if (this.heap.length) {
        this.heap[0] = last;
        this.down(0);
      }
    } else {
      this.down(0);
    }
    return name;
  }

  close(): void {
    for (const r of this.all) r.close();
  }

  private push(r: RunReader): void {
    const h = this.heap;
    h.push(r);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!(((h[i] as RunReader).name as string) < ((h[p] as RunReader).name as string))) break;
      [h[i], h[p]] = [h[p] as RunReader, h[i] as RunReader];
      i = p;
    }
  }

  private down(from: number): void {
    const h = this.heap;
    for (let i = from; ;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && ((h[l] as RunReader).name as string) < ((h[m] as RunReader).name as string)) m = l;
      if (r < h.length && ((h[r] as RunReader).name as string) < ((h[m] as RunReader).name as string)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m] as RunReader, h[i] as RunReader];
      i = m;
    }
  }
}

/**
 * The names of a NameSpill in order, numbered from 0, with a window of them at hand: `fill(k)`
 * reads up to name k-1 (or the end), `release(k)` lets names before k go. Holds only the window.
 */
export class NameWindow {
  private names: string[] = [];
  private flags: boolean[] = [];
  /** The number of the first name in the window. */
  private base = 0;
  done = false;

  constructor(readonly spill: NameSpill) {}

  /** One past the last name read so far. */
  get end(): number {
    return this.base + this.names.length;
  }

  /** Reads names until `upTo` are known or the names end. */
  fill(upTo: number): void {
    while (!this.done && this.end < upTo) {
      const name = this.spill.next();
      if (name === undefined) this.done = true;
      else {
        this.names.push(name);
        this.flags.push(this.spill.flag);
      }
    }
  }

  /** Name k, which must be in the window (released ≤ k < end). */
  name(k: number): string {
    return this.names[k - this.base] as string;
  }

  flag(k: number): boolean {
    return this.flags[k - this.base] === true;
  }

  /** The first name still in the window. */
  get first(): number {
    return this.base;
  }

  /** Forgets names before k (in batches: an array's front is not cut one name at a time). */
  release(k: number): void {
    const n = k - this.base;
    if (n < 1024) return;
    this.names.splice(0, n);
    this.flags.splice(0, n);
    this.base = k;
  }

  dispose(): void {
    this.names = [];
    this.flags = [];
    this.spill.dispose();
  }
}
