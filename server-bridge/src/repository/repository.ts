/**
 * The backup repository on top of a Storage: content-addressed objects (objects/ab/<sha256>,
 * each distinct content stored once, never modified) and snapshot manifests
 * (snapshots/<id>.json, written last); keys come from ./layout.ts, documented in the README for
 * manual restores. The repository owns what the storage contract leaves out: where objects are
 * staged, when the local filesystem is synced (once, before a manifest is committed), and the
 * free space of a local repository's disk.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, rename, rm, statfs, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BridgeError, NotFoundError, StorageError, VerificationError } from '../core/errors';
import { parseManifest, type Manifest } from '../manifest/manifest';
import { manifestText } from '../manifest/manifest_io';
import type { EntrySpool } from '../manifest/entry_spool';
import { cleanStaleSpoolDirs } from '../manifest/spool_dir';
import { formatIssues } from '../config/load';
import { fileBody, type Storage } from '../storage/storage';
import { runProcess } from '../process/run_process';
import { OutOfRangeError } from '../storage/range';
import { HashingStream } from './hashing';
import type { Meta } from './file_meta';
import { FileOpError } from './file_op_error';
import { readSmall, readSmallSync, sharedHashPool, type FileDigest, type WholeFile } from './hash_pool';
import { ensureRepositoryMarker } from './marker';
import { assertSameObject, checkBytes, cutShortProblem, missingProblem } from './check_bytes';
import { cloneInto, stagingFailure } from './clone_into';
import type { Listed } from './source_open';
import { looseNamesOf, type LooseNames } from './loose_names';
import { Packs } from './packs';
import type { PackLocation } from './pack_index';
import { MAX_PACKED_OBJECT } from './pack_limits';
import type { PackWriterOptions } from './pack_writer';
import { listSnapshotKeys, objectKey, objectOfKey, OBJECTS, snapshotKey, snapshotSignatureKey } from './layout';
import { diskFullError, isDiskFull } from '../storage/disk_full';
import { IntegrityError, KeyMismatchError } from '../storage/encrypted_storage';
import type { SigningKey } from './signing';
import { MAX_SIGNATURE_BYTES, readObjectFile } from './read_limits';
import { readOptional } from './trust';
import { SummaryCache, type ManifestOrigin } from './summary_cache';
import { readManifest } from './manifest_read';
import type { SummaryStore } from './summary_store';

/** An encrypted object that fails authentication or opens with no configured key: a finding, not a crash. */
function isUnreadable(err: unknown): boolean {
  return err instanceof IntegrityError || err instanceof KeyMismatchError;
}

/** `shownAs`: the path to name in errors when `dest` reaches the file through a directory handle. */
interface CopyOptions {
  signal?: AbortSignal;
  shownAs?: string;
}

/**
 * Files up to this size are read whole and hashed in memory, by the main thread or in batches by a
 * backup's second reading thread (small_reader.ts): a message per file cost ~100 µs of CPU a file
 * against ~12 µs of hashing saved (20k files of 1-32 KiB, 2 cores).
 */
export const INLINE_FILE = 128 * 1024;

export interface StoredObject {
  sha256: string;
  size: number;
  /** False when identical content was already in the repository. */
  isNew: boolean;
  /** The source's own metadata when it is not the file listed but one put at its path since (source_open.ts). */
  replaced?: Meta;
}

export interface SnapshotListing {
  manifests: Manifest[];
  /** Manifests that exist but do not parse: reported, never used. */
  broken: Array<{ id: string; problem: string }>;
}

export class Repository {
  private stageDir: Promise<string> | undefined;
  /** The staging directory given at open (offsite.mode "direct": the local state directory), if any. */
  private readonly givenStaging: string | undefined;
  /** Which file each loaded manifest came from and the SHA-256 of its exact bytes (what is signed). */
  private readonly origins = new WeakMap<Manifest, ManifestOrigin>();
  /** Manifests never change once written, so their summaries are cached by key (and kept on the host's disk). */
  private readonly summaries: SummaryCache;
  /** The spool file behind each loaded manifest's entries, removed by release(). */
  private readonly spools = new WeakMap<Manifest, EntrySpool>();
  /** Packed objects: always read; written when the repository was opened with `packs`. */
  readonly packs: Packs;
  private readonly loose: LooseNames | undefined; // the loose objects' names (a local repository's)
  private constructor(
    readonly storage: Storage,
    private readonly signer: () => Promise<SigningKey | undefined>,
    stagingDir: string | undefined,
    packSmall: boolean,
    packTargets: PackWriterOptions | undefined,
    summaryStore: SummaryStore | undefined,
  ) {
    this.givenStaging = stagingDir;
    this.summaries = new SummaryCache(summaryStore, this.origins);
    this.packs = new Packs(storage, packSmall, packTargets);
    this.loose = looseNamesOf(storage);
  }

