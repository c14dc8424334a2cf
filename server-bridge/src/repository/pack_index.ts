/**
 * Where every packed object is: one lookup over all packs' indexes (index/<pack>.json), kept off
 * the JS heap. Each object is a 24-byte record (the first 8 bytes of its SHA-256, u32 pack
 * ordinal, u32 offset, u32 size, u32 number of its whole name in a NameFile on local disk) in
 * Buffers of 64k records, sorted by prefix in place once all indexes were added: a million packed
 * objects cost 24 MB of Buffer memory (whole names in memory made it 44 MB) and a lookup is a
 * binary search over prefixes, then one read of the whole name to confirm it (two objects may
 * share a prefix by chance, about n²/2^65, or because someone made them so with 2^32 hashes).
 * An object in several packs (two backups packed the same content) keeps every record; lookup
 * answers with the one from the pack added first that is not lost. A pack is lost when its index
 * stands but the pack file is missing or of another size: a backup must store its objects again
 * (holdsWhole), not deduplicate against it.
 */
import { NotFoundError } from '../core/errors';
import { readBufferAtMost, type ObjectInfo, type Storage } from '../storage/storage';
import { sizesComparable } from '../storage/encrypted_chain';
import { PACK_INDEXES, PACKS, packKey, packOfIndexKey, packOfKey } from './layout';
import { MAX_INDEX_FILE_BYTES } from './pack_limits';
import { PackIndexError, parsePackIndexFile, type PackIndexFile } from './pack_index_file';
import { NameFile } from './name_file';
import { readPrefix } from '../core/hash_set';

const RECORD = 24;
/** Where a record's fields are. */
const PACK = 8;
const OFFSET = 12;
const SIZE = 16;
const NAME = 20;
const CHUNK_SHIFT = 16;
const CHUNK_RECORDS = 1 << CHUNK_SHIFT;
const CHUNK_MASK = CHUNK_RECORDS - 1;
const SHA256 = /^[0-9a-f]{64}$/;

/** Where an object's bytes are: pack[offset, offset + size). */
export interface PackLocation {
  pack: string;
  offset: number;
  size: number;
}

/**
 * The lookup over all packs added. Contract: lookup(sha) is the location from the first pack
 * added that holds `sha` and is not lost, else from the first that holds it, or undefined (also
 * for a string that is not a SHA-256); guess(sha) is lookup() unconfirmed, for reads that hash
 * what they get; locations(sha) gives every pack's; holdsWhole(sha) says
 * whether a pack that is not lost holds it. Immutable once built.
 */
export class PackIndex {
  private readonly prefix = new Uint32Array(2);

  private constructor(
    private readonly chunks: Buffer[],
    readonly count: number,
    private readonly packs: string[],
    private readonly packSizes: Map<string, number>,
    private readonly lost: ReadonlySet<string>,
    private readonly names: NameFile,
  ) {}

  /** Whether `pack` was found missing, or of another size than its index says, when loaded. */
  isLost(pack: string): boolean {
    return this.lost.has(pack);
  }

  /**
   * Whether `sha` is in a pack that was there whole when loaded: what a backup may deduplicate
   * against (an object only in a lost pack must be stored again, or the new snapshot loses it too).
   */
  holdsWhole(sha: string): boolean {
    const loc = this.lookup(sha);
    return loc !== undefined && !this.lost.has(loc.pack);
  }

  /** The size of `pack` as its index says (a reader checks the pack file against it), or undefined. */
  sizeOfPack(pack: string): number | undefined {
    return this.packSizes.get(pack);
  }

  /** Packs indexed, in the order they were added. */
  get packCount(): number {
    return this.packs.length;
  }

  /** Every pack indexed with the size its index gives, in the order added (verify checks each). */
  indexedPacks(): Array<{ pack: string; size: number }> {
    return this.packs.map((pack) => ({ pack, size: this.packSizes.get(pack) as number }));
  }

  /** Bytes of the records (the index's memory outside the JS heap). */
  get recordBytes(): number {
    return this.chunks.reduce((n, c) => n + c.length, 0);
  }

