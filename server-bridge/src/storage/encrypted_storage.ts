/**
 * Client-side encryption in the standard age format around any Storage: put encrypts, get
 * decrypts, keys are unchanged (objects stay named by the SHA-256 of their plaintext, so dedup
 * works exactly as unencrypted). Every stored file is a complete age file, decryptable by hand
 * with `age -d -i key.txt`. Encryption and decryption stream in age's 64 KiB chunks, so memory
 * stays bounded whatever the object size. The keys the caller names as plaintext are stored as
 * they are (repository/layout.ts: the marker must be readable to say that the rest is encrypted,
 * and the key files are age files of their own).
 */
import { inspect } from 'node:util';
import { rm } from 'node:fs/promises';
import { PassThrough, pipeline, Readable } from 'node:stream';
import { StorageError } from '../core/errors';
import { loadAge, type AgeModule } from './age';
import { openBody } from './body';
import { ForwardingStorage } from './forwarding_storage';
import { assertRange, OutOfRangeError, sliceStream } from './range';
import {
  assertKey,
  isFileBody,
  streamBody,
  type Body,
  type ObjectInfo,
  type ReadOptions,
  type Storage,
  type StorageInfo,
} from './storage';

/**
 * Ciphertext bytes that may be read before an age header is parsed: a header with every
 * recipient a repository could have is a few KiB; the rest is read-ahead of the first chunks.
 */
const MAX_HEADER_READ = 4 * 1024 * 1024;
const HEADER_SLICE = 64 * 1024;

/** The content cannot be authenticated: damaged or tampered with. */
export class IntegrityError extends StorageError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, {
      ...opts,
      permanent: true,
      hint: 'the object was changed after it was written: restore from another snapshot and check who can write to the bucket',
    });
  }
}

/** None of the configured identities can open the object (it was encrypted to other keys). */
export class KeyMismatchError extends StorageError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, {
      ...opts,
      permanent: true,
      hint: 'configure the age identity (or passphrase) these snapshots were encrypted with: offsite.encryption, MM_BACKUP_AGE_IDENTITY_FILE or MM_BACKUP_PASSPHRASE_FILE',
    });
  }
}

export interface AgeKeys {
  /** Public keys (age1…) every new object is encrypted to. */
  recipients: string[];
  /** Secret keys (AGE-SECRET-KEY-1…) tried when reading; may be empty (write-only host). */
  identities: string[];
}

export class EncryptedStorage extends ForwardingStorage {
  private age: AgeModule | undefined;
  /** Header + nonce bytes our own encryption adds, to report plaintext sizes without reading. */
  private overhead: number | undefined;

  /** `plaintext` names the keys stored as they are (the repository layout says which). */
  constructor(
    inner: Storage,
    private readonly keys: AgeKeys,
    private readonly plaintext: (key: string) => boolean = () => false,
  ) {
    super(inner);
  }

  get canDecrypt(): boolean {
    return this.keys.identities.length > 0;
  }

  override describe(): StorageInfo {
    const d = this.inner.describe();
    return { ...d, location: `${d.location} (age-encrypted)` };
  }

  private async lib(): Promise<AgeModule> {
    this.age ??= await loadAge();
    return this.age;
  }

  private async encrypter() {
    const age = await this.lib();
    if (!this.keys.recipients.length) {
      throw new StorageError('cannot encrypt: no age recipient is configured', { permanent: true });
    }
    const e = new age.Encrypter();
    for (const r of this.keys.recipients) e.addRecipient(r);
    if (this.overhead === undefined) this.overhead = (await e.encrypt(new Uint8Array(0))).length - 16;
    return e;
  }

  /** The body's bytes encrypted, opened afresh on each call (so the encrypted body replays too). */
  private encryptedStream(body: Body): Readable {
    const encrypter = () => this.encrypter();
    return Readable.from(
      (async function* encryptedChunks() {
        const e = await encrypter();
        const web = await e.encrypt(Readable.toWeb(openBody(body)) as unknown as ReadableStream<Uint8Array>);
        for await (const c of web as unknown as AsyncIterable<Uint8Array>) {
          yield Buffer.from(c.buffer, c.byteOffset, c.byteLength);
        }
      })(),
      { objectMode: false },
    );
  }

  override async put(key: string, body: Body, opts?: { signal?: AbortSignal }): Promise<void> {
    if (this.plaintext(key)) {
      await this.inner.put(key, body, opts);
      return;
    }
    if (Buffer.isBuffer(body)) {
      const e = await this.encrypter();
      await this.inner.put(key, Buffer.from(await e.encrypt(body)), opts);
      return;
    }
    await this.encrypter(); // a missing recipient fails here, before anything is sent
    await this.inner.put(
      key,
      streamBody(() => this.encryptedStream(body)),
      opts,
    );
    if (isFileBody(body) && body.consume) await rm(body.file, { force: true });
  }

