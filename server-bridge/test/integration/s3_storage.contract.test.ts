/**
 * The same storage contract as the local repository, against a real S3-compatible server on
 * loopback: plain S3, and S3 behind age encryption and the retry decorator (the off-site stack).
 */
import { randomBytes } from 'node:crypto';
import { S3Storage } from '../../src/storage/s3_storage';
import { EncryptedStorage } from '../../src/storage/encrypted_storage';
import { RetryingStorage } from '../../src/storage/retrying_storage';
import { generateKeyPair } from '../../src/storage/age';
import { isPlaintextKey } from '../../src/repository/layout';
import { storageContract } from '../support/storage_contract';
import { startS3Server, type S3Server } from '@mm-backup/testkit';

let server: S3Server;
beforeAll(async () => {
  server = await startS3Server();
}, 60_000);
afterAll(async () => {
  await server?.destroy();
});

function s3(prefix: string): S3Storage {
  return new S3Storage({
    bucket: server.bucket,
    prefix,
    region: 'us-east-1',
    endpoint: server.endpoint,
    forcePathStyle: true,
    credentials: server.credentials,
  });
}

// Each test gets its own prefix, so one bucket serves them all and prefixes are exercised too.
storageContract('S3Storage (s3rver)', async () => ({
  storage: s3(`t-${randomBytes(4).toString('hex')}/repo`),
  cleanup: async () => {},
}));

storageContract('S3Storage at the bucket root', async () => {
  const storage = s3('');
  return {
    storage,
    cleanup: async () => {
      for await (const o of storage.list('')) await storage.delete(o.key);
    },
  };
});

storageContract('age-encrypted, retrying S3 (the off-site stack)', async () => {
  const { identity, recipient } = await generateKeyPair();
  const enc = new EncryptedStorage(
    s3(`e-${randomBytes(4).toString('hex')}`),
    { recipients: [recipient], identities: [identity] },
    isPlaintextKey,
  );
  return {
    storage: new RetryingStorage(enc, { attempts: 3, baseDelayMs: 50, maxDelayMs: 200 }),
    cleanup: async () => {},
  };
});

test('cleanup on a server that cannot list multipart uploads (s3rver) counts nothing and does not fail', async () => {
  // A bucket lifecycle rule covers servers like this one (docs/offsite_dr.md).
  expect(await s3(`mp-${randomBytes(4).toString('hex')}`).cleanup()).toBe(0);
});
