/**
 * The write that matters most, the manifest commit, is retried against a real S3 server on
 * loopback: once with a flaky network double failing its first upload, once with the server
 * itself down for a while (killed and started again, so the connection is really refused).
 */
import { dataManifest, materialize } from '../support/manifests';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { S3Storage } from '../../src/storage/s3_storage';
import { RetryingStorage } from '../../src/storage/retrying_storage';
import { Repository } from '../../src/repository/repository';
import { snapshotKey } from '../../src/repository/layout';
import { FlakyStorage } from '../support/flaky_storage';
import { useS3Server } from '../support/s3_fixture';

const s3server = useS3Server();
let staging: string;
beforeEach(async () => {
  staging = await mkdtemp(path.join(os.tmpdir(), 's3-retry-'));
});
afterEach(async () => rm(staging, { recursive: true, force: true }));

function s3(): S3Storage {
  return s3server.bucket(`r-${randomBytes(4).toString('hex')}`);
}

test('a manifest commit whose upload fails is retried (flaky network double over S3)', async () => {
  const id = '20260101T000000Z-aaaaaa';
  const flaky = new FlakyStorage(s3(), 1, (op, key) => op === 'put' && key === snapshotKey(id));
  const repo = await Repository.open(new RetryingStorage(flaky, { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 }), {
    stagingDir: staging,
  });
  const obj = await repo.ingest(Readable.from([randomBytes(5000)]));
  await repo.writeSnapshot(dataManifest(id, [obj]));
  expect(flaky.attempts.get(`put ${snapshotKey(id)}`)).toBe(2);
  expect((await materialize(await repo.loadSnapshot(id))).components[0]?.entries[0]?.sha256).toBe(obj.sha256);
});

test('a manifest commit while the S3 server is down is retried until it is back', async () => {
  const id = '20260102T000000Z-bbbbbb';
  const retries: string[] = [];
  const storage = new RetryingStorage(s3(), {
    attempts: 12,
    baseDelayMs: 200,
    maxDelayMs: 800,
    onRetry: ({ op }) => retries.push(op),
  });
  const repo = await Repository.open(storage, { stagingDir: staging });
  const obj = await repo.ingest(Readable.from([randomBytes(5000)]));
  await s3server.server.stop();
  const back = new Promise<void>((resolve, reject) =>
    setTimeout(() => {
      s3server.server.start().then(resolve, reject);
    }, 1500),
  );
  try {
    await repo.writeSnapshot(dataManifest(id, [obj]));
  } finally {
    await back;
  }
  expect(retries).toContain(`put ${snapshotKey(id)}`);
  expect((await repo.loadSnapshot(id)).id).toBe(id);
}, 60_000);