  /**
   * Opens the repository, creating its marker on first use. `signer` gives the key that signs
   * each manifest written here; without one (a host with no config file) manifests are unsigned.
   * `stagingDir`: where to stage objects when the storage is not a local directory (which has its own).
   * `packs`: new objects of at most MAX_PACKED_OBJECT bytes go into packs (docs/storage.md "Packs");
   * objects already in packs are read either way.
   */
  static async open(
    storage: Storage,
    opts: {
      signer?: () => Promise<SigningKey | undefined>;
      stagingDir?: string;
      packs?: boolean;
      /** Pack targets other than pack_limits.ts's (small packs, to test many of them). */
      packTargets?: PackWriterOptions;
      /** Where summaries of manifests are kept between processes (summary_store.ts); none: read each time. */
      summaries?: SummaryStore;
    } = {},
  ): Promise<Repository> {
    const repo = new Repository(
      storage,
      opts.signer ?? (() => Promise.resolve(undefined)),
      opts.stagingDir,
      opts.packs ?? false,
      opts.packTargets,
      opts.summaries,
    );
    await ensureRepositoryMarker(storage);
    return repo;
  }

  /** Free and total bytes of a local repository's disk; undefined for a bucket (no such figure). */
  async space(): Promise<{ free: number; total: number } | undefined> {
    const local = this.storage.describe().local;
    if (!local) return undefined;
    const s = await statfs(local.root);
    return { free: s.bavail * s.bsize, total: s.blocks * s.bsize };
  }

  /**
   * Makes every object stored so far durable. Staged objects are renamed into a local repository
   * without an fsync each (a snapshot of 100k thumbnails would otherwise spend minutes in fsync):
   * one syncfs of the filesystem covers them all. A bucket's completed puts are durable already.
   */
  async sync(): Promise<void> {
    const local = this.storage.describe().local;
    if (local) await runProcess('sync', ['-f', local.root]);
  }

  /**
   * Removes what interrupted jobs left: staged files, the storage's temp files and incomplete
   * uploads. Returns how many; call only while holding the job lock.
   */
  async cleanStaging(): Promise<number> {
    await this.packs.reset();
    let n = (await this.storage.cleanup?.()) ?? 0;
    n += await cleanStaleSpoolDirs();
    const own = this.givenStaging;
    if (own && own !== this.storage.describe().local?.tempDir) {
      const names = await readdir(own).catch(() => [] as string[]);
      await Promise.all(names.map((f) => rm(path.join(own, f), { force: true, recursive: true })));
      n += names.length;
    }
    return n;
  }

  /** The file a manifest was loaded from and the SHA-256 of the bytes parsed; undefined for one built in memory. */
  manifestOrigin(m: Manifest): ManifestOrigin | undefined {
    return this.origins.get(m);
  }

  /** The signature file of snapshot `id`, or undefined when it has none. */
  async readSignature(id: string): Promise<Buffer | undefined> {
    return readOptional(this.storage, snapshotSignatureKey(id), MAX_SIGNATURE_BYTES);
  }

  /**
   * Signs a manifest loaded from this repository (one made before signing), for exactly the bytes
   * that were read and checked: if the file changed since, the signature will not match it.
   */
  async signLoaded(m: Manifest): Promise<string> {
    const origin = this.origins.get(m);
    const key = await this.signer();
    if (!origin || origin.keyId !== m.id) {
      throw new BridgeError('INTERNAL', `snapshot ${m.id} was not loaded from the repository`);
    }
    if (!key) {
      throw new BridgeError('PRECONDITION_FAILED', 'this host has no signing key (no config file)', {
        hint: 'run this with --config on the host that makes the backups',
      });
    }
    await this.storage.put(snapshotSignatureKey(m.id), key.sign('manifest', m.id, origin.sha256));
    return key.fingerprint;
  }

  /** Where files are staged before they are stored (prune's repacked packs too); one for every caller at once. */
  stagingDirectory(): Promise<string> {
    if (this.stageDir) return this.stageDir;
    const local = this.storage.describe().local?.tempDir ?? this.givenStaging;
    const made = local ? Promise.resolve(local) : mkdtemp(path.join(os.tmpdir(), 'mm-backup-stage-'));
    this.stageDir = made.catch((err: unknown) => {
      this.stageDir = undefined; // the next caller tries again
      throw err;
    });
    return this.stageDir;
  }