  /**
   * lookup() that trusts a prefix held by one record alone, without reading the whole name back
   * (one syscall an object: seconds at a million). Only for callers that hash what they read there
   * and fall back to lookup() on a mismatch, or whose "present" is confirmed by such a read later:
   * a wrong answer (two names sharing 64 bits, by chance about n²/2^65, or a forged index) then
   * costs a mismatch, never wrong bytes. A prefix several records share is looked up in full.
   */
  guess(sha: string): PackLocation | undefined {
    if (!this.setPrefix(sha)) return undefined;
    const i = this.first();
    if (i >= this.count || !this.prefixAt(i)) return undefined;
    if (i + 1 < this.count && this.prefixAt(i + 1)) return this.lookup(sha);
    return this.location(i);
  }

  lookup(sha: string): PackLocation | undefined {
    if (!this.setPrefix(sha)) return undefined;
    let key: Buffer | undefined;
    let lostOne: PackLocation | undefined;
    for (let i = this.first(); i < this.count && this.prefixAt(i); i++) {
      key ??= Buffer.from(sha, 'hex');
      if (!this.nameAt(i, key)) continue;
      const loc = this.location(i);
      if (this.lost.size === 0 || !this.lost.has(loc.pack)) return loc;
      // Its first pack is lost: a copy a later backup stored (holdsWhole said no) is read instead.
      lostOne ??= loc;
    }
    return lostOne;
  }

  locations(sha: string): PackLocation[] {
    const out: PackLocation[] = [];
    if (!this.setPrefix(sha)) return out;
    const key = Buffer.from(sha, 'hex');
    for (let i = this.first(); i < this.count && this.prefixAt(i); i++) {
      if (this.nameAt(i, key)) out.push(this.location(i));
    }
    return out;
  }

  /** Every name held by more than one pack, once each, in name order (a scan of the sorted records). */
  *duplicateNames(): Generator<string> {
    for (let i = 0; i < this.count;) {
      const [c, at] = this.at(i);
      this.prefix[0] = c.readUInt32BE(at);
      this.prefix[1] = c.readUInt32BE(at + 4);
      let j = i + 1;
      while (j < this.count && this.prefixAt(j)) j++;
      // A run of one prefix: the same object in several packs, or names that only share a prefix.
      if (j - i > 1) {
        const seen = new Map<string, number>();
        for (let k = i; k < j; k++) {
          const [ck, ak] = this.at(k);
          const name = this.names.hex(ck.readUInt32LE(ak + NAME));
          seen.set(name, (seen.get(name) ?? 0) + 1);
        }
        yield* [...seen]
          .filter(([, n]) => n > 1)
          .map(([name]) => name)
          .sort();
      }
      i = j;
    }
  }

  /** Puts `sha`'s first 64 bits in this.prefix; false for a string that is not a SHA-256. */
  private setPrefix(sha: string): boolean {
    if (!SHA256.test(sha)) return false;
    readPrefix(sha, this.prefix);
    return true;
  }

  /** The lowest record index whose prefix is not below this.prefix. */
  private first(): number {
    const hi = this.prefix[0] as number;
    const lo = this.prefix[1] as number;
    let a = 0;
    let b = this.count;
    while (a < b) {
      const mid = (a + b) >>> 1;
      const [c, at] = this.at(mid);
      const h = c.readUInt32BE(at);
      if (h < hi || (h === hi && c.readUInt32BE(at + 4) < lo)) a = mid + 1;
      else b = mid;
    }
    return a;
  }

  /** Whether record i's prefix is this.prefix. */
  private prefixAt(i: number): boolean {
    const [c, at] = this.at(i);
    return c.readUInt32BE(at) === this.prefix[0] && c.readUInt32BE(at + 4) === this.prefix[1];
  }

  /** Whether record i's whole name is `key` (read back from the name file). */
  private nameAt(i: number, key: Buffer): boolean {
    const [c, at] = this.at(i);
    return this.names.equals(c.readUInt32LE(at + NAME), key);
  }

  private at(i: number): [Buffer, number] {
    return [this.chunks[i >>> CHUNK_SHIFT] as Buffer, (i & CHUNK_MASK) * RECORD];
  }

