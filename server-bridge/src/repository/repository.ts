/**
 * The backup repository on top of a Storage: content-addressed objects (objects/ab/<sha256>,
 * each distinct content stored once, never modified) and snapshot manifests
 * (snapshots/<id>.json, written last). Layout is documented in the README for manual restores.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BridgeError, NotFoundError, UsageError, VerificationError } from '../core/errors';
import { parseManifest, SNAPSHOT_ID, type Manifest } from '../manifest/manifest';
import { manifestText, readManifestText } from '../manifest/manifest_io';
import { formatIssues } from '../config/load';
import type { Storage } from '../storage/storage';
import { HashingStream } from './hashing';
import { ensureRepositoryMarker } from './repository_marker';
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
  throw new VerificationError(`object ${sha256.slice(0, 12)}… does not match its checksum (got ${actual.slice(0, 12)}…): it changed after the snapshot was checked, and is not used`, [
    { component: 'object', object: sha256, problem: 'content does not match its checksum' },
  ], { hint: 'someone or something changed the repository; run mm-backup verify and see docs/security.md' });
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
  /** Manifests never change once written, so their summaries are cached by key. */
  private readonly summaries = new Map<string, Manifest>();
  /** Which file each loaded manifest came from and the SHA-256 of its exact bytes (what is signed). */
  private readonly origins = new WeakMap<Manifest, { keyId: string; sha256: string }>();
  private constructor(readonly storage: Storage, private readonly signer: () => Promise<SigningKey | undefined>) {}

  /**
   * Opens the repository, creating its marker on first use. `signer` gives the key that signs
   * each manifest written here; without one (a host with no config file) manifests are unsigned.
   */
  static async open(storage: Storage, opts: { signer?: () => Promise<SigningKey | undefined> } = {}): Promise<Repository> {
    const repo = new Repository(storage, opts.signer ?? (async () => undefined));
    await ensureRepositoryMarker(storage);
    return repo;
  }

  static objectKey(sha256: string): string {
    return `objects/${sha256.slice(0, 2)}/${sha256}`;
  }

  static snapshotKey(id: string): string {
    if (!SNAPSHOT_ID.test(id)) throw new UsageError(`"${id}" is not a snapshot id (expected e.g. 20260101T030000Z-a1b2c3)`);
    return `snapshots/${id}.json`;
  }

  /** The manifest's signature (repository/signing.ts), beside it so readers that predate signing still work. */
  static signatureKey(id: string): string {
    return `snapshots/${id}.sig`;
  }

  /** The file a manifest was loaded from and the SHA-256 of the bytes parsed; undefined for one built in memory. */
  manifestOrigin(m: Manifest): { keyId: string; sha256: string } | undefined {
    return this.origins.get(m);
  }

  /** The signature file of snapshot `id`, or undefined when it has none. */
  async readSignature(id: string): Promise<Buffer | undefined> {
    return readOptional(this.storage, Repository.signatureKey(id));
  }

  /**
   * Signs a manifest loaded from this repository (one made before signing), for exactly the bytes
   * that were read and checked: if the file changed since, the signature will not match it.
   */
  async signLoaded(m: Manifest): Promise<string> {
    const origin = this.origins.get(m);
    const key = await this.signer();
    if (!origin || origin.keyId !== m.id) throw new BridgeError('INTERNAL', `snapshot ${m.id} was not loaded from the repository`);
    if (!key) throw new BridgeError('PRECONDITION_FAILED', 'this host has no signing key (no config file)', { hint: 'run this with --config on the host that makes the backups' });
    await this.storage.put(Repository.signatureKey(m.id), key.sign('manifest', m.id, origin.sha256));
    return key.fingerprint;
  }

  private async staging(): Promise<string> {
    this.stageDir ??= this.storage.stagingDir() ?? (await mkdtemp(path.join(os.tmpdir(), 'mm-backup-stage-')));
    return this.stageDir;
  }

  /** Hashes `source` while staging it, then stores it under its SHA-256 unless already present. */
  async ingest(source: Readable, opts: { signal?: AbortSignal } = {}): Promise<StoredObject> {
    const tmp = path.join(await this.staging(), `ingest-${process.pid}-${randomBytes(8).toString('hex')}`);
    const hasher = new HashingStream();
    try {
      await pipeline(source, hasher, createWriteStream(tmp, { mode: 0o600 }), { signal: opts.signal });
      const sha256 = hasher.digest();
      const key = Repository.objectKey(sha256);
      if (await this.storage.stat(key)) {
        await rm(tmp, { force: true });
        return { sha256, size: hasher.bytes, isNew: false };
      }
      await this.storage.putFile(key, tmp, { signal: opts.signal, move: true, deferSync: true });
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
    const key = Repository.objectKey(sha256);
    if (await this.storage.stat(key)) return { sha256, size: buf.length, isNew: false };
    const tmp = path.join(await this.staging(), `ingest-${process.pid}-${randomBytes(8).toString('hex')}`);
    try {
      await writeFile(tmp, buf, { mode: 0o600 });
      await this.storage.putFile(key, tmp, { signal: opts.signal, move: true, deferSync: true });
    } catch (err) {
      await rm(tmp, { force: true });
      if (isDiskFull(err)) throw diskFullError(err, path.dirname(tmp), `the copy of ${file}`);
      throw err;
    }
    return { sha256, size: buf.length, isNew: true };
  }

  async hasObject(sha256: string): Promise<boolean> {
    return !!(await this.storage.stat(Repository.objectKey(sha256)));
  }

  async readObject(sha256: string, opts: { signal?: AbortSignal } = {}): Promise<Readable> {
    return this.storage.get(Repository.objectKey(sha256), opts);
  }

  /**
   * Copies an object to `dest`, checked against its checksum before it is renamed into place: the
   * object may have been swapped since a preflight checked it (whoever can write the repository
   * or the bucket), and only the checksum named by the signed manifest vouches for its content.
   */
  async copyObjectTo(sha256: string, dest: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    const tmp = path.join(path.dirname(dest), `.${path.basename(dest)}.mmb-${randomBytes(6).toString('hex')}`);
    const hasher = new HashingStream();
    try {
      // One pass: read, hash and write together (an in-kernel copy could not be hashed on the way).
      await pipeline(await this.readObject(sha256, opts), hasher, createWriteStream(tmp, { mode: 0o600 }), { signal: opts.signal });
      assertSameObject(sha256, hasher.digest());
      await rename(tmp, dest);
    } catch (err) {
      await rm(tmp, { force: true });
      // Named as the file being restored, which is what the admin knows, not its temporary copy.
      if (isDiskFull(err)) throw diskFullError(err, path.dirname(dest), dest, undefined, `the disk restored to (${path.dirname(dest)})`);
      throw err;
    }
  }

  /**
   * A stream of an object and a `check()` to call once it was read to its end: it throws when what
   * flowed differs from the object's checksum (swapped since it was verified). For streams too big
   * to hold, whose consumer (a database load) must be failed, and undone, after the fact.
   */
  async readObjectChecked(sha256: string, opts: { signal?: AbortSignal } = {}): Promise<{ stream: Readable; check: () => void }> {
    const hasher = new HashingStream();
    const source = await this.readObject(sha256, opts);
    const stream = source.pipe(hasher);
    source.on('error', (err) => hasher.destroy(err));
    return { stream, check: () => assertSameObject(sha256, hasher.digest()) };
  }

  /** A small object read whole, checked against its checksum (e.g. a config.json read from a snapshot). */
  async readObjectBytes(sha256: string, opts: { signal?: AbortSignal } = {}): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of await this.readObject(sha256, opts)) chunks.push(c as Buffer);
    const buf = Buffer.concat(chunks);
    assertSameObject(sha256, createHash('sha256').update(buf).digest('hex'));
    return buf;
  }

  /** Re-hashes an object; returns a problem string or undefined when it matches. */
  async checkObject(sha256: string, size: number | undefined, opts: { signal?: AbortSignal } = {}): Promise<string | undefined> {
    let stream: Readable;
    try {
      stream = await this.readObject(sha256, opts);
    } catch (err) {
      if (err instanceof NotFoundError) return 'object is missing';
      if (isUnreadable(err)) return (err as Error).message;
      throw err;
    }
    const hasher = new HashingStream();
    try {
      await pipeline(stream, hasher, async function* (src) { for await (const _ of src) { /* drain */ } }, { signal: opts.signal });
    } catch (err) {
      if (isUnreadable(err)) return (err as Error).message;
      throw err;
    }
    const actual = hasher.digest();
    if (actual !== sha256) return `content does not match its checksum (got ${actual.slice(0, 12)}…)`;
    if (size !== undefined && hasher.bytes !== size) return `size ${hasher.bytes} differs from the manifest's ${size}`;
    return undefined;
  }

  /** Writes the manifest last and atomically (its signature just before): from this moment the snapshot exists. */
  async writeSnapshot(m: Manifest): Promise<void> {
    const res = parseManifest(m);
    if (!res.success) throw new BridgeError('INTERNAL', `refusing to write an invalid manifest: ${formatIssues(res.issues).slice(0, 3).join('; ')}`);
    await this.storage.flush();
    // The signature first: the manifest is the commit marker, so a visible manifest is already signed.
    const key = await this.signer();
    if (key) {
      const hash = createHash('sha256');
      for (const s of manifestText(res.data)) hash.update(s);
      await this.storage.put(Repository.signatureKey(res.data.id), key.sign('manifest', res.data.id, hash.digest('hex')));
    }
    const text = Readable.from((function* () { for (const s of manifestText(res.data)) yield Buffer.from(s); })());
    await this.storage.put(Repository.snapshotKey(res.data.id), text);
  }

  async listSnapshots(): Promise<SnapshotListing> {
    const manifests: Manifest[] = [];
    const broken: SnapshotListing['broken'] = [];
    for await (const obj of this.storage.list('snapshots')) {
      const m = /^snapshots\/(.+)\.json$/.exec(obj.key);
      if (!m || !SNAPSHOT_ID.test(m[1] as string)) continue;
      try {
        manifests.push(await this.loadManifestKey(obj.key));
      } catch (err) {
        broken.push({ id: m[1] as string, problem: (err as Error).message });
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
  async newestSnapshot(match: (m: Manifest) => boolean, accept?: (full: Manifest) => Promise<boolean>): Promise<Manifest | undefined> {
    const keys: string[] = [];
    for await (const obj of this.storage.list('snapshots')) {
      const id = /^snapshots\/(.+)\.json$/.exec(obj.key)?.[1];
      if (id && SNAPSHOT_ID.test(id)) keys.push(obj.key);
    }
    for (const key of keys.sort().reverse()) {
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
    for await (const obj of this.storage.list('snapshots')) {
      const id = /^snapshots\/(.+)\.json$/.exec(obj.key)?.[1];
      if (!id || !SNAPSHOT_ID.test(id)) continue;
      let summary = this.summaries.get(obj.key);
      if (!summary) {
        try {
          summary = await this.loadManifestKey(obj.key, { entries: false });
          this.summaries.set(obj.key, summary);
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

  /** Loads `id` or 'latest' (the newest snapshot that is not a safety snapshot, else the newest). */
  async loadSnapshot(idOrLatest: string): Promise<Manifest> {
    if (idOrLatest === 'latest') {
      const last = (await this.newestSnapshot((m) => m.trigger !== 'safety')) ?? (await this.newestSnapshot(() => true));
      if (!last) throw new NotFoundError('the repository has no snapshots yet', { hint: 'run mm-backup backup first' });
      return last;
    }
    const key = Repository.snapshotKey(idOrLatest);
    if (!(await this.storage.stat(key))) throw new NotFoundError(`snapshot ${idOrLatest} does not exist`, { hint: 'mm-backup list shows the snapshots' });
    return this.loadManifestKey(key);
  }

  private async loadManifestKey(key: string, opts: { entries: boolean } = { entries: true }): Promise<Manifest> {
    let raw: unknown;
    // The whole file is hashed as it is parsed (also when entries are skipped), so a signature is
    // checked against exactly the bytes behind the manifest in hand, with no second read to race.
    const hash = createHash('sha256');
    const source = await this.storage.get(key);
    try {
      raw = await readManifestText(Readable.from((async function* () {
        for await (const chunk of source) {
          hash.update(chunk as Buffer);
          yield chunk as Buffer;
        }
      })()), opts);
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
      throw damagedManifest(key, 'is not valid JSON', err);
    }
    const res = parseManifest(raw);
    if (!res.success) throw damagedManifest(key, `is invalid: ${formatIssues(res.issues).slice(0, 3).join('; ')}`);
    this.origins.set(res.data, { keyId: key.slice('snapshots/'.length, -'.json'.length), sha256: hash.digest('hex') });
    return res.data;
  }

  /** Removes the manifest first (the snapshot is gone from then on), then its signature. */
  async deleteSnapshot(id: string): Promise<void> {
    this.summaries.delete(Repository.snapshotKey(id));
    await this.storage.delete(Repository.snapshotKey(id));
    await this.storage.delete(Repository.signatureKey(id));
  }

  async *listObjects(): AsyncIterable<{ sha256: string; size: number }> {
    for await (const o of this.storage.list('objects')) {
      const sha = o.key.split('/').at(-1) ?? '';
      if (/^[0-9a-f]{64}$/.test(sha)) yield { sha256: sha, size: o.size };
    }
  }

  async deleteObject(sha256: string): Promise<void> {
    await this.storage.delete(Repository.objectKey(sha256));
  }
}
