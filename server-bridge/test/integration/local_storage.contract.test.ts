/**
 * The storage contract against the local directory, memory, and the decorators over them:
 * retries over a flaky network double (every call's first attempt fails) and age encryption.
 */
import { lstat, mkdir, mkdtemp, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { closeSync, constants as fsConstants, openSync, readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { pipeline, Transform, type Readable } from 'node:stream';
import { ForwardingStorage } from '../../src/storage/forwarding_storage';
import os from 'node:os';
import path from 'node:path';
import { LocalStorage } from '../../src/storage/local_storage';
import { MemoryStorage } from '../../src/storage/memory_storage';
import { RetryingStorage } from '../../src/storage/retrying_storage';
import { EncryptedStorage, IntegrityError } from '../../src/storage/encrypted_storage';
import { generateKeyPair } from '../../src/storage/age';
import { storageContract } from '../support/storage_contract';
import { FlakyStorage } from '../support/flaky_storage';
import { fileBody, readAll, readBuffer, readRangeBuffer, type ReadOptions } from '../../src/storage/storage';
import { OutOfRangeError } from '../../src/storage/range';
import { NotFoundError, StorageError } from '../../src/core/errors';

const fast = { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 };

storageContract('LocalStorage', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'local-storage-'));
  return { storage: await LocalStorage.open(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

storageContract('MemoryStorage', async () => ({ storage: new MemoryStorage(), cleanup: async () => {} }));

storageContract('retrying LocalStorage over a flaky network', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'local-storage-'));
  return {
    storage: new RetryingStorage(new FlakyStorage(await LocalStorage.open(dir)), fast),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

storageContract('retrying MemoryStorage over a flaky network', async () => ({
  storage: new RetryingStorage(new FlakyStorage(new MemoryStorage()), fast),
  cleanup: async () => {},
}));

storageContract('age-encrypted MemoryStorage', async () => {
  const { identity, recipient } = await generateKeyPair();
  return {
    storage: new EncryptedStorage(new MemoryStorage(), { recipients: [recipient], identities: [identity] }),
    cleanup: async () => {},
  };
});

// Over a local directory: the keys are files, but their bytes are ciphertext, so the synchronous
// plain-file read (readSmallSync) must not be offered through the decorator.
storageContract('age-encrypted local directory', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'local-storage-'));
  const { identity, recipient } = await generateKeyPair();
  return {
    storage: new EncryptedStorage(await LocalStorage.open(dir), { recipients: [recipient], identities: [identity] }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

// Someone who can write the repository may leave a FIFO, a link or a huge file where an object
// was: the synchronous read of a restore neither blocks (the sidecar's event loop) nor follows.
test('readSmallSync refuses a FIFO at once, a symbolic link, and a file larger than expected', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'local-storage-'));
  try {
    const storage = await LocalStorage.open(dir);
    await mkdir(path.join(dir, 'objects/ab'), { recursive: true });
    const fifo = spawnSync('mkfifo', [path.join(dir, 'objects/ab/fifo')]);
    expect(fifo.status).toBe(0);
    const t0 = Date.now();
    expect(() => storage.readSmallSync('objects/ab/fifo', 100)).toThrow(/not a regular file/);
    expect(Date.now() - t0).toBeLessThan(1000);
    await writeFile(path.join(dir, 'secret'), 'outside the repository');
    await symlink(path.join(dir, 'secret'), path.join(dir, 'objects/ab/link'));
    expect(() => storage.readSmallSync('objects/ab/link', 100)).toThrow(/symbolic link/);
    await writeFile(path.join(dir, 'objects/ab/big'), Buffer.alloc(5000));
    expect(() => storage.readSmallSync('objects/ab/big', 4096)).toThrow(/5000 bytes, more than the 4096 expected/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

// The ranged reads open objects the same way: a FIFO refused at once (not waited on, neither on
// the event loop nor in libuv's thread pool), a link refused rather than followed.
test('loadRange and readRangeSync refuse a FIFO at once and a symbolic link', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'local-storage-'));
  try {
    const storage = await LocalStorage.open(dir);
    await mkdir(path.join(dir, 'packs'), { recursive: true });
    expect(spawnSync('mkfifo', [path.join(dir, 'packs/fifo')]).status).toBe(0);
    const t0 = Date.now();
    expect(() => storage.readRangeSync('packs/fifo', 0, 10)).toThrow(/not a regular file/);
    await expect(readRangeBuffer(storage, 'packs/fifo', 0, 10)).rejects.toMatchObject({
      message: expect.stringMatching(/not a regular file/),
      permanent: true,
    });
    expect(Date.now() - t0).toBeLessThan(1000);
    await writeFile(path.join(dir, 'secret'), 'outside the repository');
    await symlink(path.join(dir, 'secret'), path.join(dir, 'packs/link'));
    expect(() => storage.readRangeSync('packs/link', 0, 5)).toThrow(/symbolic link/);
    expect(() => storage.openRangeSync('packs/link')).toThrow(/symbolic link/);
    expect(() => storage.openRangeSync('packs/fifo')).toThrow(/not a regular file/);
    await expect(readRangeBuffer(storage, 'packs/link', 0, 5)).rejects.toMatchObject({
      message: expect.stringMatching(/symbolic link/),
      permanent: true,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a linked file is no object: stat, statSync and list leave it out, a store replaces the link; a linked directory is still listed', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'local-storage-'));
  try {
    const storage = await LocalStorage.open(path.join(dir, 'repo'));
    await writeFile(path.join(dir, 'secret'), 'outside the repository');
    await mkdir(path.join(dir, 'repo', 'objects', 'ab'), { recursive: true });
    const link = path.join(dir, 'repo', 'objects', 'ab', 'linked');
    await symlink(path.join(dir, 'secret'), link);
    expect(await storage.stat('objects/ab/linked')).toBeUndefined();
    expect(storage.statSync('objects/ab/linked')).toBeUndefined();
    // A backup of that content stores it again, over the link (never through it).
    expect(storage.storeSmallSync('objects/ab/linked', Buffer.from('the object'))).toBe(true);
    expect((await lstat(link)).isFile()).toBe(true);
    expect(await readFile(path.join(dir, 'secret'), 'utf8')).toBe('outside the repository');
    // A shard directory that is a link (moved to another disk) is still listed; a linked file is not.
    await mkdir(path.join(dir, 'elsewhere'));
    await writeFile(path.join(dir, 'elsewhere', 'obj'), 'x');
    await symlink(path.join(dir, 'elsewhere'), path.join(dir, 'repo', 'objects', 'cd'));
    await symlink(path.join(dir, 'secret'), path.join(dir, 'repo', 'objects', 'ab', 'linked2'));
    const keys: string[] = [];
    for await (const o of storage.list('objects')) keys.push(o.key);
    expect(keys).toEqual(['objects/ab/linked', 'objects/cd/obj']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

// Whole reads too (repository.json, signatures, index files, objects streamed to a restore): a
// FIFO left there would block the open for ever, in one of libuv's four threads.
test('get and load refuse a FIFO at once and a symbolic link', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'local-storage-'));
  const fifo = path.join(dir, 'repository.json');
  try {
    const storage = await LocalStorage.open(dir);
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const within = <T>(p: Promise<T>) =>
      Promise.race([p, new Promise((resolve) => setTimeout(() => resolve('still waiting after 2 s'), 2000))]);
    await expect(within(storage.get('repository.json').catch((e: unknown) => e))).resolves.toMatchObject({
      message: 'cannot read repository.json: not a regular file',
      permanent: true,
    });
    await expect(within(readBuffer(storage, 'repository.json').catch((e: unknown) => e))).resolves.toMatchObject({
      message: 'cannot read repository.json: not a regular file',
    });
    await rm(fifo);
    await writeFile(path.join(dir, 'secret'), 'outside the repository');
    await symlink(path.join(dir, 'secret'), fifo);
    await expect(readBuffer(storage, 'repository.json')).rejects.toMatchObject({
      message: 'cannot read repository.json: a symbolic link',
      permanent: true,
    });
    await expect(readBuffer(storage, 'missing.json')).rejects.toBeInstanceOf(NotFoundError);
  } finally {
    // Without the check, the opens above still wait for a writer: give them one, so they end.
    for (let i = 0; i < 2; i++) {
      try {
        closeSync(openSync(fifo, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK));
      } catch {
        /* no reader waiting (or no FIFO): nothing to release */
      }
    }
    await rm(dir, { recursive: true, force: true });
  }
});

test('loadRange leaves no file descriptor open, also when the consumer fails before reading', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'local-storage-'));
  try {
    const storage = await LocalStorage.open(dir);
    await storage.put('packs/p', Buffer.alloc(300_000, 7));
    const openFds = () => readdirSync('/proc/self/fd').length;
    const before = openFds();
    for (let i = 0; i < 50; i++) {
      await expect(
        storage.loadRange('packs/p', 1000, 200_000, () => Promise.reject(new Error('consumer gave up'))),
      ).rejects.toThrow('consumer gave up');
      // A consumer that reads part of the range and stops.
      await storage.loadRange('packs/p', 0, 200_000, async (s) => {
        for await (const _ of s) break;
      });
    }
    // Closing is asynchronous: give the streams' closes a moment.
    await new Promise((r) => setTimeout(r, 200));
    expect(openFds()).toBeLessThanOrEqual(before);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** Counts the stored (encrypted) bytes a load pulls from the real storage under it. */
class CountingStorage extends ForwardingStorage {
  pulled = 0;

  override load<T>(key: string, consume: (body: Readable) => Promise<T>, opts?: ReadOptions): Promise<T> {
    return this.inner.load(
      key,
      (source) => {
        const counted = new Transform({
          transform: (c: Buffer, _enc, done) => {
            this.pulled += c.length;
            done(null, c);
          },
        });
        // pipeline: destroying what the consumer holds destroys the source too.
        pipeline(source, counted, () => {});
        return consume(counted);
      },
      opts,
    );
  }
}

test('an encrypted range is decrypted from the start and stops there: a range near the start of 4 MiB reads little of it', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'local-storage-'));
  try {
    const { identity, recipient } = await generateKeyPair();
    const counting = new CountingStorage(await LocalStorage.open(dir));
    const enc = new EncryptedStorage(counting, { recipients: [recipient], identities: [identity] });
    const body = randomBytes(4 * 1024 * 1024);
    await enc.put('packs/p', body);

    expect((await readRangeBuffer(enc, 'packs/p', 100_000, 1000)).equals(body.subarray(100_000, 101_000))).toBe(true);
    // Up to offset + length, rounded to age's 64 KiB chunks, plus what the streams had buffered.
    expect(counting.pulled).toBeGreaterThan(101_000);
    expect(counting.pulled).toBeLessThan(1024 * 1024);

    counting.pulled = 0;
    expect((await readRangeBuffer(enc, 'packs/p', body.length - 1000, 1000)).equals(body.subarray(-1000))).toBe(true);
    expect(counting.pulled).toBeGreaterThan(body.length);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an encrypted key holding an age header line of 200 MB is refused after a few MiB, not read whole', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'local-storage-'));
  try {
    const { identity, recipient } = await generateKeyPair();
    const counting = new CountingStorage(await LocalStorage.open(dir));
    const enc = new EncryptedStorage(counting, { recipients: [recipient], identities: [identity] });
    // Someone who can write the bucket: a valid first line, then one line of 200 MB (sparse zeros).
    const file = path.join(dir, 'index', 'p.json');
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, 'age-encryption.org/v1\n-> X25519 ');
    await truncate(file, 200_000_000);
    const err = await readBuffer(enc, 'index/p.json').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as Error).message).toMatch(
      /index\/p\.json is not an age file this repository wrote: more than 4194304 bytes/,
    );
    expect(counting.pulled).toBeLessThan(8 * 1024 * 1024);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a file cut after loadRange checked its size is a transient failure, and a retry reports the range past the new end', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'local-storage-'));
  try {
    const storage = await LocalStorage.open(dir);
    await storage.put('packs/p', randomBytes(300_000));
    // The file is cut in the consumer: after the size check, before the range is read.
    const err = await storage
      .loadRange('packs/p', 100_000, 150_000, async (s) => {
        await truncate(path.join(dir, 'packs/p'), 120_000);
        return readAll(s);
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(StorageError);
    expect(err).not.toBeInstanceOf(OutOfRangeError);
    expect(err).toMatchObject({ permanent: false, message: expect.stringMatching(/ended after 20000 of them/) });
    await expect(readRangeBuffer(storage, 'packs/p', 100_000, 150_000)).rejects.toMatchObject({
      permanent: true,
      size: 120_000,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

// A consumed put whose staged file is gone (it, or tmp/ holding it, was removed meanwhile) is a
// failure of the write, never NotFoundError: callers take that for a missing object.
test('a consumed put whose staged file vanished is a StorageError naming that file, not "not found"', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'local-storage-'));
  try {
    const storage = await LocalStorage.open(dir);
    const staged = path.join(dir, 'tmp', 'staged-object');
    const err = await storage.put('objects/ab/abcd', fileBody(staged, { consume: true })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect(err).not.toBeInstanceOf(NotFoundError);
    expect((err as StorageError).message).toBe(`cannot store objects/ab/abcd: the file to store (${staged}) is gone`);
    expect(await storage.stat('objects/ab/abcd')).toBeUndefined();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
