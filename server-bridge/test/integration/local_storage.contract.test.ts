import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LocalStorage } from '../../src/storage/local_storage';
import { storageContract } from '../support/storage_contract';

storageContract('LocalStorage', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'local-storage-'));
  return { storage: await LocalStorage.open(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
});
