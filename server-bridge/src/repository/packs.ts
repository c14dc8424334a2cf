/**
 * The repository's packs (docs/storage.md "Packs") seen as one place objects live, beside
 * objects/: which object is in which pack (the index of every index/<pack>.json, loaded once per
 * job and dropped when packs change), reading a packed object's bytes, and, when the repository
 * packs small objects, writing new ones into packs during a backup and storing each full pack
 * (its index after it) before the snapshot's manifest is committed.
 */
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { BridgeError, NotFoundError } from '../core/errors';
import { encryptedChain } from '../storage/encrypted_chain';
import { readBufferAtMost, readRangeBuffer, type RangeReaderSync, type Storage } from '../storage/storage';
import { packKey } from './layout';
import { loadPackIndex, packsListing, type BrokenPackIndex, type PackIndex, type PackLocation } from './pack_index';
import { PackDamagedError } from './pack_reader';
import { storePack } from './pack_store';
import { SessionPacked } from './session_packed';
import { PackWriter, type FinishedPack, type PackWriterOptions } from './pack_writer';
import { upgradeMarkerForPacks } from './marker';
import { TARGET_PACK_SIZE } from './pack_limits';

/**
 * Bytes of whole packs of a bucket held in memory at once, by their indexes' sizes: two full packs,
 * or more smaller ones (an hourly backup's pack is often a few MB, and a restore in path order may
 * interleave a day's worth). Two packs are held whatever their size (each at most MAX_WHOLE_READ).
 */
const HELD_BYTES = 2 * TARGET_PACK_SIZE;
const MIN_HELD_PACKS = 2;

/** Finished packs an asynchronous add lets wait for their store before it waits too. */
const MAX_STORING = 2;

/**
 * A pack its index says is larger (an index may claim up to MAX_PACK_SIZE, and anyone who can write
 * the bucket can write one) is never read whole into memory: by range only, an object at a time.
 */
const MAX_WHOLE_READ = 4 * TARGET_PACK_SIZE;

/**
 * Contract: locate()/locateLoaded() say where a packed object is (undefined: not in any pack, so
 * look in objects/) as the index loaded last says (refresh() looks again); read()/readSync() return a located object's bytes (not checked: the caller
 * hashes them against the name it asked for, as for an object file); guessLoaded()/readGuessedSync()
 * skip the whole name's check for reads that hash what they get. With `write`, add()/addSync()
 * take a small object's bytes once prepare() ran, store each full pack as it fills, and flush()
 * stores the rest and must succeed before a manifest that uses them is written. reset() drops
 * everything held (after a failed job; its staged pack files are the staging cleaner's).
 */
export class Packs {
  /** The pack readSync read last, kept open. */
  private openPack?: { pack: string; reader: RangeReaderSync };
  private keepOpen = false;
  private index: PackIndex | undefined;
  /** What the loaded index was built from, as packsListing gives it (refresh() compares a new one). */
  private listed: string[] = [];
  private brokenIndexes: BrokenPackIndex[] = [];
  private loading: Promise<PackIndex> | undefined;
  private preparing: Promise<void> | undefined;
  private writer: PackWriter | undefined;
  private session = new SessionPacked();
  private stores: Promise<void> = Promise.resolve();
  /** Finished packs not stored yet (each a 16 MiB staged file). */
  private storing = 0;
  private failed: Error | undefined;
  private stagingDir: string | undefined;
  /** Whether a pack was finished since the index was loaded (flush then drops the index). */
  private wrote = false;
  /** Packs of a bucket read whole (after a second object was wanted from one), newest last. */
  private held = new Map<string, { whole: Promise<Buffer>; size: number }>();
  /** The sizes of the packs in `held`, summed. */
  private heldBytes = 0;
  /** Packs of a bucket read from once by range: a second read takes the whole pack. */
  private ranged = new Set<string>();
  /** Packs of a bucket read whole and let go for others (held only up to HELD_BYTES). */
  private letGo = new Set<string>();
  /** Whether a range read costs its length (no encryption in the chain), not the bytes before it too. */
  private readonly rangesCheap: boolean;

  /** `writer`: the packs' target size and count (the defaults of pack_limits.ts unless given). */
  constructor(
    private readonly storage: Storage,
    readonly write: boolean,
    private readonly writerOpts: PackWriterOptions = {},
  ) {
    this.rangesCheap = !encryptedChain(storage);
  }