  private location(i: number): PackLocation {
    const [chunk, at] = this.at(i);
    return {
      pack: this.packs[chunk.readUInt32LE(at + PACK)] as string,
      offset: chunk.readUInt32LE(at + OFFSET),
      size: chunk.readUInt32LE(at + SIZE),
    };
  }

  /** Used by PackIndexBuilder only. */
  static fromSorted(
    chunks: Buffer[],
    count: number,
    packs: string[],
    packSizes: Map<string, number>,
    lost: ReadonlySet<string>,
    names: NameFile,
  ): PackIndex {
    return new PackIndex(chunks, count, packs, packSizes, lost, names);
  }
}

/**
 * Gathers parsed index files one at a time (each may be dropped after add) and sorts once at
 * build(). Contract: add() only valid indexes (parsePackIndexFile's result); build() once, given
 * the packs found lost (none by default); a pack added twice is indexed once.
 */
export class PackIndexBuilder {
  private readonly chunks: Buffer[] = [];
  private count = 0;
  private readonly packs: string[] = [];
  private readonly packSizes = new Map<string, number>();
  private readonly names = new NameFile();

  add(index: PackIndexFile): void {
    if (this.packSizes.has(index.pack)) return;
    const ordinal = this.packs.length;
    this.packs.push(index.pack);
    this.packSizes.set(index.pack, index.size);
    for (const o of index.objects) {
      const c = this.count >>> CHUNK_SHIFT;
      if (c === this.chunks.length) this.chunks.push(Buffer.alloc(CHUNK_RECORDS * RECORD));
      const chunk = this.chunks[c] as Buffer;
      const at = (this.count & CHUNK_MASK) * RECORD;
      chunk.write(o.sha256, at, 8, 'hex');
      chunk.writeUInt32LE(ordinal, at + PACK);
      chunk.writeUInt32LE(o.offset, at + OFFSET);
      chunk.writeUInt32LE(o.size, at + SIZE);
      chunk.writeUInt32LE(this.names.appendHex(o.sha256), at + NAME);
      this.count++;
    }
  }

  /** The packs added so far with their indexes' sizes. */
  indexed(): Array<{ pack: string; size: number }> {
    return this.packs.map((pack) => ({ pack, size: this.packSizes.get(pack) as number }));
  }

  build(lost: ReadonlySet<string> = new Set()): PackIndex {
    const n = this.count;
    const chunks = this.chunks;
    const at = (i: number): [Buffer, number] => [chunks[i >>> CHUNK_SHIFT] as Buffer, (i & CHUNK_MASK) * RECORD];
    // Sort keys without a JS object per record: the first 4 bytes of the SHA-256 above the record's
    // index, sorted natively; the index below makes equal keys keep the order added (first pack wins).
    const keys = new BigUint64Array(n);
    for (let i = 0; i < n; i++) {
      const [c, o] = at(i);
      keys[i] = (BigInt(c.readUInt32BE(o)) << 32n) | BigInt(i);
    }
    keys.sort();
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = Number((keys[i] as bigint) & 0xffffffffn);
    // Runs of equal 4-byte prefixes (about n²/2³³ records: ~120 at a million) by the next 4 bytes.
    for (let i = 0; i < n;) {
      let j = i + 1;
      const prefix = (keys[i] as bigint) >> 32n;
      while (j < n && (keys[j] as bigint) >> 32n === prefix) j++;
      if (j - i > 1) {
        const next = (r: number): number => {
          const [c, o] = at(r);
          return c.readUInt32BE(o + 4);
        };
        const run = Array.from(order.subarray(i, j)).sort((a, b) => next(a) - next(b) || a - b);
        order.set(run, i);
      }
      i = j;
    }
    permute(order, at);
    this.names.flush();
    return PackIndex.fromSorted(chunks, n, this.packs, this.packSizes, lost, this.names);
  }
}