  private async decrypt(key: string, source: Readable): Promise<Readable> {
    const age = await this.lib();
    const d = new age.Decrypter();
    for (const i of this.keys.identities) d.addIdentity(i);
    let sourceError: unknown;
    source.once('error', (e) => {
      sourceError = e;
    });
    let plain: ReadableStream<Uint8Array>;
    // The age library reads the header's lines with no bound (and keeps a copy): a bucket object
    // of gigabytes with no newline would be held whole before any caller's bound saw a byte. Bytes
    // read before the header is parsed are counted and refused past MAX_HEADER_READ.
    let headerRead = 0;
    let headerDone = false as boolean; // widened: set after decrypt() resolves, read in the generator
    // Piped at once: a source already flowing (a caller listening for 'data') loses nothing while
    // the generator below waits to be read. The pipeline passes the source's errors on and
    // destroys the source when the reader stops.
    const parsingHeader = () => !headerDone; // read each slice: decrypt() may resolve between two
    const through = new PassThrough();
    pipeline(source, through, () => undefined);
    const counted = Readable.from(
      (async function* headerCapped() {
        for await (const chunk of through) {
          const buf = chunk as Buffer;
          // Until the header is parsed, handed on in small slices, so that what is counted is
          // what the parser pulled (a storage may give a whole object as one chunk).
          let at = 0;
          while (parsingHeader() && at < buf.length) {
            const slice = buf.subarray(at, at + HEADER_SLICE);
            at += slice.length;
            headerRead += slice.length;
            if (headerRead > MAX_HEADER_READ) {
              sourceError = new IntegrityError(
                `${key} is not an age file this repository wrote: more than ${MAX_HEADER_READ} bytes without the end of its header`,
              );
              throw sourceError;
            }
            yield slice;
          }
          if (at < buf.length) yield at === 0 ? buf : buf.subarray(at);
        }
      })(),
      { objectMode: false },
    );
    try {
      if (!this.keys.identities.length) {
        throw new KeyMismatchError(`cannot decrypt ${key}: no age identity or passphrase is configured on this host`);
      }
      plain = await d.decrypt(Readable.toWeb(counted) as unknown as ReadableStream<Uint8Array>);
      headerDone = true;
    } catch (err) {
      counted.destroy();
      source.destroy();
      throw translate(err, key, sourceError);
    }
    async function* chunks() {
      try {
        for await (const c of plain as unknown as AsyncIterable<Uint8Array>) {
          yield Buffer.from(c.buffer, c.byteOffset, c.byteLength);
        }
      } catch (err) {
        throw translate(err, key, sourceError);
      }
    }
    return Readable.from(chunks(), { objectMode: false });
  }

  override async get(key: string, opts?: ReadOptions): Promise<Readable> {
    const source = await this.inner.get(key, opts);
    return this.plaintext(key) ? source : this.decrypt(key, source);
  }

  override load<T>(key: string, consume: (body: Readable) => Promise<T>, opts?: ReadOptions): Promise<T> {
    if (this.plaintext(key)) return this.inner.load(key, consume, opts);
    return this.inner.load(key, async (source) => consume(await this.decrypt(key, source)), opts);
  }

  /**
   * age cannot seek here (the ciphertext offset of a plaintext byte depends on the header, which
   * depends on the recipients), so a range is read by decrypting the object from its start:
   * the first `offset` bytes are decrypted and dropped, `length` are passed on, and the source is
   * destroyed then, so the cost is reading and decrypting up to offset + length (rounded up to
   * age's 64 KiB chunks, plus what the connection had buffered), never the rest. Each chunk
   * passed on is authenticated (age's STREAM tags every chunk). Keys stored as plaintext are
   * ranged by the inner storage itself.
   */
  override async loadRange<T>(
    key: string,
    offset: number,
    length: number,
    consume: (body: Readable) => Promise<T>,
    opts?: ReadOptions,
  ): Promise<T> {
    assertKey(key);
    if (this.plaintext(key)) return this.inner.loadRange(key, offset, length, consume, opts);
    assertRange(offset, length);
    if (length === 0) return consume(Readable.from([]));
    return this.inner.load(
      key,
      async (source) => {
        const plain = await this.decrypt(key, source);
        // The source is destroyed with the slice, once the range is read or the consumer fails.
        plain.once('close', () => source.destroy());
        // A plaintext that ends early is a short object (a damaged one fails authentication instead).
        return consume(sliceStream(plain, offset, length, () => new OutOfRangeError(key, offset, length, undefined)));
      },
      opts,
    );
  }

  /** Plaintext size, derived from the stored size (exact for objects encrypted to the current recipients). */
  private plainSize(key: string, stored: number): number {
    if (this.plaintext(key) || this.overhead === undefined) return stored;
    const payload = stored - this.overhead;
    if (payload < 16) return stored;
    const chunk = 64 * 1024 + 16;
    const full = Math.floor(payload / chunk);
    const last = payload % chunk;
    return payload - full * 16 - (last > 0 ? 16 : 0);
  }

  override async stat(key: string): Promise<ObjectInfo | undefined> {
    const info = await this.inner.stat(key);
    if (!info) return undefined;
    if (this.keys.recipients.length) await this.encrypter();
    return { key, size: this.plainSize(key, info.size) };
  }

  override async *list(prefix: string): AsyncIterable<ObjectInfo> {
    if (this.keys.recipients.length) await this.encrypter();
    for await (const o of this.inner.list(prefix)) yield { key: o.key, size: this.plainSize(o.key, o.size) };
  }
}

/** age reports everything as plain Errors; name the two cases an admin must tell apart. */
function translate(err: unknown, key: string, sourceError: unknown): Error {
  if (err instanceof StorageError) return err;
  if (sourceError) {
    return sourceError instanceof Error ? sourceError : new StorageError(`cannot read ${key}: ${inspect(sourceError)}`);
  }
  const msg = err instanceof Error ? err.message : inspect(err);
  if (err instanceof Error && err.name === 'AbortError') return err;
  if (/no identity matched/.test(msg)) {
    return new KeyMismatchError(
      `cannot decrypt ${key}: it was encrypted to other keys than the configured age identity`,
      { cause: err },
    );
  }
  return new IntegrityError(`${key} failed authentication (age: ${msg}): it is damaged or was tampered with`, {
    cause: err,
  });
}