  /** Index files that could not be used at the last load: their objects are not found. */
  get broken(): BrokenPackIndex[] {
    return this.brokenIndexes;
  }

  /** Loads the index of every pack if it is not loaded (once per job; after reset or flush, again). */
  async load(opts: { signal?: AbortSignal } = {}): Promise<PackIndex> {
    if (this.index) return this.index;
    this.loading ??= loadPackIndex(this.storage, opts).then(
      ({ index, broken, listed }) => {
        this.index = index;
        this.brokenIndexes = broken;
        this.listed = listed;
        this.loading = undefined;
        return index;
      },
      (err: unknown) => {
        this.loading = undefined;
        throw err;
      },
    );
    return this.loading;
  }

  /**
   * The index as the repository is now: loaded if it is not; else index/ and packs/ listed again
   * (names and sizes only) and, when packs were added, removed or lost since the load (another process, e.g. a CLI backup
   * beside the long-lived sidecar, stored or pruned some), loaded again. What this job packed stays
   * known either way. True when the index was (re)loaded.
   */
  async refresh(opts: { signal?: AbortSignal } = {}): Promise<boolean> {
    if (!this.index) {
      await this.load(opts);
      return true;
    }
    const now = await packsListing(this.storage);
    if (now.length === this.listed.length && now.every((k, i) => k === this.listed[i])) return false;
    const { index, broken, listed } = await loadPackIndex(this.storage, opts);
    this.index = index;
    this.brokenIndexes = broken;
    this.listed = listed;
    return true;
  }

  /**
   * For an object found neither in the loaded index nor as an object file: where it is when packs
   * changed since the load (packed by another process since), else undefined.
   */
  async relocate(sha: string, opts: { signal?: AbortSignal } = {}): Promise<PackLocation | undefined> {
    return (await this.refresh(opts)) ? this.index?.lookup(sha) : undefined;
  }

  /** After a read of object file `sha` failed with `err`: relocate()'s answer when `err` says missing, else `err` thrown. */
  async packedAfterMiss(err: unknown, sha: string, opts: { signal?: AbortSignal } = {}): Promise<PackLocation> {
    const loc = err instanceof NotFoundError ? await this.relocate(sha, opts) : undefined;
    if (!loc) throw err;
    return loc;
  }

  /** packedAfterMiss(), then that object's bytes (unchecked, as read() gives them). */
  async readAfterMiss(err: unknown, sha: string, opts: { signal?: AbortSignal } = {}): Promise<Buffer> {
    return this.read(await this.packedAfterMiss(err, sha, opts), opts);
  }

  /** The size the loaded index gives `pack` (the pack file must have it), or undefined. */
  sizeOfPack(pack: string): number | undefined {
    return this.index?.sizeOfPack(pack);
  }

  /** The packs the loaded index lists, each with its index's size; empty before load(). */
  indexedPacks(): Array<{ pack: string; size: number }> {
    return this.index?.indexedPacks() ?? [];
  }

  get loaded(): boolean {
    return this.index !== undefined;
  }

  async locate(sha: string, opts: { signal?: AbortSignal } = {}): Promise<PackLocation | undefined> {
    return (await this.load(opts)).lookup(sha);
  }

  /** locate() once load() ran; undefined before (callers of the synchronous paths load first). */
  locateLoaded(sha: string): PackLocation | undefined {
    return this.index?.lookup(sha);
  }

  /** locateLoaded() unconfirmed: PackIndex.guess, for reads that hash what they get. */
  guessLoaded(sha: string): PackLocation | undefined {
    return this.index?.guess(sha);
  }

  /**
   * readSync() of object `sha` where guessLoaded() places it, when those bytes are that object
   * (hashed); else undefined, and the caller reads it the confirmed way (locateLoaded), which
   * reports any problem. Spares the read of the whole name for nearly every object.
   */
  readGuessedSync(sha: string): Buffer | undefined {
    const guess = this.guessLoaded(sha);
    if (!guess) return undefined;
    try {
      const buf = this.readSync(guess);
      return createHash('sha256').update(buf).digest('hex') === sha ? buf : undefined;
    } catch {
      return undefined; // read again by the confirmed location, whose failure is the one reported
    }
  }

