/**
 * Where a repository's bytes live (a local directory now, S3 later). Keys are relative,
 * slash-separated and validated. Contract, shared by every implementation and checked by one
 * contract test suite:
 * - put/putFile are atomic: a key is visible complete or not at all, even if interrupted;
 * - get/stat of a missing key: NotFoundError / undefined; delete of a missing key succeeds;
 * - list yields each key under the prefix exactly once, in lexical order.
 */
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  key: string;
  size: number;
}

export interface Storage {
  /** "local" or "s3", and a location for humans (never credentials). */
  describe(): { kind: string; location: string };
  put(key: string, body: Readable | Buffer, opts?: { signal?: AbortSignal }): Promise<void>;
  /**
   * Stores a local file under `key`; with `move` the file may be consumed (renamed). With
   * `deferSync` the write is atomic but only durable after the next flush().
   */
  putFile(key: string, file: string, opts?: { signal?: AbortSignal; move?: boolean; deferSync?: boolean }): Promise<void>;
  /** Makes every completed put durable; called once before a manifest is committed. */
  flush(): Promise<void>;
  get(key: string, opts?: { signal?: AbortSignal }): Promise<Readable>;
  /** Copies the object into a local file (atomically replacing it). */
  getFile(key: string, dest: string, opts?: { signal?: AbortSignal }): Promise<void>;
  stat(key: string): Promise<ObjectInfo | undefined>;
  list(prefix: string): AsyncIterable<ObjectInfo>;
  delete(key: string): Promise<void>;
  /** A local directory on the same filesystem where staged files can be renamed into place. */
  stagingDir(): string | undefined;
  /** Removes what interrupted writes left (temp files, incomplete uploads); only under the job lock. */
  cleanStaging?(): Promise<number>;
  /** Free and total bytes where the data lands, when knowable. */
  space(): Promise<{ free: number; total: number } | undefined>;
}

const KEY = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

/** Rejects keys that could escape the storage root or are not portable across backends. */
export function assertKey(key: string): void {
  if (!KEY.test(key) || key.split('/').some((p) => p === '.' || p === '..')) {
    throw new TypeError(`invalid storage key ${JSON.stringify(key)}`);
  }
}