  /** Hashes `source` while staging it, then stores it under its SHA-256 unless already present. */
  async ingest(source: Readable, opts: { signal?: AbortSignal } = {}): Promise<StoredObject> {
    const tmp = path.join(await this.stagingDirectory(), `ingest-${process.pid}-${randomBytes(8).toString('hex')}`);
    const hasher = new HashingStream();
    try {
      await pipeline(source, hasher, createWriteStream(tmp, { mode: 0o600 }), { signal: opts.signal });
      const sha256 = hasher.digest();
      const key = objectKey(sha256);
      if (await this.storage.stat(key)) {
        await rm(tmp, { force: true });
        return { sha256, size: hasher.bytes, isNew: false };
      }
      await this.storage.put(key, fileBody(tmp, { consume: true }), { signal: opts.signal });
      return { sha256, size: hasher.bytes, isNew: true };
    } catch (err) {
      await rm(tmp, { force: true });
      if (isDiskFull(err)) throw diskFullError(err, path.dirname(tmp), 'an object', hasher.bytes);
      throw err;
    }
  }

  /**
   * Stores a local file by content, reading and hashing it in the hash pool (off the main thread)
   * unless it is tiny. The object stored is always exactly the bytes that were hashed, even if the file changes
   * meanwhile: nothing is ever hashed in one read and copied in another.
   * - Files up to INLINE_FILE (most of a file store: thumbnails, previews) are read whole once
   *   here, where that is cheaper than a worker; the bytes hashed are the bytes written, and only
   *   when the repository lacks them.
   * - Larger files (or an unknown size) are staged first, then stored under the hash of the staged
   *   copy, which nobody else writes: a reflink where the filesystem can (no data copied; the
   *   clone is then hashed), else a copy in the pool's chunks that hashes exactly what it writes
   *   (never the whole file in memory). Measured on 2 cores, 1,025 files of 128 KiB-4 MiB (1.3 GB):
   *   faster than reading each whole in a worker and writing it only when new (1.9-3.1 s against
   *   3.6-5.0 s), and 31-32 MB of peak memory above the start against 98-99 MB.
   * Errors reading the file keep their code (ENOENT: it vanished); staging failures are the
   * repository's (StorageError, DiskFullError). `onHashed` runs between hashing and storing
   * (tests change the file there). `listed`: the walk's identity for the file (source_open.ts).
   */
  async ingestFile(
    file: string,
    opts: { signal?: AbortSignal; size?: number; onHashed?: () => Promise<void>; listed?: Listed } = {},
  ): Promise<StoredObject> {
    await this.prepareWrites(opts);
    if (opts.size !== undefined && opts.size <= INLINE_FILE) {
      const whole = await readSmall(file, INLINE_FILE, opts);
      // Undefined: it grew past the limit since it was listed, and is staged like a large file.
      if (whole) return this.storeBytes(file, whole, opts);
    }
    return this.storeStaged(file, opts);
  }

  /** Ready to take objects (packs: the index loaded, the marker upgraded); ahead of the first store, which does it otherwise. */
  async prepareWrites(opts: { signal?: AbortSignal } = {}): Promise<void> {
    if (!this.packs.write || this.packs.ready) return;
    this.loose?.clear(); // a new job: objects written since the last are not in what was read
    await this.packs.prepare(await this.stagingDirectory(), opts);
  }

  /** Whether ingestSmallSync works here: the objects are plain local files (no bucket, no encryption). */
  get ingestsSmallSync(): boolean {
    return typeof this.storage.storeSmallSync === 'function';
  }

  /** Whether `sha` is stored (packed, in this job's packs too, or loose), with synchronous calls. */
  private hasSync(sha: string): boolean {
    return this.packs.has(sha) || (this.loose?.mayHold(sha) !== false && !!this.storage.statSync?.(objectKey(sha)));
  }

  /**
   * ingestFile for a file of at most INLINE_FILE bytes, with synchronous calls (a walk's bursts
   * over a warm cache: an awaited call costs a trip through libuv's thread pool). Undefined when
   * the file is now larger (store it with ingestFile), or it cannot store now (storesWholeSync).
   * Read errors keep their code (ENOENT: it vanished); the store's are StorageError.
   */
  ingestSmallSync(file: string, listed?: Listed): StoredObject | undefined {
    if (!this.storage.storeSmallSync) {
      throw new BridgeError('INTERNAL', 'ingestSmallSync needs a storage of plain local files');
    }
    if (!this.storesWholeSync) return undefined;
    const whole = readSmallSync(file, INLINE_FILE, listed);
    const obj = whole && this.storeWholeSync(whole.sha256, whole.bytes);
    return obj && whole.replaced ? { ...obj, replaced: whole.replaced } : obj;
  }