/** Moves record order[k] to position k for every k, in place, following each cycle once. */
function permute(order: Uint32Array, at: (i: number) => [Buffer, number]): void {
  const tmp = Buffer.alloc(RECORD);
  const done = new Uint8Array(order.length);
  for (let k = 0; k < order.length; k++) {
    if (done[k] || order[k] === k) continue;
    const [ck, ok] = at(k);
    ck.copy(tmp, 0, ok, ok + RECORD);
    let j = k;
    for (;;) {
      const src = order[j] as number;
      done[j] = 1;
      const [cj, oj] = at(j);
      if (src === k) {
        tmp.copy(cj, oj);
        break;
      }
      const [cs, os] = at(src);
      cs.copy(cj, oj, os, os + RECORD);
      j = src;
    }
  }
}

/** A pack index that could not be used: its objects count as missing (verify reports them). */
export interface BrokenPackIndex {
  key: string;
  problem: string;
}

/**
 * Reads and parses the index file listed as `o` (a key under index/ naming `pack`): PackIndexError
 * for one that is too long or fails a check (pack_index_file.ts), NotFoundError when it is gone,
 * storage failures as they come.
 */
export async function readPackIndexFile(
  storage: Storage,
  o: ObjectInfo,
  pack: string,
  opts: { signal?: AbortSignal } = {},
): Promise<PackIndexFile> {
  if (o.size > MAX_INDEX_FILE_BYTES) {
    throw new PackIndexError(pack, 'too-large', `${o.size} bytes, more than ${MAX_INDEX_FILE_BYTES}`);
  }
  const bytes = await readBufferAtMost(
    storage,
    o.key,
    MAX_INDEX_FILE_BYTES,
    (max) => new PackIndexError(pack, 'too-large', `more than ${max} bytes`),
    opts,
  );
  return parsePackIndexFile(bytes, pack);
}

/**
 * Builds the lookup from every index/<pack>.json in `storage`, one file read and parsed at a time,
 * in key order (so which pack is "first" for a duplicate is the same on every run). Index files
 * that are too long, do not parse or fail a check (pack_index_file.ts) are returned in `broken`,
 * not thrown: their objects are then simply not found. Keys under index/ that are not a pack index's
 * name are ignored. packs/ is listed after index/ (a pack is stored before its index, so every
 * index listed has its pack listed unless it was lost): an indexed pack missing there, or of another
 * size where sizes are comparable, is lost (PackIndex.isLost). Storage failures are thrown.
 * `listed`: what was listed (packsListing's form), to tell later whether packs changed since.
 */
export async function loadPackIndex(
  storage: Storage,
  opts: { signal?: AbortSignal } = {},
): Promise<{ index: PackIndex; broken: BrokenPackIndex[]; listed: string[] }> {
  const builder = new PackIndexBuilder();
  const broken: BrokenPackIndex[] = [];
  const indexKeys: string[] = [];
  for await (const o of storage.list(PACK_INDEXES)) {
    const pack = packOfIndexKey(o.key);
    if (!pack) continue;
    indexKeys.push(o.key);
    try {
      builder.add(await readPackIndexFile(storage, o, pack, opts));
    } catch (err) {
      if (err instanceof PackIndexError) broken.push({ key: o.key, problem: err.message });
      else if (err instanceof NotFoundError) {
        continue;
      } // removed since listed (a prune): nothing to index
      else throw err;
    }
  }
  const listed = new Map<string, number>();
  for await (const o of storage.list(PACKS)) {
    const pack = packOfKey(o.key);
    if (pack) listed.set(pack, o.size);
  }
  const sizes = sizesComparable(storage);
  const lost = new Set<string>();
  for (const { pack, size } of builder.indexed()) {
    const found = listed.get(pack);
    if (found === undefined || (sizes && found !== size)) lost.add(pack);
  }
  for (const [pack, size] of listed) indexKeys.push(`${packKey(pack)} ${size}`);
  return { index: builder.build(lost), broken, listed: indexKeys.sort() };
}

/**
 * What loadPackIndex lists, names and pack sizes only (nothing read): every index key, and every
 * pack's key with its size, sorted. Equal answers: no pack or index was added, removed or replaced.
 */
export async function packsListing(storage: Storage): Promise<string[]> {
  const out: string[] = [];
  for await (const o of storage.list(PACK_INDEXES)) if (packOfIndexKey(o.key)) out.push(o.key);
  for await (const o of storage.list(PACKS)) if (packOfKey(o.key)) out.push(`${o.key} ${o.size}`);
  return out.sort();
}
