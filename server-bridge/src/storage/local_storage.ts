/**
 * A directory on local disk. Writes go to a temp file in <root>/tmp, are fsynced and renamed
 * into place (then the directory is fsynced), so a crash never leaves a half-written object.
 * A consumed file body already in tmp/ is renamed as it is (the repository's staged objects,
 * made durable together by one sync of the filesystem before the manifest is committed).
 */
import {
  closeSync,
  existsSync,
  constants as fsConstants,
  createWriteStream,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { copyFile, lstat, mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { NotFoundError, NotRegularFileError, PreconditionError, StorageError } from '../core/errors';
import {
  assertKey,
  isFileBody,
  type Body,
  type ObjectInfo,
  type RangeReaderSync,
  type ReadOptions,
  type Storage,
  type StorageInfo,
} from './storage';
import { consumeSource, openBody } from './body';
import { diskFullError, isDiskFull } from './disk_full';
import { assertRange, OutOfRangeError, sliceStream } from './range';

/** The temp directory under the root, on the same filesystem: never a key. */
export const TEMP_DIR = 'tmp';

const PERMANENT = new Set(['ENOSPC', 'EACCES', 'EPERM', 'EROFS', 'EDQUOT']);

/**
 * How the checked reads open an object: whoever can write the repository may have put a FIFO, a
 * device or a link where an object was, so never follow a link and never block on opening (a
 * FIFO would hang the event loop, or a thread of libuv's pool); the caller then refuses anything
 * but a regular file. O_NONBLOCK changes nothing for reads of a regular file.
 */
const CHECKED_OPEN = fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK;

export class LocalStorage implements Storage {
  private constructor(readonly root: string) {}

  /** Opens (creating if needed) a local storage rooted at `root`. */
  static async open(root: string): Promise<LocalStorage> {
    try {
      await mkdir(root, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw wrap(err, `cannot create repository directory ${root}`);
    }
    const storage = new LocalStorage(root);
    await storage.checkTempDir(true);
    return storage;
  }

  /**
   * tmp/ is emptied by every job; were it a symlink, that would empty whatever it points at
   * (someone else's directory), so anything but a real directory is refused before use.
   */
  private async checkTempDir(create = false): Promise<void> {
    const dir = this.tempDir();
    let st;
    try {
      st = await lstat(dir);
    } catch (err) {
      if (!create || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw wrap(err, `cannot stat ${dir}`);
      await mkdir(dir, { mode: 0o700 }).catch((e: unknown) => {
        throw wrap(e, `cannot create ${dir}`);
      });
      return;
    }
    if (!st.isDirectory()) {
      throw new PreconditionError(
        'PRECONDITION_FAILED',
        `${dir} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a directory'}: mm-backup keeps its temporary files there and empties it, so it must be a real directory inside the repository`,
        {
          hint: `remove ${dir} (the link only, not what it points at); mm-backup creates the directory itself`,
        },
      );
    }
  }

  readSmallSync(key: string, maxBytes: number): Buffer {
    const file = this.file(key);
    let fd: number | undefined;
    try {
      // Never follow, never block (CHECKED_OPEN), and read a regular file of at most maxBytes:
      // the object may have been replaced by a huge file too.
      fd = openSync(file, CHECKED_OPEN);
      const st = fstatSync(fd);
      if (!st.isFile()) throw new NotRegularFileError(key, 'not a regular file');
      if (st.size > maxBytes) {
        throw new StorageError(`cannot read ${key}: ${st.size} bytes, more than the ${maxBytes} expected`, {
          permanent: true,
        });
      }
      const buf = Buffer.allocUnsafe(st.size);
      let done = 0;
      while (done < buf.length) {
        const n = readSync(fd, buf, done, buf.length - done, done);
        if (n === 0) break;
        done += n;
      }
      return buf.subarray(0, done);
    } catch (err) {
      throw checkedOpenError(err, key);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  /** loadRange with synchronous calls (pread), refusing what readSmallSync refuses. */
  readRangeSync(key: string, offset: number, length: number): Buffer {
    assertRange(offset, length);
    if (length === 0) return Buffer.alloc(0);
    const reader = this.openRangeSync(key);
    try {
      return reader.read(offset, length);
    } finally {
      reader.close();
    }
  }

  /** The key opened as readSmallSync opens it (no link, no FIFO, a regular file), for preads. */
  openRangeSync(key: string): RangeReaderSync {
    const file = this.file(key);
    let fd: number | undefined;
    let size: number;
    try {
      fd = openSync(file, CHECKED_OPEN);
      const st = fstatSync(fd);
      if (!st.isFile()) throw new NotRegularFileError(key, 'not a regular file');
      size = st.size;
    } catch (err) {
      if (fd !== undefined) closeSync(fd);
      throw checkedOpenError(err, key);
    }
    const handle = fd;
    return {
      size,
      read(offset: number, length: number): Buffer {
        assertRange(offset, length);
        if (offset + length > size) throw new OutOfRangeError(key, offset, length, size);
        const buf = Buffer.allocUnsafe(length);
        try {
          for (let done = 0; done < length;) {
            const n = readSync(handle, buf, done, length - done, offset + done);
            // Shorter than fstat said: the file was cut while being read (keys never change size).
            if (n === 0) throw shortRead(key, offset, length, done);
            done += n;
          }
        } catch (err) {
          throw checkedOpenError(err, key);
        }
        return buf;
      },
      close(): void {
        closeSync(handle);
      },
    };
  }

  storeSmallSync(key: string, bytes: Buffer): boolean {
    const dest = this.file(key);
    try {
      if (lstatSync(dest, { throwIfNoEntry: false })?.isFile()) return false;
    } catch (err) {
      throw wrap(err, `cannot stat ${key}`);
    }
    const tmp = this.tempName();
    try {
      writeFileSync(tmp, bytes, { mode: 0o600, flag: 'wx' });
      mkdirSync(path.dirname(dest), { recursive: true, mode: 0o700 });
      renameSync(tmp, dest);
      return true;
    } catch (err) {
      rmSync(tmp, { force: true });
      throw this.writeError(err, key);
    }
  }

  describe(): StorageInfo {
    return { kind: 'local', location: this.root, local: { root: this.root, tempDir: this.tempDir() } };
  }

  /**
   * A write that meets ENOENT lost a directory of ours (tmp/, or the whole repository) while the
   * source was already open: the repository's failure, never "not found", which a caller could
   * take for a key or a source file that vanished.
   */
  private writeError(err: unknown, key: string, sourceFile?: string): Error {
    const ours = (err as NodeJS.ErrnoException).code === 'ENOENT' && (!sourceFile || existsSync(sourceFile));
    if (!ours) return wrap(err, `cannot write ${key}`, this.root, key);
    return new StorageError(`cannot write ${key}: ENOENT: ${this.tempDir()} or the key's directory is missing`, {
      cause: err,
      permanent: true,
      hint: 'check that the repository directory and its tmp/ directory exist (something removed them while mm-backup was writing)',
    });
  }

  /**
   * A consumed file that could not be renamed into place. ENOENT is never "not found" (a put has
   * no key to miss, and callers take NotFoundError for a missing object): the staged file is gone
   * (it, or tmp/ where the repository stages, removed meanwhile) or the key's directory is.
   */
  private consumeError(err: unknown, key: string, file: string): Error {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return wrap(err, `cannot store ${key}`, this.root, key);
    if (existsSync(file)) return this.writeError(err, key);
    return new StorageError(`cannot store ${key}: the file to store (${file}) is gone`, {
      cause: err,
      permanent: true,
      hint: "something removed it (or the directory it was staged in, such as the repository's tmp/) while mm-backup was writing; run the job again",
    });
  }

  /** Where puts write before their rename (and the repository stages): never listed as keys. */
  private tempDir(): string {
    return path.join(this.root, TEMP_DIR);
  }

  private file(key: string): string {
    assertKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  private tempName(): string {
    return path.join(this.tempDir(), `put-${process.pid}-${randomBytes(8).toString('hex')}`);
  }

  /**
   * A consumed file on this filesystem is renamed into place as it is (its durability is the
   * caller's); any other file is copied in the kernel (copy_file_range, reflinks), other bodies
   * streamed; those are fsynced before the rename and the directory after it.
   */
  async put(key: string, body: Body, opts: { signal?: AbortSignal } = {}): Promise<void> {
    const dest = this.file(key);
    if (isFileBody(body) && body.consume) {
      try {
        await mkdir(path.dirname(dest), { recursive: true, mode: 0o700 });
        await rename(body.file, dest);
        return;
      } catch (err) {
        // Another filesystem (EXDEV): copied below, and the file removed once stored.
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw this.consumeError(err, key, body.file);
      }
    }
    const tmp = this.tempName();
    let sourceError: unknown;
    try {
      if (isFileBody(body)) await copyFile(body.file, tmp);
      else {
        const source = openBody(body);
        source.once('error', (e) => {
          sourceError = e;
        });
        await pipeline(source, createWriteStream(tmp, { mode: 0o600 }), { signal: opts.signal });
      }
      await this.commit(tmp, dest);
    } catch (err) {
      await rm(tmp, { force: true });
      // A broken source is the caller's error, not the disk's: never retried.
      if (sourceError && !opts.signal?.aborted) {
        throw new StorageError(`cannot write ${key}: its source failed: ${(sourceError as Error).message}`, {
          cause: sourceError,
          permanent: true,
        });
      }
      throw this.writeError(err, key, isFileBody(body) ? body.file : undefined);
    }
    if (isFileBody(body) && body.consume) await rm(body.file, { force: true });
  }

  /** fsync the temp file, rename it over the key, fsync the directory. */
  private async commit(tmp: string, dest: string): Promise<void> {
    const fh = await open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await mkdir(path.dirname(dest), { recursive: true, mode: 0o700 });
    await rename(tmp, dest);
    const dir = await open(path.dirname(dest), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  async get(key: string): Promise<Readable> {
    const file = this.file(key);
    let fh: FileHandle | undefined;
    try {
      // Opened as loadRange opens: whoever can write the repository may leave a link (to a file
      // outside it, or an endless /dev/zero) or a FIFO (an open that never returns, holding a thread).
      fh = await open(file, CHECKED_OPEN);
      if (!(await fh.stat()).isFile()) {
        throw new NotRegularFileError(key, 'not a regular file');
      }
      return fh.createReadStream();
    } catch (err) {
      await fh?.close();
      throw checkedOpenError(err, key);
    }
  }

  async load<T>(key: string, consume: (body: Readable) => Promise<T>, opts: ReadOptions = {}): Promise<T> {
    // A read error of the disk is the storage's (retryable when transient), not the consumer's.
    return consumeSource(await this.get(key), consume, opts.signal, (e) => wrap(e, `cannot read ${key}`));
  }

  /**
   * The file opened as readSmallSync opens it (no link followed, no FIFO waited on, nothing but a
   * regular file read), then a read stream of the range: the kernel reads only those bytes.
   */
  async loadRange<T>(
    key: string,
    offset: number,
    length: number,
    consume: (body: Readable) => Promise<T>,
    opts: ReadOptions = {},
  ): Promise<T> {
    const file = this.file(key);
    assertRange(offset, length);
    if (length === 0) return consume(Readable.from([]));
    let fh: FileHandle | undefined;
    try {
      fh = await open(file, CHECKED_OPEN);
      const st = await fh.stat();
      if (!st.isFile()) throw new NotRegularFileError(key, 'not a regular file');
      if (offset + length > st.size) throw new OutOfRangeError(key, offset, length, st.size);
    } catch (err) {
      await fh?.close();
      throw checkedOpenError(err, key);
    }
    const stream = fh.createReadStream({ start: offset, end: offset + length - 1 });
    return consumeSource(
      sliceStream(stream, 0, length, (done) => shortRead(key, offset, length, done)),
      consume,
      opts.signal,
      (e) => wrap(e, `cannot read ${key}`),
    );
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    try {
      // lstat: a link is no object (reads refuse it), so a backup stores the content again over it.
      const st = await lstat(this.file(key));
      return st.isFile() ? { key, size: st.size } : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw wrap(err, `cannot stat ${key}`);
    }
  }

  statSync(key: string): ObjectInfo | undefined {
    try {
      const st = lstatSync(this.file(key), { throwIfNoEntry: false });
      return st?.isFile() ? { key, size: st.size } : undefined;
    } catch (err) {
      throw wrap(err, `cannot stat ${key}`);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const base = prefix.replace(/\/+$/, '');
    if (base) assertKey(base);
    yield* this.walk(base);
  }

  private async *walk(rel: string): AsyncIterable<ObjectInfo> {
    let names: string[];
    try {
      names = (await readdir(rel ? this.file(rel) : this.root)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
      throw wrap(err, `cannot list ${rel || '/'}`);
    }
    for (const name of names) {
      if (!rel && name === TEMP_DIR) continue;
      const key = rel ? `${rel}/${name}` : name;
      // A linked file is no object (as for stat()); a linked directory is still walked.
      let st = await lstat(this.file(key)).catch(() => undefined);
      if (st?.isSymbolicLink()) {
        const target = await stat(this.file(key)).catch(() => undefined);
        st = target?.isDirectory() ? target : undefined;
      }
      if (!st) continue;
      if (st.isDirectory()) yield* this.walk(key);
      else if (st.isFile()) yield { key, size: st.size };
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.file(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw wrap(err, `cannot delete ${key}`);
    }
  }

  /** Empties the temp directory (interrupted puts, the repository's staging); only under the job lock. */
  async cleanup(): Promise<number> {
    await this.checkTempDir();
    const dir = this.tempDir();
    const names = await readdir(dir).catch(() => [] as string[]);
    await Promise.all(names.map((n) => rm(path.join(dir, n), { force: true, recursive: true })));
    return names.length;
  }
}

/** A read through CHECKED_OPEN that failed: a link is named as such, the rest as any read error. */
function checkedOpenError(err: unknown, key: string): Error {
  if ((err as NodeJS.ErrnoException).code === 'ELOOP') {
    return new NotRegularFileError(key, 'a symbolic link', { cause: err });
  }
  return wrap(err, `cannot read ${key}`);
}

/** The file ended before the range did although fstat said it holds it: cut meanwhile, so worth another try. */
function shortRead(key: string, offset: number, length: number, done: number): StorageError {
  return new StorageError(
    `cannot read bytes ${offset}-${offset + length - 1} of ${key}: the file ended after ${done} of them (cut while being read)`,
  );
}

function wrap(err: unknown, message: string, root?: string, what?: string): Error {
  if (err instanceof StorageError || err instanceof NotFoundError) return err;
  if (root && isDiskFull(err)) return diskFullError(err, root, what ?? message);
  if (err instanceof TypeError) return new StorageError(`${message}: ${err.message}`, { cause: err, permanent: true });
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (code === 'ENOENT') return new NotFoundError(`${message}: not found`, { cause: err });
  if (code === 'ABORT_ERR' || (err as Error).name === 'AbortError') return err as Error;
  return new StorageError(`${message}: ${code || (err as Error).message}`, {
    cause: err,
    permanent: PERMANENT.has(code),
    hint: 'check that the repository directory exists, is a writable directory tree, and that its disk is healthy',
  });
}
