/**
 * Where a repository's bytes live: a local directory, an S3 bucket, memory (tests). Modelled on
 * restic's Backend: a handful of key/value operations and a description, nothing about staging,
 * sync or free space (the repository owns those). Keys are relative, slash-separated and
 * validated. Contract, shared by every implementation and checked by one contract test suite
 * (test/support/storage_contract.ts):
 * - put is atomic: a key is visible complete or not at all, even if interrupted; it is durable
 *   when it resolves, except a file body given up with `consume` (see FileBody);
 * - a body can be replayed (Body), so a decorator may retry any put from the start;
 * - load hands the object to a consumer and may call it again from the start after a transient
 *   failure; loadRange does the same with a byte range of it (a pack's object); get opens a
 *   stream that nobody replays once it has been read from;
 * - get/load/loadRange of a missing key: NotFoundError; stat: undefined; delete of a missing key
 *   succeeds; a range the object does not hold: OutOfRangeError (range.ts, permanent);
 * - list yields each key under the prefix exactly once, in lexical order.
 */
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  key: string;
  size: number;
}

/**
 * A local file. With `consume` the caller gives the file up: a local backend on the same
 * filesystem renames it into place as it is (no copy, no fsync: its durability is the caller's,
 * Repository syncs the filesystem before it commits a manifest); any other backend reads it and
 * removes it after a successful put. After a failed put the file is still there, so it can be retried.
 */
export interface FileBody {
  file: string;
  consume?: boolean;
}

/** A stream that can be opened again: each attempt of a put calls `open` for fresh bytes. */
export interface StreamBody {
  open: () => Readable;
}

/** What put stores. Every kind can be replayed; a bare Readable cannot, so it is not a Body. */
export type Body = Buffer | FileBody | StreamBody;

export const fileBody = (file: string, opts: { consume?: boolean } = {}): FileBody => ({ file, ...opts });
export const streamBody = (open: () => Readable): StreamBody => ({ open });
export const isFileBody = (b: Body): b is FileBody => !Buffer.isBuffer(b) && 'file' in b;
export const isStreamBody = (b: Body): b is StreamBody => !Buffer.isBuffer(b) && 'open' in b;

/** What a storage is, for humans and for the repository's optional local features. */
export interface StorageInfo {
  /** "local", "s3", "memory". */
  kind: string;
  /** A location for humans (never credentials). */
  location: string;
  /**
   * Set by a backend whose keys are files under a local directory. `tempDir` is on the same
   * filesystem (a consumed file body staged there is a rename): the repository stages there,
   * syncs `root`'s filesystem before a commit, and reports its free space.
   */
  local?: { root: string; tempDir: string };
}

export interface ReadOptions {
  signal?: AbortSignal;
}

/** An open local file read by ranges (Storage.openRangeSync): `size` as opened; close() once done. */
export interface RangeReaderSync {
  readonly size: number;
  read(offset: number, length: number): Buffer;
  close(): void;
}

