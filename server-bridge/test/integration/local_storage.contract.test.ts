/**
 * The storage contract against the local directory, memory, and the decorators over them:
 * retries over a flaky network double (every call's first attempt fails) and age encryption.
 */
import { mkdtemp, rm } from 'node:fs/promises';
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
