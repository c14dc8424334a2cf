/**
 * The names of the objects packed in finished packs of this job, exactly, in 12 bytes an object
 * of memory: each name's first 64 bits, sorted, with its number in a NameFile (the whole names on
 * local disk, appended a pack at a time). A lookup searches the prefixes and reads a whole name
 * back only when a prefix matches: for an object packed before in this job (a duplicate), or by
 * chance (odds about n/2^64 a lookup). Holding the whole names in memory cost 40 bytes an object,
 * 40 MB at a million, the largest part of a first backup's memory that grew with the file count.
 * The pack being written is its writer's to answer.
 *
 * A finished pack's prefixes are merged in at finish(), in O(names held): one name at a time
 * between lookups (a lookup per file, as a backup does) made a backup of n new small files O(n²),
 * 200k files took over 10 minutes of CPU.
 */
import { readPrefix } from '../core/hash_set';
import { NameFile } from './name_file';
import type { FinishedPack } from './pack_writer';

/** Parallel arrays sorted by (hi, lo): a name's first 32 bits, its next 32, its number in the file. */
interface Prefixes {
  hi: Uint32Array;
  lo: Uint32Array;
  at: Uint32Array;
}

const none = (): Prefixes => ({ hi: new Uint32Array(0), lo: new Uint32Array(0), at: new Uint32Array(0) });

/**
 * Contract: has(sha) is true exactly for the names of the packs given to finish() (a name must be
 * finished once: Packs asks has() before adding). Sync, single-threaded. dispose() lets the names
 * go; has() after it is false.
 */
export class SessionPacked {
  private prefixes = none();
  private file: NameFile | undefined;
  private mergesDone = 0;
  private readonly key = new Uint32Array(2);

  /** Records a finished pack's names. Throws DiskFullError when they cannot be written to disk. */
  finish(pack: FinishedPack): void {
    const names = pack.index.objects.map((o) => Buffer.from(o.sha256, 'hex')).sort((a, b) => a.compare(b));
    if (names.length === 0) return;
    this.file ??= new NameFile();
    const file = this.file;
    const batch: Prefixes = {
      hi: new Uint32Array(names.length),
      lo: new Uint32Array(names.length),
      at: new Uint32Array(names.length),
    };
    names.forEach((n, i) => {
      batch.hi[i] = n.readUInt32BE(0);
      batch.lo[i] = n.readUInt32BE(4);
      batch.at[i] = file.append(n);
    });
    file.flush();
    this.prefixes = merge(this.prefixes, batch);
    this.mergesDone++;
  }

  /** Whether `sha` is in a pack finished in this job. */
  has(sha: string): boolean {
    readPrefix(sha, this.key);
    const hi = this.key[0] as number;
    const lo = this.key[1] as number;
    const p = this.prefixes;
    let a = 0;
    let b = p.hi.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      const mh = p.hi[mid] as number;
      if (mh < hi || (mh === hi && (p.lo[mid] as number) < lo)) a = mid + 1;
      else b = mid;
    }
    if (a === p.hi.length || p.hi[a] !== hi || p.lo[a] !== lo) return false;
    const whole = Buffer.from(sha, 'hex');
    // Every name with this prefix (two only if someone made them so): the whole name decides.
    for (let i = a; i < p.hi.length && p.hi[i] === hi && p.lo[i] === lo; i++) {
      if (this.file?.equals(p.at[i] as number, whole)) return true;
    }
    return false;
  }

  /** Merges of finished packs' prefixes (each costs O(names held)): one per finished pack. */
  get filterMerges(): number {
    return this.mergesDone;
  }

  /** Bytes of memory the prefixes hold (the whole names are on disk). */
  get bytes(): number {
    return this.prefixes.hi.byteLength * 3;
  }

  /** Lets go of the names (the file and the prefixes); more than once is fine. */
  dispose(): void {
    this.file?.close();
    this.file = undefined;
    this.prefixes = none();
  }
}

/** a and b merged into new arrays of exactly their joint size (both sorted; equal prefixes kept). */
function merge(a: Prefixes, b: Prefixes): Prefixes {
  const m = a.hi.length;
  const n = b.hi.length;
  const out: Prefixes = { hi: new Uint32Array(m + n), lo: new Uint32Array(m + n), at: new Uint32Array(m + n) };
  let i = 0;
  let j = 0;
  for (let k = 0; k < m + n; k++) {
    const takeA =
      j >= n ||
      (i < m &&
        ((a.hi[i] as number) < (b.hi[j] as number) ||
          (a.hi[i] === b.hi[j] && (a.lo[i] as number) <= (b.lo[j] as number))));
    const from = takeA ? a : b;
    const x = takeA ? i++ : j++;
    out.hi[k] = from.hi[x] as number;
    out.lo[k] = from.lo[x] as number;
    out.at[k] = from.at[x] as number;
  }
  return out;
}
