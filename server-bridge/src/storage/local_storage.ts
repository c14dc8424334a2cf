/**
 * A directory on local disk. Writes go to a temp file in <root>/tmp, are fsynced and renamed
 * into place (then the directory is fsynced), so a crash never leaves a half-written object.
 */
import { createWriteStream } from 'node:fs';
import { copyFile, lstat, mkdir, open, readdir, rename, rm, stat, statfs, unlink } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { NotFoundError, PreconditionError, StorageError } from '../core/errors';
import { runProcess } from '../process/run_process';
import { assertKey, type ObjectInfo, type Storage } from './storage';
import { diskFullError, isDiskFull } from './disk_full';

const PERMANENT = new Set(['ENOSPC', 'EACCES', 'EPERM', 'EROFS', 'EDQUOT']);

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
    await storage.checkStaging(true);
    return storage;
  }

  /**
   * tmp/ is emptied by every job; were it a symlink, that would empty whatever it points at
   * (someone else's directory), so anything but a real directory is refused before use.
   */
  private async checkStaging(create = false): Promise<void> {
    const dir = this.stagingDir();
    let st;
    try {
      st = await lstat(dir);
    } catch (err) {
      if (!create || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw wrap(err, `cannot stat ${dir}`);
      await mkdir(dir, { mode: 0o700 }).catch((e: unknown) => { throw wrap(e, `cannot create ${dir}`); });
      return;
    }
    if (!st.isDirectory()) {
      throw new PreconditionError('PRECONDITION_FAILED', `${dir} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a directory'}: mm-backup keeps its temporary files there and empties it, so it must be a real directory inside the repository`, {
        hint: `remove ${dir} (the link only, not what it points at); mm-backup creates the directory itself`,
      });
    }
  }

  describe() {
    return { kind: 'local', location: this.root };
  }

  stagingDir(): string {
    return path.join(this.root, 'tmp');
  }

  private file(key: string): string {
    assertKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  private tempName(): string {
    return path.join(this.root, 'tmp', `put-${process.pid}-${randomBytes(8).toString('hex')}`);
  }

  async put(key: string, body: Readable | Buffer, opts: { signal?: AbortSignal } = {}): Promise<void> {
    const tmp = this.tempName();
    try {
      const source = Buffer.isBuffer(body) ? Readable.from([body]) : body;
      await pipeline(source, createWriteStream(tmp, { mode: 0o600 }), { signal: opts.signal });
      await this.commit(tmp, key);
    } catch (err) {
      await rm(tmp, { force: true });
      throw wrap(err, `cannot write ${key}`, this.root, key);
    }
  }

  async putFile(key: string, file: string, opts: { signal?: AbortSignal; move?: boolean; deferSync?: boolean } = {}): Promise<void> {
    if (opts.move && path.dirname(file) === this.stagingDir()) {
      try {
        await this.commit(file, key, !opts.deferSync);
        return;
      } catch (err) {
        await rm(file, { force: true });
        throw wrap(err, `cannot store ${key}`, this.root, key);
      }
    }
    const tmp = this.tempName();
    try {
      await copyFile(file, tmp);
      await this.commit(tmp, key, !opts.deferSync);
    } catch (err) {
      await rm(tmp, { force: true });
      throw wrap(err, `cannot store ${key}`, this.root, key);
    }
  }

  /** fsync the temp file, rename it over the key, fsync the directory (unless deferred to flush). */
  private async commit(tmp: string, key: string, durable = true): Promise<void> {
    const dest = this.file(key);
    if (durable) {
      const fh = await open(tmp, 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
    await mkdir(path.dirname(dest), { recursive: true, mode: 0o700 });
    await rename(tmp, dest);
    if (!durable) return;
    const dir = await open(path.dirname(dest), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  async get(key: string): Promise<Readable> {
    const file = this.file(key);
    try {
      const fh = await open(file, 'r');
      return fh.createReadStream();
    } catch (err) {
      throw wrap(err, `cannot read ${key}`);
    }
  }

  async getFile(key: string, dest: string): Promise<void> {
    const tmp = path.join(path.dirname(dest), `.${path.basename(dest)}.mmb-${randomBytes(6).toString('hex')}`);
    try {
      await copyFile(this.file(key), tmp);
      await rename(tmp, dest);
    } catch (err) {
      await rm(tmp, { force: true });
      if (isDiskFull(err)) throw diskFullError(err, path.dirname(dest), dest, undefined, `the disk restored to (${path.dirname(dest)})`);
      throw wrap(err, `cannot copy ${key} to ${dest}`);
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    try {
      const st = await stat(this.file(key));
      return st.isFile() ? { key, size: st.size } : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
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
      if (!rel && name === 'tmp') continue;
      const key = rel ? `${rel}/${name}` : name;
      const st = await stat(this.file(key)).catch(() => undefined);
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

  async flush(): Promise<void> {
    // One syncfs of the repository's filesystem instead of an fsync per object: a snapshot of
    // 100k thumbnails would otherwise spend minutes in fsync. Objects are only referenced once
    // the manifest is written, and that happens after this.
    await runProcess('sync', ['-f', this.root]);
  }

  async space(): Promise<{ free: number; total: number }> {
    const s = await statfs(this.root);
    return { free: s.bavail * s.bsize, total: s.blocks * s.bsize };
  }

  /** Removes temp files left by interrupted writes; call only while holding the job lock. */
  async cleanStaging(): Promise<number> {
    await this.checkStaging();
    const dir = this.stagingDir();
    const names = await readdir(dir).catch(() => [] as string[]);
    await Promise.all(names.map((n) => rm(path.join(dir, n), { force: true, recursive: true })));
    return names.length;
  }
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