  /** Whether storeWholeSync can store now (packs are prepared by the first ingestFile, which loads the index). */
  get storesWholeSync(): boolean {
    return this.ingestsSmallSync && (!this.packs.write || this.packs.ready);
  }

  /**
   * The store half of ingestSmallSync, for bytes read and hashed elsewhere (`sha256` is theirs;
   * they are copied, not kept). Undefined when it cannot store now (storesWholeSync).
   */
  storeWholeSync(sha256: string, bytes: Buffer): StoredObject | undefined {
    if (!this.storage.storeSmallSync || !this.storesWholeSync) return undefined;
    const size = bytes.length;
    if (this.packs.write && size <= MAX_PACKED_OBJECT) {
      return { sha256, size, isNew: !this.hasSync(sha256) && this.packs.addSync(sha256, bytes) };
    }
    return { sha256, size, isNew: this.storage.storeSmallSync(objectKey(sha256), bytes) };
  }

  /** Writes a small file's bytes, read whole, into the repository unless it holds them already. */
  private async storeBytes(
    file: string,
    whole: WholeFile,
    opts: { signal?: AbortSignal; onHashed?: () => Promise<void> },
  ): Promise<StoredObject> {
    const { sha256, size, bytes, replaced } = whole;
    let tmp: string | undefined;
    try {
      await opts.onHashed?.();
      const key = objectKey(sha256);
      if (this.packs.write && size <= MAX_PACKED_OBJECT) {
        if (this.packs.has(sha256) || (await this.storage.stat(key))) return { sha256, size, isNew: false, replaced };
        return { sha256, size, isNew: await this.packs.add(sha256, bytes), replaced };
      }
      if (await this.storage.stat(key)) return { sha256, size, isNew: false, replaced };
      tmp = await this.stagingFile();
      await writeFile(tmp, bytes, { mode: 0o600, flag: 'wx' });
      await this.storage.put(key, fileBody(tmp, { consume: true }), { signal: opts.signal });
    } catch (err) {
      if (tmp === undefined) throw err;
      await rm(tmp, { force: true });
      if (isDiskFull(err)) throw diskFullError(err, path.dirname(tmp), `the copy of ${file}`);
      throw stagingFailure(err, tmp);
    }
    return { sha256, size, isNew: true, replaced };
  }

  /**
   * Stages a copy of `file` (a reflink, else a copy hashed as it is written), then stores the
   * staged copy under its own hash. Content already present costs the copy, not a second read:
   * large files are rarely duplicates, and hashing first would read every new one twice.
   */
  private async storeStaged(
    file: string,
    opts: { signal?: AbortSignal; onHashed?: () => Promise<void>; listed?: Listed },
  ): Promise<StoredObject> {
    const pool = sharedHashPool();
    const tmp = await this.stagingFile();
    try {
      let digest: FileDigest;
      const clone = await cloneInto(file, tmp, opts.listed);
      if (clone) {
        // Our own clone, in a directory only we write: the bytes hashed are the bytes renamed below.
        digest = await pool.hash(tmp, { signal: opts.signal }).catch((err: unknown) => {
          throw stagingFailure(err, tmp);
        });
        digest.replaced = clone.replaced;
      } else {
        digest = await pool.copy(file, tmp, opts);
      }
      await opts.onHashed?.();
      const key = objectKey(digest.sha256);
      if (await this.storage.stat(key)) {
        await rm(tmp, { force: true });
        return { ...digest, isNew: false };
      }
      await this.storage.put(key, fileBody(tmp, { consume: true }), { signal: opts.signal });
      return { ...digest, isNew: true };
    } catch (err) {
      await rm(tmp, { force: true });
      if (isDiskFull(err)) throw diskFullError(err, path.dirname(tmp), `the copy of ${file}`);
      if (err instanceof FileOpError && err.side === 'destination') throw stagingFailure(err, tmp);
      throw err;
    }
  }

  /** A fresh name in the staging directory. */
  private async stagingFile(): Promise<string> {
    return path.join(await this.stagingDirectory(), `ingest-${process.pid}-${randomBytes(8).toString('hex')}`);
  }

  /**
   * Loads where packed objects are for the synchronous paths (readSmallObjectSync, checkSmallObjectSync,
   * locateSync), at the start of each pass: again when another process stored or removed packs since.
   */
  async loadPacks(opts: { signal?: AbortSignal } = {}): Promise<void> {
    this.packs.closeSyncReads();
    await this.packs.refresh(opts);
  }

