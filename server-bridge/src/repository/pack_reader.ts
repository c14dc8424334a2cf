/**
 * Reads objects out of a pack that is a local file (a local repository's packs/<ab>/<sha256>):
 * one open per pack, one pread per object, every slice checked against the SHA-256 its index
 * gives. A bucket's packs are read by ranged loads through the storage (not here).
 */
import { closeSync, constants as fsConstants, fstatSync, openSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { StorageError, VerificationError } from '../core/errors';

/** The pack or a slice of it is not what its index says: the pack is damaged (or was replaced). */
export class PackDamagedError extends VerificationError {
  constructor(pack: string, problem: string) {
    super(`pack ${pack.slice(0, 12)}… is damaged: ${problem}`, [{ component: 'pack', object: pack, problem }], {
      hint: 'the repository was damaged or changed by someone else; run mm-backup verify',
    });
  }
}

/**
 * An open pack file. Contract: open() refuses a link, anything but a regular file, and a file whose
 * size is not the index's `size` (truncated or grown: PackDamagedError); readSync(sha, offset, size)
 * returns exactly those bytes, or throws PackDamagedError when they are short or hash to another
 * SHA-256. close() once done (also after an error).
 */
export class PackFileReader {
  private constructor(
    private fd: number | undefined,
    readonly pack: string,
  ) {}

  static open(file: string, pack: string, size: number): PackFileReader {
    let fd: number | undefined;
    try {
      // Never follow a link, never block on a FIFO someone put there.
      fd = openSync(file, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
      const st = fstatSync(fd);
      if (!st.isFile()) throw new PackDamagedError(pack, 'not a regular file');
      if (st.size !== size) throw new PackDamagedError(pack, `${st.size} bytes, its index says ${size}`);
      return new PackFileReader(fd, pack);
    } catch (err) {
      if (fd !== undefined) closeSync(fd);
      if (err instanceof PackDamagedError) throw err;
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (code === 'ELOOP') throw new PackDamagedError(pack, 'a symbolic link');
      throw new StorageError(`cannot open pack ${pack.slice(0, 12)}…: ${code || (err as Error).message}`, {
        cause: err,
        permanent: code === 'ENOENT' || code === 'EACCES',
      });
    }
  }

  readSync(sha256: string, offset: number, size: number): Buffer {
    if (this.fd === undefined) throw new StorageError(`pack ${this.pack.slice(0, 12)}… is closed`);
    const buf = Buffer.allocUnsafe(size);
    let done = 0;
    while (done < size) {
      const n = readSync(this.fd, buf, done, size - done, offset + done);
      if (n === 0) {
        throw new PackDamagedError(this.pack, `object ${sha256.slice(0, 12)}… is cut short at byte ${done} of ${size}`);
      }
      done += n;
    }
    const actual = createHash('sha256').update(buf).digest('hex');
    if (actual !== sha256) {
      throw new PackDamagedError(
        this.pack,
        `object ${sha256.slice(0, 12)}… does not match its checksum (got ${actual.slice(0, 12)}…)`,
      );
    }
    return buf;
  }

  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    closeSync(fd);
  }
}
