/**
 * The backup repository on top of a Storage: content-addressed objects (objects/ab/<sha256>,
 * each distinct content stored once, never modified) and snapshot manifests
 * (snapshots/<id>.json, written last); keys come from ./layout.ts, documented in the README for
 * manual restores. The repository owns what the storage contract leaves out: where objects are
 * staged, when the local filesystem is synced (once, before a manifest is committed), and the
 * free space of a local repository's disk.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rename, rm, statfs, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BridgeError, NotFoundError, VerificationError } from '../core/errors';
import { parseManifest, type Manifest } from '../manifest/manifest';
import { manifestText, readManifestText } from '../manifest/manifest_io';
import { loadManifestText } from '../manifest/manifest_load';
import type { EntrySpool } from '../manifest/entry_spool';
import { cleanStaleSpoolDirs, spoolDir } from '../manifest/spool_dir';
import { formatIssues } from '../config/load';
import { fileBody, readBuffer, type Storage } from '../storage/storage';
import { runProcess } from '../process/run_process';
import { HashingStream } from './hashing';
import { ensureRepositoryMarker } from './marker';
import {
  listSnapshotKeys,
  objectKey,
  objectOfKey,
  OBJECTS,
  parseSnapshotKey,
  snapshotKey,
  snapshotSignatureKey,
} from './layout';
import { damagedManifest } from './damaged_manifest';
import { diskFullError, isDiskFull } from '../storage/disk_full';
import { IntegrityError, KeyMismatchError } from '../storage/encrypted_storage';
import type { SigningKey } from './signing';
import { readOptional } from './trust';

/** An encrypted object that fails authentication or opens with no configured key: a finding, not a crash. */
function isUnreadable(err: unknown): boolean {
  return err instanceof IntegrityError || err instanceof KeyMismatchError;
}

/** Refuses content read for use that is not the object the manifest names (exit 4). */
function assertSameObject(sha256: string, actual: string): void {
  if (actual === sha256) return;
  throw new VerificationError(
    `object ${sha256.slice(0, 12)}… does not match its checksum (got ${actual.slice(0, 12)}…): the repository was changed or damaged since the backup, and it is not used`,
    [{ component: 'object', object: sha256, problem: 'content does not match its checksum' }],
    { hint: 'someone or something changed the repository; run mm-backup verify and see docs/security.md' },
  );
}

/** Files up to this size are read whole; larger ones are streamed (bounded memory). */
const SMALL_FILE = 4 * 1024 * 1024;

export interface StoredObject {
  sha256: string;
  size: number;
  /** False when identical content was already in the repository. */
  isNew: boolean;
}

export interface SnapshotListing {
  manifests: Manifest[];
  /** Manifests that exist but do not parse: reported, never used. */
  broken: Array<{ id: string; problem: string }>;
}

export class Repository {
  private stageDir: string | undefined;
  /** The staging directory given at open (offsite.mode "direct": the local state directory), if any. */
  private readonly givenStaging: string | undefined;
  /** Manifests never change once written, so their summaries are cached by key. */
  private readonly summaries = new Map<string, Manifest>();
  /** Which file each loaded manifest came from and the SHA-256 of its exact bytes (what is signed). */
  private readonly origins = new WeakMap<Manifest, { keyId: string; sha256: string }>();
  /** The spool file behind each loaded manifest's entries, removed by release(). */
  private readonly spools = new WeakMap<Manifest, EntrySpool>();
  private constructor(
    readonly storage: Storage,
    private readonly signer: () => Promise<SigningKey | undefined>,
    stagingDir?: string,
  ) {
    this.givenStaging = stagingDir;
  }