  /** A restore's synchronous reads keep the pack read last open (one call an object, not four)... */
  beginSyncReads(): void {
    this.packs.keepPacksOpen();
  }

  /** ...until this (or the next loadPacks) closes it, at the end of the pass. */
  endSyncReads(): void {
    this.packs.closeSyncReads();
  }

  /**
   * Where object `sha256` is: its place in a pack, or undefined for an object file (which may be
   * missing: the read says so). Packs are looked up first, as they are where new small objects go.
   */
  async locate(sha256: string, opts: { signal?: AbortSignal } = {}): Promise<PackLocation | undefined> {
    return this.packs.locate(sha256, opts);
  }

  /** locate() after loadPacks(); throws before (a programming error: the lookup would miss). */
  locateSync(sha256: string): PackLocation | undefined {
    if (!this.packs.loaded) throw new BridgeError('INTERNAL', 'call loadPacks() before a synchronous object read');
    return this.packs.locateLoaded(sha256);
  }

  /** Whether the object is stored: in a pack its index lists, or as an object file. */
  async hasObject(sha256: string): Promise<boolean> {
    const here = !!(await this.locate(sha256)) || !!(await this.storage.stat(objectKey(sha256)));
    return here || !!(await this.packs.relocate(sha256));
  }

  /** A stream of the object's bytes, unchecked (readObjectChecked checks them). */
  async readObject(sha256: string, opts: { signal?: AbortSignal } = {}): Promise<Readable> {
    const loc = await this.locate(sha256, opts);
    if (loc) return Readable.from([await this.packs.read(loc, opts)]);
    try {
      return await this.storage.get(objectKey(sha256), opts);
    } catch (err) {
      return Readable.from([await this.packs.readAfterMiss(err, sha256, opts)]);
    }
  }

  /**
   * Copies an object to `dest`, checked against its checksum before it is renamed into place: the
   * object may have been swapped since a preflight checked it (whoever can write the repository
   * or the bucket), and only the checksum named by the signed manifest vouches for its content.
   */
  async copyObjectTo(sha256: string, dest: string, opts: CopyOptions = {}): Promise<void> {
    let loc = await this.locate(sha256, opts);
    const tmp = tempBeside(dest);
    try {
      // One pass: read, hash and write together (an in-kernel copy could not be hashed on the way);
      // a read that breaks midway is retried whole (the storage calls this again), tmp and hash anew.
      const load = async (source: Readable) => {
        const hasher = new HashingStream();
        await pipeline(source, hasher, createWriteStream(tmp, { mode: 0o600 }), { signal: opts.signal });
        assertSameObject(sha256, hasher.digest());
      };
      // No object file: packed by another process since the index was loaded? (Packs.relocate)
      const missed = async (err: unknown) => {
        await rm(tmp, { force: true });
        return this.packs.packedAfterMiss(err, sha256, opts);
      };
      if (!loc) loc = await this.storage.load(objectKey(sha256), load, opts).then(() => undefined, missed);
      if (loc) {
        // A packed object is small: read whole (by one pread, or from the bucket), checked, written.
        const buf = await this.packs.read(loc, opts);
        assertSameObject(sha256, createHash('sha256').update(buf).digest('hex'));
        await writeFile(tmp, buf, { mode: 0o600, flag: 'wx', signal: opts.signal });
      }
      await rename(tmp, dest);
    } catch (err) {
      await rm(tmp, { force: true });
      // Named as the file being restored, which is what the admin knows, not its temporary copy.
      if (isDiskFull(err)) {
        const shown = opts.shownAs ?? dest;
        throw diskFullError(err, path.dirname(dest), shown, undefined, `the disk restored to (${path.dirname(shown)})`);
      }
      throw err;
    }
  }
  /** Whether readSmallObjectSync works here: the objects are plain local files (no bucket, no encryption). */
  get copiesSmallSync(): boolean {
    return typeof this.storage.readSmallSync === 'function';
  }

  /** An object of ≤ INLINE_FILE bytes read with synchronous calls, checked (where copiesSmallSync). */
  readSmallObjectSync(sha256: string): Buffer {
    if (!this.storage.readSmallSync) {
      throw new BridgeError('INTERNAL', 'readSmallObjectSync needs a storage of plain local files');
    }
    const guessed = this.packs.readGuessedSync(sha256);
    if (guessed) return guessed;
    const loc = this.locateSync(sha256);
    const buf = loc ? this.packs.readSync(loc) : this.storage.readSmallSync(objectKey(sha256), INLINE_FILE);
    assertSameObject(sha256, createHash('sha256').update(buf).digest('hex'));
    return buf;
  }

