/**
 * The storage contract against the local directory, memory, and the decorators over them:
 * retries over a flaky network double (every call's first attempt fails) and age encryption.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { LocalStorage } from '../../src/storage/local_storage';
import { MemoryStorage } from '../../src/storage/memory_storage';
import { RetryingStorage } from '../../src/storage/retrying_storage';
import { EncryptedStorage } from '../../src/storage/encrypted_storage';
import { generateKeyPair } from '../../src/storage/age';
import { storageContract } from '../support/storage_contract';
import { FlakyStorage } from '../support/flaky_storage';

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
