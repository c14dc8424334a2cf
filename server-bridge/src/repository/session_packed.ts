/**
 * The names of the objects packed in finished packs of this job, exactly, in 12 bytes an object
 * of memory: each name's first 64 bits, sorted, with its number in a NameFile (the whole names on
 * local disk, appended a pack at a time). A lookup searches the prefixes and reads a whole name
 * back only when a prefix matches: for an object packed before in this job (a duplicate), or by
 * chance (odds about n/2^64 a lookup). Holding the whole names in memory cost 40 bytes an object,
 * 40 MB at a million, the largest part of a first backup's memory that grew with the file count.
 * The pack being written is its writer's to answer.
 *
 * A finished pack's prefixes are merged in at finish(), one merge per pack: one name at a time
 * between lookups (a lookup per file, as a backup does) made a backup of n new small files O(n²),
 * 200k files took over 10 minutes of CPU. The prefixes are split by their first BUCKET_BITS bits
 * into buckets, each merged into from its end in place, with room to spare (GROWTH): a bucket is
 * copied only when it outgrows its room. Merged whole into a new array per pack, a million objects
 * held the old and the new 12 MB arrays at once, and made about 450 MB of garbage arrays over the
 * backup, which V8 frees only at its next full collection. Names someone made to share their
 * first bits fill one bucket, which is one array again: slower, never wrong.
 */
import { readPrefix } from '../core/hash_set';
import { NameFile } from './name_file';
import type { FinishedPack } from './pack_writer';

/** Buckets: 1024 (the first 10 bits), about a thousand names each at a million. */
const BUCKET_BITS = 10;
const BUCKET_SHIFT = 32 - BUCKET_BITS;
/** A name's record in its bucket: its first 32 bits, its next 32, its number in the file. */
const HI = 0;
const LO = 1;
const AT = 2;
const RECORD = 3;
const EMPTY = new Uint32Array(0);
/** A bucket that outgrows its room gets this much more than it needs: a quarter more memory at most, few copies. */
const GROWTH = 1.25;
/** And at least this many records more, so a bucket that grows a record a pack is not copied each time. */
const MIN_ROOM = 8;

/**
 * Contract: has(sha) is true exactly for the names of the packs given to finish() (a name must be
 * finished once: Packs asks has() before adding). Sync, single-threaded. dispose() lets the names
 * go; has() after it is false.
 */
export class SessionPacked {
  /** Per bucket, records (HI, LO, AT) sorted by (hi, lo) in [0, used[b]), room after them. */
  private readonly buckets: Uint32Array[] = new Array<Uint32Array>(1 << BUCKET_BITS).fill(EMPTY);
  private readonly used = new Uint32Array(1 << BUCKET_BITS);
  private file: NameFile | undefined;
  private mergesDone = 0;
  private held = 0;
  private copied = 0;
  private readonly key = new Uint32Array(2);

  /** Records a finished pack's names. Throws DiskFullError when they cannot be written to disk. */
  finish(pack: FinishedPack): void {
    const names = pack.index.objects.map((o) => Buffer.from(o.sha256, 'hex')).sort((a, b) => a.compare(b));
    if (names.length === 0) return;
    this.file ??= new NameFile();
    const file = this.file;
    const batch = new Uint32Array(names.length * RECORD);
    names.forEach((n, i) => {
      batch[i * RECORD + HI] = n.readUInt32BE(0);
      batch[i * RECORD + LO] = n.readUInt32BE(4);
      batch[i * RECORD + AT] = file.append(n);
    });
    file.flush();
    // The batch is sorted, so each bucket's names are one run of it.
    for (let i = 0; i < names.length;) {
      const bucket = (batch[i * RECORD + HI] as number) >>> BUCKET_SHIFT;
      let j = i + 1;
      while (j < names.length && (batch[j * RECORD + HI] as number) >>> BUCKET_SHIFT === bucket) j++;
      this.mergeInto(bucket, batch.subarray(i * RECORD, j * RECORD));
      i = j;
    }
    this.held += names.length;
    this.mergesDone++;
  }

  /** Whether `sha` is in a pack finished in this job. */
  has(sha: string): boolean {
    readPrefix(sha, this.key);
    const hi = this.key[0] as number;
    const lo = this.key[1] as number;
    const bucket = hi >>> BUCKET_SHIFT;
    const p = this.buckets[bucket] as Uint32Array;
    const n = this.used[bucket] as number;
    let a = 0;
    let b = n;
    while (a < b) {
      const mid = (a + b) >>> 1;
      const mh = p[mid * RECORD + HI] as number;
      if (mh < hi || (mh === hi && (p[mid * RECORD + LO] as number) < lo)) a = mid + 1;
      else b = mid;
    }
    if (a === n || p[a * RECORD + HI] !== hi || p[a * RECORD + LO] !== lo) return false;
    const whole = Buffer.from(sha, 'hex');
    // Every name with this prefix (two only if someone made them so): the whole name decides.
    for (let i = a; i < n && p[i * RECORD + HI] === hi && p[i * RECORD + LO] === lo; i++) {
      if (this.file?.equals(p[i * RECORD + AT] as number, whole)) return true;
    }
    return false;
  }

  /** Merges of finished packs' prefixes: one per finished pack. */
  get filterMerges(): number {
    return this.mergesDone;
  }

  /** Bytes of memory the prefixes hold, room to spare included (the whole names are on disk). */
  get bytes(): number {
    return this.buckets.reduce((sum, b) => sum + b.byteLength, 0);
  }

  /** Names held. */
  get size(): number {
    return this.held;
  }

  /** Bytes of records copied into a bucket's new array when it outgrew its room (what became garbage). */
  get bytesCopied(): number {
    return this.copied;
  }

  /** Lets go of the names (the file and the prefixes); more than once is fine. */
  dispose(): void {
    this.file?.close();
    this.file = undefined;
    this.buckets.fill(EMPTY);
    this.used.fill(0);
    this.held = 0;
  }

  /** Merges sorted records `run` into the bucket from the back, growing its room first if it must. */
  private mergeInto(bucket: number, run: Uint32Array): void {
    const n = (this.used[bucket] as number) * RECORD;
    let into = this.buckets[bucket] as Uint32Array;
    if (n + run.length > into.length) {
      const need = (n + run.length) / RECORD;
      const grown = new Uint32Array(Math.max(Math.ceil(need * GROWTH), need + MIN_ROOM) * RECORD);
      grown.set(into.subarray(0, n));
      this.copied += n * 4;
      this.buckets[bucket] = grown;
      into = grown;
    }
    let i = n - RECORD;
    let j = run.length - RECORD;
    // Writes never overtake the unread records of `into`: w - i is the run records left, >= 0.
    for (let w = n + run.length - RECORD; j >= 0; w -= RECORD) {
      const fromInto =
        i >= 0 &&
        ((into[i + HI] as number) > (run[j + HI] as number) ||
          (into[i + HI] === run[j + HI] && (into[i + LO] as number) > (run[j + LO] as number)));
      const src = fromInto ? into : run;
      const x = fromInto ? i : j;
      if (fromInto) i -= RECORD;
      else j -= RECORD;
      into[w + HI] = src[x + HI] as number;
      into[w + LO] = src[x + LO] as number;
      into[w + AT] = src[x + AT] as number;
    }
    this.used[bucket] = (n + run.length) / RECORD;
  }
}