  /**
   * A stream of an object and a `check()` to call once it was read to its end: it throws when what
   * flowed differs from the object's checksum (swapped since it was verified). For streams too big
   * to hold, whose consumer (a database load) must be failed, and undone, after the fact.
   */
  async readObjectChecked(
    sha256: string,
    opts: { signal?: AbortSignal } = {},
  ): Promise<{ stream: Readable; check: () => void }> {
    const hasher = new HashingStream();
    const source = await this.readObject(sha256, opts);
    const stream = source.pipe(hasher);
    source.on('error', (err) => hasher.destroy(err));
    return { stream, check: () => assertSameObject(sha256, hasher.digest()) };
  }

  /** A small object read whole (a config.json from a snapshot), checked; bounded as readObjectFile says. */
  async readObjectBytes(sha256: string, opts: { signal?: AbortSignal; size?: number } = {}): Promise<Buffer> {
    const loc = await this.locate(sha256, opts);
    const missed = (err: unknown) => this.packs.readAfterMiss(err, sha256, opts);
    const buf = loc ? await this.packs.read(loc, opts) : await readObjectFile(this.storage, sha256, opts).catch(missed);
    assertSameObject(sha256, createHash('sha256').update(buf).digest('hex'));
    return buf;
  }

  /**
   * checkObject for an object of at most INLINE_FILE bytes, with synchronous calls (a verify of
   * many small objects on a warm cache; only where copiesSmallSync). An object that is a link, not
   * a regular file, or larger than the manifest says is a problem like a wrong checksum.
   */
  checkSmallObjectSync(sha256: string, size: number | undefined): string | undefined {
    if (!this.storage.readSmallSync) {
      throw new BridgeError('INTERNAL', 'checkSmallObjectSync needs a storage of plain local files');
    }
    const guessed = this.packs.readGuessedSync(sha256);
    if (guessed && (size === undefined || guessed.length === size)) return undefined;
    let buf: Buffer;
    const loc = this.locateSync(sha256);
    try {
      buf = loc ? this.packs.readSync(loc) : this.storage.readSmallSync(objectKey(sha256), size ?? INLINE_FILE);
    } catch (err) {
      if (err instanceof NotFoundError) {
        return loc
          ? `object is missing: its pack ${loc.pack.slice(0, 12)}… is missing`
          : missingProblem(this.packs.broken);
      }
      if (loc && err instanceof OutOfRangeError) return cutShortProblem(loc, err, this.packs.sizeOfPack(loc.pack));
      if (err instanceof StorageError && err.permanent) return err.message;
      throw err;
    }
    return checkBytes(sha256, size, buf, loc);
  }

  /** Re-hashes an object; returns a problem string or undefined when it matches. */
  async checkObject(
    sha256: string,
    size: number | undefined,
    opts: { signal?: AbortSignal } = {},
  ): Promise<string | undefined> {
    const loc = await this.locate(sha256, opts);
    if (loc) return this.checkPacked(sha256, size, loc, opts);
    let hasher: HashingStream;
    try {
      // A whole read: retried from the start (a fresh hash) if the connection breaks midway.
      hasher = await this.storage.load(
        objectKey(sha256),
        async (stream) => {
          const h = new HashingStream();
          await pipeline(
            stream,
            h,
            async (src: AsyncIterable<unknown>) => {
              for await (const _ of src) {
                /* the hash is taken in passing */
              }
            },
            { signal: opts.signal },
          );
          return h;
        },
        opts,
      );
    } catch (err) {
      if (err instanceof NotFoundError) {
        const now = await this.packs.relocate(sha256, opts);
        return now ? this.checkPacked(sha256, size, now, opts) : missingProblem(this.packs.broken);
      }
      if (isUnreadable(err)) return (err as Error).message;
      throw err;
    }
    const actual = hasher.digest();
    if (actual !== sha256) return `content does not match its checksum (got ${actual.slice(0, 12)}…)`;
    if (size !== undefined && hasher.bytes !== size) return `size ${hasher.bytes} differs from the manifest's ${size}`;
    return undefined;
  }

  /** checkObject for a packed object: its slice read (from a bucket: ranged, or the pack whole) and hashed. */
  private async checkPacked(
    sha256: string,
    size: number | undefined,
    loc: PackLocation,
    opts: { signal?: AbortSignal },
  ): Promise<string | undefined> {
    let buf: Buffer;
    try {
      buf = await this.packs.read(loc, opts);
    } catch (err) {
      if (err instanceof NotFoundError) return `object is missing: its pack ${loc.pack.slice(0, 12)}… is missing`;
      if (err instanceof OutOfRangeError) return cutShortProblem(loc, err, this.packs.sizeOfPack(loc.pack));
      if (isUnreadable(err) || err instanceof VerificationError || (err instanceof StorageError && err.permanent)) {
        return (err as Error).message;
      }
      throw err;
    }
    return checkBytes(sha256, size, buf, loc);
  }