export interface Storage {
  describe(): StorageInfo;
  put(key: string, body: Body, opts?: { signal?: AbortSignal }): Promise<void>;
  /** A stream of the object. Not replayed: a failure after the first byte reaches the reader. */
  get(key: string, opts?: ReadOptions): Promise<Readable>;
  /**
   * Reads the whole object through `consume` and resolves with its result. `consume` must start
   * over each time it is called (it may be called again after a transient failure) and must read
   * the stream to its end (or fail).
   */
  load<T>(key: string, consume: (body: Readable) => Promise<T>, opts?: ReadOptions): Promise<T>;
  /**
   * Like load, of exactly bytes [offset, offset + length) of the object (restic's Load with a
   * length and offset): `consume` gets those bytes and nothing else, and may be called again from
   * the start after a transient failure. An object shorter than offset + length: OutOfRangeError
   * (permanent), before `consume` is called where the size is known up front (not through an
   * encrypting decorator, which finds the end by decrypting: its consumer has had the bytes the
   * object holds, then fails). A length of 0 asks the store nothing: `consume` gets an empty stream, whether
   * or not the key exists. Offset and length must be non-negative safe integers (TypeError).
   */
  loadRange<T>(
    key: string,
    offset: number,
    length: number,
    consume: (body: Readable) => Promise<T>,
    opts?: ReadOptions,
  ): Promise<T>;
  stat(key: string): Promise<ObjectInfo | undefined>;
  list(prefix: string): AsyncIterable<ObjectInfo>;
  delete(key: string): Promise<void>;
  /**
   * Optional, only for a backend whose keys are plain local files holding exactly the bytes put
   * (never a decorator that transforms them): the object read whole with synchronous calls, for a
   * restore of many small files. Errors as get's (NotFoundError for a missing key); a StorageError
   * for anything but a regular file of at most `maxBytes` (never follows a link, never blocks).
   */
  readSmallSync?(key: string, maxBytes: number): Buffer;
  /**
   * Optional, with readSmallSync (plain local files only): stores `bytes` under `key` with
   * synchronous calls unless an object is there already (keys name their content), and says
   * whether it wrote. For backups of many small files. Like a put of a consumed file, it is not
   * fsynced: the caller makes a batch durable at once (Repository.sync).
   */
  storeSmallSync?(key: string, bytes: Buffer): boolean;
  /**
   * Optional, with readSmallSync (plain local files only): loadRange with synchronous calls, for
   * reading packed objects in a restore's synchronous bursts. Same answers as loadRange (length
   * 0: an empty buffer, nothing asked) and the same refusals as readSmallSync (a link or anything
   * but a regular file: StorageError; never blocks on a FIFO).
   */
  readRangeSync?(key: string, offset: number, length: number): Buffer;
  /**
   * Optional, with readRangeSync: the key opened once for many synchronous range reads (packed
   * objects of one pack, one after another), with the same refusals and answers as readRangeSync.
   * The caller closes it.
   */
  openRangeSync?(key: string): RangeReaderSync;
  /** Optional, with readSmallSync (plain local files only): stat with a synchronous call, same answers. */
  statSync?(key: string): ObjectInfo | undefined;
  /**
   * Optional: removes what interrupted puts left (temp files, incomplete multipart uploads) and
   * says how many; call only while holding the job lock.
   */
  cleanup?(): Promise<number>;
}

const KEY = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

/** Rejects keys that could escape the storage root or are not portable across backends. */
export function assertKey(key: string): void {
  if (!KEY.test(key) || key.split('/').some((p) => p === '.' || p === '..')) {
    throw new TypeError(`invalid storage key ${JSON.stringify(key)}`);
  }
}

/** Reads a stream whole (one whose length the caller bounds already, e.g. a range). */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Reads a stream whole, but never holds more than `max` bytes: the chunk that passes `max`
 * destroys the stream (no more is downloaded or read from disk) and `tooLong(max)` is thrown.
 * Anyone who can write the repository can make a file huge; this bounds what it costs in memory.
 */
export async function readAtMost(stream: Readable, max: number, tooLong: (max: number) => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    n += (c as Buffer).length;
    if (n > max) {
      stream.destroy();
      throw tooLong(max);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks, n);
}

/**
 * An object read whole, unbounded (retried as a whole by RetryingStorage). Repository keys are
 * read with readBufferAtMost: what they hold may have been written by someone else.
 */
export function readBuffer(storage: Storage, key: string, opts?: ReadOptions): Promise<Buffer> {
  return storage.load(key, readAll, opts);
}

/**
 * readBuffer of at most `max` bytes (readAtMost): `tooLong(max)` as soon as more arrive. The
 * error should not be a transient StorageError, or RetryingStorage would read it all again.
 */
export function readBufferAtMost(
  storage: Storage,
  key: string,
  max: number,
  tooLong: (max: number) => Error,
  opts?: ReadOptions,
): Promise<Buffer> {
  return storage.load(key, (body) => readAtMost(body, max, tooLong), opts);
}

/** Bytes [offset, offset + length) of an object (retried as a whole by RetryingStorage). */
export function readRangeBuffer(
  storage: Storage,
  key: string,
  offset: number,
  length: number,
  opts?: ReadOptions,
): Promise<Buffer> {
  return storage.loadRange(key, offset, length, readAll, opts);
}