  /**
   * A located object's bytes, unchecked. A local pack by one pread; a bucket's by range, or whole
   * once two are wanted (HELD_BYTES of them, the least recently used let go; one let go is read by
   * range after, unless through encryption).
   */
  async read(loc: PackLocation, opts: { signal?: AbortSignal } = {}): Promise<Buffer> {
    if (this.storage.readRangeSync) {
      return this.readSync(loc);
    }
    const key = packKey(loc.pack);
    const found = this.held.get(loc.pack);
    let whole: Promise<Buffer>;
    if (found) {
      // Most recently used last: the least recently used pack is the one let go below.
      this.held.delete(loc.pack);
      this.held.set(loc.pack, found);
      whole = found.whole;
    } else {
      const size = this.sizeOfPack(loc.pack);
      // A pack let go once is read by range from then on where a range costs its length: a restore
      // whose files interleave many packs (hourly backups into one day's directory) otherwise
      // fetched a whole pack for nearly every object (measured: 35x the data; test packs_read_cost).
      // Through encryption a range costs decrypting from the pack's start, so the whole is fetched again.
      const again = this.letGo.has(loc.pack) && this.rangesCheap;
      if (!this.ranged.has(loc.pack) || again || size === undefined || size > MAX_WHOLE_READ) {
        this.ranged.add(loc.pack);
        return readRangeBuffer(this.storage, key, loc.offset, loc.size, opts);
      }
      const fetched = this.fetchWhole(loc.pack, size, opts);
      whole = fetched;
      this.held.set(loc.pack, { whole: fetched, size });
      this.heldBytes += size;
      fetched.catch(() => {
        if (this.held.get(loc.pack)?.whole === fetched) this.release(loc.pack);
      });
      for (const k of this.held.keys()) {
        if (this.held.size <= MIN_HELD_PACKS || this.heldBytes <= HELD_BYTES) break;
        if (k === loc.pack) continue;
        this.release(k);
        this.letGo.add(k);
      }
    }
    const bytes = await whole;
    if (loc.offset + loc.size > bytes.length) {
      throw new PackDamagedError(loc.pack, `ends at byte ${bytes.length}, before an object its index places there`);
    }
    return bytes.subarray(loc.offset, loc.offset + loc.size);
  }

  /** Lets go of a held pack. */
  private release(pack: string): void {
    const h = this.held.get(pack);
    if (!h) return;
    this.held.delete(pack);
    this.heldBytes -= h.size;
  }

  /**
   * read() with synchronous calls, for a repository of plain local files only. After
   * keepPacksOpen(), the last pack read stays open (objects of a pack are read one after another:
   * one pread each, not four calls) until another pack is read or closeSyncReads().
   */
  readSync(loc: PackLocation): Buffer {
    if (!this.storage.readRangeSync) {
      throw new BridgeError('INTERNAL', 'packs are read synchronously only from local files');
    }
    const key = packKey(loc.pack);
    if (!this.keepOpen || !this.storage.openRangeSync) return this.storage.readRangeSync(key, loc.offset, loc.size);
    if (this.openPack?.pack !== loc.pack) {
      // Forgotten before it is closed: a close that throws must not leave its fd number kept.
      const old = this.openPack;
      this.openPack = undefined;
      old?.reader.close();
      this.openPack = { pack: loc.pack, reader: this.storage.openRangeSync(key) };
    }
    return this.openPack.reader.read(loc.offset, loc.size);
  }

  /**
   * readSync keeps the pack it read last open from now on: for a restore, which wants the bytes
   * (a pack removed meanwhile still gives them). Not for a verify, which must see a pack gone.
   */
  keepPacksOpen(): void {
    this.keepOpen = true;
  }

  /** Closes the pack readSync keeps open and keeps none again (the end of a pass). */
  closeSyncReads(): void {
    const open = this.openPack;
    this.openPack = undefined;
    this.keepOpen = false;
    open?.reader.close();
  }