  /**
   * Writes the manifest last and atomically (its signature just before): from this moment the
   * snapshot exists. The text is composed into a staged file first (entry streams are read once,
   * memory stays flat), hashed on the way for the signature, then stored whole.
   */
  async writeSnapshot(m: Manifest): Promise<void> {
    const res = parseManifest(m);
    if (!res.success) {
      throw new BridgeError(
        'INTERNAL',
        `refusing to write an invalid manifest: ${formatIssues(res.issues).slice(0, 3).join('; ')}`,
      );
    }
    const manifest = res.data;
    const tmp = path.join(await this.stagingDirectory(), `manifest-${process.pid}-${randomBytes(8).toString('hex')}`);
    let written = '';
    try {
      const hash = createHash('sha256');
      // Every pack the manifest's objects are in is stored (its index after it) before the sync.
      await this.packs.flush();
      await pipeline(
        Readable.from(
          (async function* manifestChunks() {
            for await (const s of manifestText(manifest)) {
              const b = Buffer.from(s);
              hash.update(b);
              yield b;
            }
          })(),
        ),
        createWriteStream(tmp, { mode: 0o600 }),
      );
      await this.sync();
      // The signature first: the manifest is the commit marker, so a visible manifest is already signed.
      const signer = await this.signer();
      const sha256 = hash.digest('hex');
      if (signer) {
        await this.storage.put(snapshotSignatureKey(manifest.id), signer.sign('manifest', manifest.id, sha256));
      }
      // The commit. Local: renamed in (its bytes are durable since the sync), then synced again so
      // the rename is too; not copied, which at 1M files was a 430 MB copy and its fsync. Else uploaded.
      await this.storage.put(snapshotKey(manifest.id), fileBody(tmp, { consume: true }));
      await this.sync();
      written = sha256;
    } catch (err) {
      if (isDiskFull(err)) throw diskFullError(err, path.dirname(tmp), 'the manifest');
      throw err;
    } finally {
      await rm(tmp, { force: true });
    }
    // What a listing reads next (the retention after a backup), kept from what was written; the
    // snapshot is committed, so nothing here may fail the write.
    const key = snapshotKey(manifest.id);
    const size = (await this.storage.stat(key).catch(() => undefined))?.size;
    await this.summaries.remember(key, manifest, { keyId: manifest.id, sha256: written }, size).catch(() => undefined);
  }

  async listSnapshots(): Promise<SnapshotListing> {
    const manifests: Manifest[] = [];
    const broken: SnapshotListing['broken'] = [];
    for (const id of await this.snapshotIds()) {
      try {
        manifests.push(await this.loadManifestKey(snapshotKey(id)));
      } catch (err) {
        broken.push({ id, problem: (err as Error).message });
      }
    }
    manifests.sort((a, b) => a.id.localeCompare(b.id));
    return { manifests, broken };
  }

  /**
   * The newest snapshot accepted by `match`, which sees manifests without their file entries;
   * only the match is loaded whole: a backup needs its parent's index, not every manifest's.
   * `accept` (e.g. a signature check) judges the whole manifest; a refused one is skipped.
   */
  async newestSnapshot(
    match: (m: Manifest) => boolean,
    accept?: (full: Manifest) => Promise<boolean>,
  ): Promise<Manifest | undefined> {
    const { manifests, sizes } = await listSnapshotKeys(this.storage);
    for (const id of manifests.reverse()) {
      const key = snapshotKey(id);
      const size = sizes.get(id);
      const head =
        (await this.summaries.get(key, size, true)) ??
        (await this.loadManifestKey(key, { entries: false, size }).catch(() => undefined));
      if (!head || !match(head)) continue;
      // A manifest whose file index does not parse is skipped like any unreadable one: a damaged
      // newest snapshot must not stop the next backup from finding an older parent.
      const full = await this.loadManifestKey(key, { entries: true, size }).catch(() => undefined);
      // Matched again: a kept summary is of the bytes read before, the whole manifest of today's.
      if (full && match(full) && (!accept || (await accept(full)))) return full;
      if (full) await this.release(full);
    }
    return undefined;
  }

