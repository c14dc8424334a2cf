/**
 * Object names (32-byte SHA-256s) kept on local disk instead of in memory, for lookups that hold
 * only a short prefix of each name and read the whole name back when a prefix matches (a million
 * names: 32 MB less memory). The file is made 0600 in the process's spool directory and unlinked
 * at once, so nothing is left on disk whatever becomes of the process; its descriptor is closed by
 * close(), or when the NameFile is collected (an owner that is simply dropped leaks nothing).
 */
import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { spoolDirSync } from '../manifest/spool_dir';
import { diskFullError, isDiskFull } from '../storage/disk_full';

export const NAME_BYTES = 32;
const BUFFER = 1 << 20;

const descriptors = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    /* already closed */
  }
});

/**
 * Contract: append() gives each name its number (0, 1, …, in order); equals(i, key) says whether
 * name i is `key` (32 bytes). Sync; not for use after close() (equals is then false). Appends are
 * buffered and written before the next read; a full disk is a DiskFullError.
 */
export class NameFile {
  private fd: number | undefined;
  private written = 0;
  private buffered = 0;
  private buffer: Buffer | undefined;
  private readonly one = Buffer.alloc(NAME_BYTES);

  constructor() {
    const dir = spoolDirSync();
    const file = path.join(dir, `names-${randomBytes(8).toString('hex')}`);
    const fd = openSync(file, 'wx+', 0o600);
    rmSync(file, { force: true });
    this.fd = fd;
    descriptors.register(this, fd, this);
  }

  /** Names appended so far. */
  get count(): number {
    return this.written + this.buffered / NAME_BYTES;
  }

  /** Appends `name` (32 bytes of `bytes` from `at`) and returns its number. */
  append(bytes: Buffer, at = 0): number {
    const n = this.count;
    bytes.copy(this.room(), this.buffered, at, at + NAME_BYTES);
    this.buffered += NAME_BYTES;
    return n;
  }

  /** Appends a name given in hex (64 lowercase digits, checked by the caller) and returns its number. */
  appendHex(sha256: string): number {
    const n = this.count;
    this.room().write(sha256, this.buffered, NAME_BYTES, 'hex');
    this.buffered += NAME_BYTES;
    return n;
  }

  /** Whether name `i` is `key` (the 32 bytes of `key` from `at`). */
  equals(i: number, key: Buffer, at = 0): boolean {
    if (this.fd === undefined || i >= this.count) return false;
    if (this.buffered > 0) this.flush();
    const got = readSync(this.fd, this.one, 0, NAME_BYTES, i * NAME_BYTES);
    return got === NAME_BYTES && this.one.compare(key, at, at + NAME_BYTES) === 0;
  }

  /** Name `i` in hex (for a caller that reports names). */
  hex(i: number): string {
    if (this.fd === undefined || i >= this.count) throw new RangeError(`no name ${i}`);
    if (this.buffered > 0) this.flush();
    readSync(this.fd, this.one, 0, NAME_BYTES, i * NAME_BYTES);
    return this.one.toString('hex');
  }

  /** Writes what is buffered; the buffer is let go (a finished index appends no more). */
  flush(): void {
    if (this.fd === undefined || !this.buffer) return;
    const at = this.written * NAME_BYTES;
    try {
      for (let off = 0; off < this.buffered;) {
        off += writeSync(this.fd, this.buffer, off, this.buffered - off, at + off);
      }
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      const dir = spoolDirSync();
      throw diskFullError(err, dir, 'a list of object names', undefined, `the temporary directory (${dir})`);
    }
    this.written += this.buffered / NAME_BYTES;
    this.buffered = 0;
    this.buffer = undefined;
  }

  private room(): Buffer {
    if (this.buffered === BUFFER) this.flush();
    this.buffer ??= Buffer.allocUnsafe(BUFFER);
    return this.buffer;
  }

  /** Closes the file (it was never visible); more than once is fine. */
  close(): void {
    if (this.fd === undefined) return;
    descriptors.unregister(this);
    closeSync(this.fd);
    this.fd = undefined;
    this.buffer = undefined;
    this.buffered = 0;
  }
}