  /**
   * Opens the repository, creating its marker on first use. `signer` gives the key that signs
   * each manifest written here; without one (a host with no config file) manifests are unsigned.
   * `stagingDir`: where to stage objects when the storage is not a local directory (which has its own).
   */
  static async open(
    storage: Storage,
    opts: { signer?: () => Promise<SigningKey | undefined>; stagingDir?: string } = {},
  ): Promise<Repository> {
    const repo = new Repository(storage, opts.signer ?? (() => Promise.resolve(undefined)), opts.stagingDir);
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
  manifestOrigin(m: Manifest): { keyId: string; sha256: string } | undefined {
    return this.origins.get(m);
  }

  /** The signature file of snapshot `id`, or undefined when it has none. */
  async readSignature(id: string): Promise<Buffer | undefined> {
    return readOptional(this.storage, snapshotSignatureKey(id));
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

  private async staging(): Promise<string> {
    this.stageDir ??=
      this.storage.describe().local?.tempDir ??
      this.givenStaging ??
      (await mkdtemp(path.join(os.tmpdir(), 'mm-backup-stage-')));
    return this.stageDir;
  }

  /** Hashes `source` while staging it, then stores it under its SHA-256 unless already present. */
  async ingest(source: Readable, opts: { signal?: AbortSignal } = {}): Promise<StoredObject> {
    const tmp = path.join(await this.staging(), `ingest-${process.pid}-${randomBytes(8).toString('hex')}`);
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
   * Stores a local file by content. Small files (most of a file store: thumbnails, previews)
   * are read whole and hashed first, so content already in the repository is never written
   * again and there is no stream pipeline per file; large ones stream.
   */
  async ingestFile(file: string, opts: { signal?: AbortSignal; size?: number } = {}): Promise<StoredObject> {
    if (opts.size === undefined || opts.size > SMALL_FILE) return this.ingest(createReadStream(file), opts);
    const buf = await readFile(file, { signal: opts.signal });
    const sha256 = createHash('sha256').update(buf).digest('hex');
    const key = objectKey(sha256);
    if (await this.storage.stat(key)) return { sha256, size: buf.length, isNew: false };
    const tmp = path.join(await this.staging(), `ingest-${process.pid}-${randomBytes(8).toString('hex')}`);
    try {
      await writeFile(tmp, buf, { mode: 0o600 });
      await this.storage.put(key, fileBody(tmp, { consume: true }), { signal: opts.signal });
    } catch (err) {
      await rm(tmp, { force: true });
      if (isDiskFull(err)) throw diskFullError(err, path.dirname(tmp), `the copy of ${file}`);
      throw err;
    }
    return { sha256, size: buf.length, isNew: true };
  }

  async hasObject(sha256: string): Promise<boolean> {
    return !!(await this.storage.stat(objectKey(sha256)));
  }

  async readObject(sha256: string, opts: { signal?: AbortSignal } = {}): Promise<Readable> {
    return this.storage.get(objectKey(sha256), opts);
  }

  /**
   * Copies an object to `dest`, checked against its checksum before it is renamed into place: the
   * object may have been swapped since a preflight checked it (whoever can write the repository
   * or the bucket), and only the checksum named by the signed manifest vouches for its content.
   */
  async copyObjectTo(sha256: string, dest: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    const tmp = path.join(path.dirname(dest), `.${path.basename(dest)}.mmb-${randomBytes(6).toString('hex')}`);
    try {
      // One pass: read, hash and write together (an in-kernel copy could not be hashed on the
      // way). A read that breaks midway is retried whole (the storage calls this again), so each
      // call starts the temporary file and the hash over.
      await this.storage.load(
        objectKey(sha256),
        async (source) => {
          const hasher = new HashingStream();
          await pipeline(source, hasher, createWriteStream(tmp, { mode: 0o600 }), { signal: opts.signal });
          assertSameObject(sha256, hasher.digest());
        },
        opts,
      );
      await rename(tmp, dest);
    } catch (err) {
      await rm(tmp, { force: true });
      // Named as the file being restored, which is what the admin knows, not its temporary copy.
      if (isDiskFull(err)) {
        throw diskFullError(err, path.dirname(dest), dest, undefined, `the disk restored to (${path.dirname(dest)})`);
      }
      throw err;
    }
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

  /** A small object read whole, checked against its checksum (e.g. a config.json read from a snapshot). */
  async readObjectBytes(sha256: string, opts: { signal?: AbortSignal } = {}): Promise<Buffer> {
    const buf = await readBuffer(this.storage, objectKey(sha256), opts);
    assertSameObject(sha256, createHash('sha256').update(buf).digest('hex'));
    return buf;
  }

  /** Re-hashes an object; returns a problem string or undefined when it matches. */
  async checkObject(
    sha256: string,
    size: number | undefined,
    opts: { signal?: AbortSignal } = {},
  ): Promise<string | undefined> {
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
      if (err instanceof NotFoundError) return 'object is missing';
      if (isUnreadable(err)) return (err as Error).message;
      throw err;
    }
    const actual = hasher.digest();
    if (actual !== sha256) return `content does not match its checksum (got ${actual.slice(0, 12)}…)`;
    if (size !== undefined && hasher.bytes !== size) return `size ${hasher.bytes} differs from the manifest's ${size}`;
    return undefined;
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
    const tmp = path.join(await this.staging(), `manifest-${process.pid}-${randomBytes(8).toString('hex')}`);
    try {
      const hash = createHash('sha256');
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
      const key = await this.signer();
      if (key) {
        await this.storage.put(
          snapshotSignatureKey(manifest.id),
          key.sign('manifest', manifest.id, hash.digest('hex')),
        );
      }
      // The commit: a file body, so a failed upload is retried like any other put; not consumed,
      // because a consumed file is renamed in without an fsync and the commit must be durable.
      await this.storage.put(snapshotKey(manifest.id), fileBody(tmp));
    } catch (err) {
      if (isDiskFull(err)) throw diskFullError(err, path.dirname(tmp), 'the manifest');
      throw err;
    } finally {
      await rm(tmp, { force: true });
    }
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
    for (const key of (await this.snapshotIds()).map(snapshotKey).reverse()) {
      let head = this.summaries.get(key);
      if (!head) {
        head = await this.loadManifestKey(key, { entries: false }).catch(() => undefined);
        if (head) this.summaries.set(key, head);
      }
      if (!head || !match(head)) continue;
      // A manifest whose file index does not parse is skipped like any unreadable one: a damaged
      // newest snapshot must not stop the next backup from finding an older parent.
      const full = await this.loadManifestKey(key).catch(() => undefined);
      if (full && (!accept || (await accept(full)))) return full;
    }
    return undefined;
  }

  /**
   * Every snapshot without its per-file entries (oldest first): what listings, status and metrics
   * need, without holding every file index in memory or parsing it again on each request.
   */
  async listSnapshotSummaries(): Promise<SnapshotListing> {
    const manifests: Manifest[] = [];
    const broken: SnapshotListing['broken'] = [];
    for (const id of await this.snapshotIds()) {
      const key = snapshotKey(id);
      let summary = this.summaries.get(key);
      if (!summary) {
        try {
          summary = await this.loadManifestKey(key, { entries: false });
          this.summaries.set(key, summary);
        } catch (err) {
          broken.push({ id, problem: (err as Error).message });
          continue;
        }
      }
      manifests.push(summary);
    }
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
    if (!(await this.storage.stat(key))) {
      throw new NotFoundError(`snapshot ${idOrLatest} does not exist`, { hint: 'mm-backup list shows the snapshots' });
    }
    return this.loadManifestKey(key);
  }

  private async loadManifestKey(key: string, opts: { entries: boolean } = { entries: true }): Promise<Manifest> {
    let raw: unknown;
    let entryIssues: Array<{ path: PropertyKey[]; message: string }> = [];
    let spool: EntrySpool | undefined;
    // The whole file is hashed as it is parsed (also when entries are skipped), so a signature is
    // checked against exactly the bytes behind the manifest in hand, with no second read to race:
    // the file indexes are copied to a private spool on the way, and read from there afterwards.
    // A read retried after a broken connection starts the hash and the parse over.
    let hash = createHash('sha256');
    const dir = opts.entries ? await spoolDir() : undefined;
    try {
      raw = await this.storage.load(key, async (source) => {
        hash = createHash('sha256');
        const h = hash;
        const hashed = Readable.from(
          (async function* hashedChunks() {
            for await (const chunk of source) {
              h.update(chunk as Buffer);
              yield chunk as Buffer;
            }
          })(),
        );
        if (!dir) return readManifestText(hashed, opts);
        await spool?.discard(); // a retried read starts a new spool
        const loaded = await loadManifestText(hashed, dir);
        entryIssues = loaded.issues;
        spool = loaded.spool;
        return loaded.raw;
      });
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
      throw damagedManifest(key, 'is not valid JSON', err);
    }
    const res = parseManifest(raw);
    const issues = res.success ? entryIssues : res.issues;
    if (!res.success || issues.length) {
      await spool?.discard();
      throw damagedManifest(key, `is invalid: ${formatIssues(issues).slice(0, 3).join('; ')}`);
    }
    this.origins.set(res.data, { keyId: parseSnapshotKey(key)?.id ?? key, sha256: hash.digest('hex') });
    if (spool) this.spools.set(res.data, spool);
    return res.data;
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
    this.summaries.delete(snapshotKey(id));
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