  /** A whole pack from a bucket, checked against its name (the SHA-256 of the whole file); never more than `size` bytes held. */
  private async fetchWhole(pack: string, size: number, opts: { signal?: AbortSignal }): Promise<Buffer> {
    const bytes = await readBufferAtMost(
      this.storage,
      packKey(pack),
      size,
      (max) => new PackDamagedError(pack, `longer than the ${max} bytes its index says`),
      opts,
    );
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== pack) {
      throw new PackDamagedError(pack, `its content hashes to ${actual.slice(0, 12)}…, not its name`);
    }
    return bytes;
  }

  /** Ready to take objects: the index loaded, the staging directory known and the marker saying packs. */
  async prepare(stagingDir: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    // Once for every caller waiting at the same time (a backup's parallel reads each find the
    // packs not ready): each used to read the marker and write it back, and against a store whose
    // writes are not atomic a read beside such a write got a short body and waited for the rest.
    this.preparing ??= (async () => {
      await this.load(opts);
      await upgradeMarkerForPacks(this.storage);
      // Ready only now: no pack is stored before the marker says the repository holds packs.
      this.stagingDir = stagingDir;
    })().finally(() => {
      this.preparing = undefined;
    });
    return this.preparing;
  }

  /** Whether a pack is being written (staged in the staging directory, not stored): reset() removes it. */
  get writing(): boolean {
    return this.writer !== undefined;
  }

  /** Whether addSync() can run now (prepare() ran since the last reset/flush). */
  get ready(): boolean {
    return this.write && this.index !== undefined && this.stagingDir !== undefined && this.failed === undefined;
  }

  /**
   * Whether a pack that was there whole at load holds `sha`, or this job packed it (objects/ is
   * the caller's to look at): an object only in a lost pack is stored again.
   */
  has(sha: string): boolean {
    return !!this.index?.holdsWhole(sha) || !!this.writer?.has(sha) || this.session.has(sha);
  }

  /**
   * Packs a small object (`sha` is the SHA-256 of `bytes`, the caller's hash); false when it is
   * packed already. A pack that fills is stored in the background; a failure of that store is
   * thrown by the next call here and by flush().
   */
  addSync(sha: string, bytes: Buffer): boolean {
    if (this.failed !== undefined) throw this.failed;
    if (!this.ready) throw new BridgeError('INTERNAL', 'packs are not prepared for writing');
    if (this.has(sha)) return false;
    this.writer ??= PackWriter.open(this.stagingDir as string, this.writerOpts);
    this.writer.addSync(sha, bytes);
    if (this.writer.full) this.finishCurrent();
    return true;
  }

  /**
   * addSync, then, while more than MAX_STORING finished packs wait to be stored (a bucket slower
   * than the disk), waits for them: the staging directory holds a bounded number of packs.
   */
  async add(sha: string, bytes: Buffer): Promise<boolean> {
    const added = this.addSync(sha, bytes);
    if (this.storing > MAX_STORING) await this.stores;
    if (this.failed !== undefined) throw this.failed;
    return added;
  }

  private finishCurrent(): void {
    const w = this.writer;
    this.writer = undefined;
    if (!w || w.count === 0) {
      w?.abortSync();
      return;
    }
    let pack: FinishedPack;
    try {
      pack = w.finishSync();
    } catch (err) {
      w.abortSync();
      this.failed = err as Error;
      throw err;
    }
    try {
      this.session.finish(pack);
    } catch (err) {
      // Not recorded, so not stored either: a later object would be packed again, unseen.
      rmSync(pack.file, { force: true });
      this.failed = err as Error;
      throw err;
    }
    this.wrote = true;
    this.storing++;
    this.stores = this.stores.then(async () => {
      try {
        if (this.failed === undefined) await storePack(this.storage, pack);
      } catch (err) {
        this.failed ??= err as Error;
      } finally {
        this.storing--;
      }
    });
  }

  /**
   * Stores the pack being written and waits for every store: after this, every object added is
   * in a pack with its index. Throws the first store's failure. The index is loaded again at the
   * next use (it now has these packs).
   */
  async flush(): Promise<void> {
    if (this.writer) this.finishCurrent();
    await this.stores;
    if (this.failed !== undefined) throw this.failed;
    if (this.wrote) this.dropIndex();
  }

  /** Drops what this job held: the pack being written (its file removed), stores' failure, the index. */
  async reset(): Promise<void> {
    const w = this.writer;
    this.writer = undefined;
    await w?.abort();
    await this.stores;
    this.failed = undefined;
    this.stagingDir = undefined;
    this.dropIndex();
  }

  /** Forgets the loaded index (packs were stored or removed): the next lookup loads it again. */
  dropIndex(): void {
    this.index = undefined;
    this.listed = [];
    this.wrote = false;
    this.brokenIndexes = [];
    this.session.dispose();
    this.session = new SessionPacked();
    this.held.clear();
    this.heldBytes = 0;
    this.ranged.clear();
    this.letGo.clear();
  }
}