  /**
   * Every snapshot without its per-file entries (oldest first): what listings, status and metrics
   * need, without holding every file index in memory or parsing it again on each request.
   * `kept`: summaries kept on the host's disk by earlier processes may answer (SummaryCache.get
   * says for what); the retention's choice uses them, so a backup does not read every manifest.
   */
  async listSnapshotSummaries(opts: { kept?: boolean } = {}): Promise<SnapshotListing> {
    const manifests: Manifest[] = [];
    const broken: SnapshotListing['broken'] = [];
    const listed = await listSnapshotKeys(this.storage);
    for (const id of listed.manifests) {
      const key = snapshotKey(id);
      const size = listed.sizes.get(id);
      try {
        manifests.push(
          (await this.summaries.get(key, size, !!opts.kept)) ??
            (await this.loadManifestKey(key, { entries: false, size })),
        );
      } catch (err) {
        broken.push({ id, problem: (err as Error).message });
      }
    }
    await this.summaries.retain(new Set(listed.manifests));
    manifests.sort((a, b) => a.id.localeCompare(b.id));
    return { manifests, broken };
  }

  /** Ids of the snapshots that exist (their manifest does), oldest first; nothing is read. */
  async snapshotIds(): Promise<string[]> {
    return (await listSnapshotKeys(this.storage)).manifests;
  }

  /** Loads `id` or 'latest' (the newest snapshot that is not a safety snapshot, else the newest). */
  async loadSnapshot(idOrLatest: string): Promise<Manifest> {
    if (idOrLatest === 'latest') {
      const last =
        (await this.newestSnapshot((m) => m.trigger !== 'safety')) ?? (await this.newestSnapshot(() => true));
      if (!last) throw new NotFoundError('the repository has no snapshots yet', { hint: 'run mm-backup backup first' });
      return last;
    }
    const key = snapshotKey(idOrLatest);
    const info = await this.storage.stat(key);
    if (!info) {
      throw new NotFoundError(`snapshot ${idOrLatest} does not exist`, { hint: 'mm-backup list shows the snapshots' });
    }
    return this.loadManifestKey(key, { entries: true, size: info.size });
  }

  /**
   * Reads the manifest at `key` (its file entries spooled, or skipped with `entries: false`) and
   * remembers its summary; `size`, the manifest's size as listed, lets the summary be kept on disk.
   */
  private async loadManifestKey(
    key: string,
    opts: { entries: boolean; size?: number } = { entries: true },
  ): Promise<Manifest> {
    const { manifest, origin, spool } = await readManifest(this.storage, key, opts);
    this.origins.set(manifest, origin);
    if (spool) this.spools.set(manifest, spool);
    await this.summaries.remember(key, manifest, origin, opts.size);
    return manifest;
  }

  /**
   * Removes the local copy of a loaded manifest's file index now (it would go when the manifest
   * is garbage, or at exit): for loops over many snapshots. The manifest's entries are unreadable after.
   */
  async release(m: Manifest): Promise<void> {
    const spool = this.spools.get(m);
    this.spools.delete(m);
    await spool?.discard();
  }

  /**
   * Every snapshot whose manifest parses, one at a time and oldest first, each released after `fn`
   * (so only one file index is spooled at a time); the ones that do not parse are returned.
   */
  async forEachSnapshot(fn: (m: Manifest) => Promise<void>): Promise<SnapshotListing['broken']> {
    const broken: SnapshotListing['broken'] = [];
    for (const id of await this.snapshotIds()) {
      let m: Manifest;
      try {
        m = await this.loadManifestKey(snapshotKey(id));
      } catch (err) {
        broken.push({ id, problem: (err as Error).message });
        continue;
      }
      try {
        await fn(m);
      } finally {
        await this.release(m);
      }
    }
    return broken;
  }

  /** Removes the manifest first (the snapshot is gone from then on), then its signature. */
  async deleteSnapshot(id: string): Promise<void> {
    await this.summaries.forget(snapshotKey(id));
    await this.storage.delete(snapshotKey(id));
    await this.storage.delete(snapshotSignatureKey(id));
  }

  async *listObjects(): AsyncIterable<{ sha256: string; size: number }> {
    for await (const o of this.storage.list(OBJECTS)) {
      const sha = objectOfKey(o.key);
      if (sha) yield { sha256: sha, size: o.size };
    }
  }

  async deleteObject(sha256: string): Promise<void> {
    await this.storage.delete(objectKey(sha256));
  }
}

/** A temporary name beside `dest` (same directory: the rename over it is atomic), hidden and unique. */
function tempBeside(dest: string): string {
  return path.join(path.dirname(dest), `.${path.basename(dest)}.mmb-${randomBytes(6).toString('hex')}`);
}
