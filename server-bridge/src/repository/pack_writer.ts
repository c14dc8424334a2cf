/**
 * Writes one pack (layout.ts packs/<ab>/<sha256>): small objects' exact bytes back to back in a
 * staging file, hashed as they are written, with the index that says where each one is. Writes go
 * through a buffer (1 MiB by default), so a pack of thousands of tiny objects costs a few dozen
 * write calls instead of a create, a write and a rename each. Nothing is stored here: the caller
 * puts `file` under packKey(packSha) and then the index (pack_store.ts), in that order.
 */
import { closeSync, openSync, rmSync, write as writeCallback, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { promisify } from 'node:util';
import { BridgeError, StorageError } from '../core/errors';
import { diskFullError, isDiskFull } from '../storage/disk_full';
import { MAX_PACKED_OBJECT, TARGET_PACK_OBJECTS, TARGET_PACK_SIZE } from './pack_limits';
import type { PackedObject, PackIndexFile } from './pack_index_file';

const writeAsync = promisify(writeCallback);

/** A finished pack: the staged file (0600, the caller's now), its name and its index. */
export interface FinishedPack {
  packSha: string;
  size: number;
  file: string;
  index: PackIndexFile;
}

export interface PackWriterOptions {
  /** Finished (`full`) at this many bytes; default TARGET_PACK_SIZE. */
  targetSize?: number;
  /** Finished at this many objects; default TARGET_PACK_OBJECTS. */
  targetObjects?: number;
  /** Bytes gathered before each write call; default 1 MiB. */
  bufferSize?: number;
}

/**
 * One pack being written into `stagingDir`. Contract: `sha` must be the SHA-256 of `bytes` (the
 * caller hashed them; readers check every slice against it again); an object over
 * MAX_PACKED_OBJECT is refused (BridgeError INTERNAL, the caller's mistake), an object already in
 * this pack is not written twice (add returns false). Calls must not overlap (one add awaited
 * before the next). Stop adding once `full`, then finish() or abort(); a write that fails leaves
 * the writer unusable (abort it). Disk full: DiskFullError.
 */
export class PackWriter {
  private fd: number | undefined;
  private readonly hash: Hash = createHash('sha256');
  private readonly buffer: Buffer;
  private buffered = 0;
  private written = 0;
  private readonly objects: PackedObject[] = [];
  private readonly shas = new Set<string>();
  private busy = false;
  private readonly targetSize: number;
  private readonly targetObjects: number;

  private constructor(
    readonly file: string,
    opts: PackWriterOptions,
  ) {
    this.targetSize = opts.targetSize ?? TARGET_PACK_SIZE;
    this.targetObjects = opts.targetObjects ?? TARGET_PACK_OBJECTS;
    this.buffer = Buffer.allocUnsafe(opts.bufferSize ?? 1024 * 1024);
    try {
      this.fd = openSync(file, 'wx', 0o600);
    } catch (err) {
      throw this.failure(err);
    }
  }

  /** A new, empty pack staged in `stagingDir` (which must exist; only mm-backup writes it). */
  static open(stagingDir: string, opts: PackWriterOptions = {}): PackWriter {
    return new PackWriter(path.join(stagingDir, `pack-${process.pid}-${randomBytes(8).toString('hex')}`), opts);
  }

  /** Bytes in the pack so far. */
  get size(): number {
    return this.written + this.buffered;
  }

  get count(): number {
    return this.objects.length;
  }

  /** True once the pack reached its target size or object count: finish it and start another. */
  get full(): boolean {
    return this.size >= this.targetSize || this.objects.length >= this.targetObjects;
  }

  /** Whether object `sha` is in this pack already. */
  has(sha: string): boolean {
    return this.shas.has(sha);
  }

  /** Appends an object with synchronous writes (the backup's synchronous bursts); false when already in this pack. */
  addSync(sha: string, bytes: Buffer): boolean {
    if (!this.accept(sha, bytes)) return false;
    if (this.buffered + bytes.length > this.buffer.length) this.flushSync();
    this.append(sha, bytes);
    return true;
  }

  /** addSync with the write awaited (off the event loop). */
  async add(sha: string, bytes: Buffer): Promise<boolean> {
    if (!this.accept(sha, bytes)) return false;
    this.busy = true;
    try {
      if (this.buffered + bytes.length > this.buffer.length) await this.flush();
      this.append(sha, bytes);
    } finally {
      this.busy = false;
    }
    return true;
  }

  /** Writes what is buffered, closes the file and returns the pack; the file is then the caller's. */
  async finish(): Promise<FinishedPack> {
    this.assertUsable();
    if (this.objects.length === 0) throw new BridgeError('INTERNAL', 'an empty pack cannot be finished');
    this.busy = true;
    try {
      await this.flush();
    } finally {
      this.busy = false;
    }
    return this.close();
  }

  /** finish() with synchronous calls. */
  finishSync(): FinishedPack {
    this.assertUsable();
    if (this.objects.length === 0) throw new BridgeError('INTERNAL', 'an empty pack cannot be finished');
    this.flushSync();
    return this.close();
  }

  /** Closes and removes the staged file (safe to call after a failure, or twice). */
  async abort(): Promise<void> {
    this.closeFd();
    await rm(this.file, { force: true });
  }

  /** abort() with synchronous calls. */
  abortSync(): void {
    this.closeFd();
    rmSync(this.file, { force: true });
  }

  private accept(sha: string, bytes: Buffer): boolean {
    this.assertUsable();
    if (bytes.length > MAX_PACKED_OBJECT) {
      throw new BridgeError(
        'INTERNAL',
        `object ${sha.slice(0, 12)}… is ${bytes.length} bytes, more than the ${MAX_PACKED_OBJECT} a pack holds`,
      );
    }
    return !this.shas.has(sha);
  }

  private assertUsable(): void {
    if (this.fd === undefined) throw new BridgeError('INTERNAL', 'this pack is finished, aborted or failed');
    if (this.busy) throw new BridgeError('INTERNAL', 'pack writes must not overlap (await each add)');
  }

  /** Copies into the buffer, or for an object larger than the buffer (a small buffer) writes it through. */
  private append(sha: string, bytes: Buffer): void {
    const offset = this.size;
    if (bytes.length > this.buffer.length) this.writeOut(bytes);
    else {
      bytes.copy(this.buffer, this.buffered);
      this.buffered += bytes.length;
    }
    this.hash.update(bytes);
    this.objects.push({ sha256: sha, offset, size: bytes.length });
    this.shas.add(sha);
  }

  private writeOut(bytes: Buffer): void {
    this.flushSync();
    let done = 0;
    try {
      while (done < bytes.length) done += writeSync(this.fd as number, bytes, done, bytes.length - done);
    } catch (err) {
      throw this.failure(err);
    }
    this.written += bytes.length;
  }

  private flushSync(): void {
    let done = 0;
    try {
      while (done < this.buffered) done += writeSync(this.fd as number, this.buffer, done, this.buffered - done);
    } catch (err) {
      throw this.failure(err);
    }
    this.written += this.buffered;
    this.buffered = 0;
  }

  private async flush(): Promise<void> {
    let done = 0;
    try {
      while (done < this.buffered) {
        done += (await writeAsync(this.fd as number, this.buffer, done, this.buffered - done)).bytesWritten;
      }
    } catch (err) {
      throw this.failure(err);
    }
    this.written += this.buffered;
    this.buffered = 0;
  }

  private close(): FinishedPack {
    this.closeFd();
    const packSha = this.hash.digest('hex');
    return {
      packSha,
      size: this.written,
      file: this.file,
      index: { pack: packSha, size: this.written, objects: this.objects },
    };
  }

  private closeFd(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    closeSync(fd);
  }

  /** A failed write leaves the file in an unknown state: the writer is closed, abort() removes the file. */
  private failure(err: unknown): Error {
    this.closeFd();
    if (isDiskFull(err)) return diskFullError(err, path.dirname(this.file), 'a pack', this.size);
    if (err instanceof BridgeError) return err;
    const code = (err as NodeJS.ErrnoException).code ?? '';
    return new StorageError(`cannot write a pack in ${path.dirname(this.file)}: ${code || (err as Error).message}`, {
      cause: err,
      hint: 'check that the repository (or the staging directory) exists, is writable, and that its disk is healthy',
    });
  }
}
