/**
 * The write that matters most, the manifest commit, is retried against a real S3 server on
 * loopback: once with a flaky network double failing its first upload, once with the server
 * itself down for a while (killed and started again, so the connection is really refused).
 */
import { materialize } from '../support/manifests';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { S3Storage } from '../../src/storage/s3_storage';
import { RetryingStorage } from '../../src/storage/retrying_storage';
import { Repository } from '../../src/repository/repository';
import { snapshotKey } from '../../src/repository/layout';
import { FORMAT_VERSION, type Manifest } from '../../src/manifest/manifest';
import { startS3Server, type S3Server } from '@mm-backup/testkit';
import { FlakyStorage } from '../support/flaky_storage';

let server: S3Server;
let staging: string;
beforeAll(async () => {
  server = await startS3Server();
}, 60_000);
afterAll(async () => {
  await server?.destroy();
});
beforeEach(async () => {
  staging = await mkdtemp(path.join(os.tmpdir(), 's3-retry-'));
});
afterEach(async () => rm(staging, { recursive: true, force: true }));

function s3(): S3Storage {
  return new S3Storage({
    bucket: server.bucket,
    prefix: `r-${randomBytes(4).toString('hex')}`,
    region: 'us-east-1',
    endpoint: server.endpoint,
    forcePathStyle: true,
    credentials: server.credentials,
  });
}

function manifest(id: string, sha256: string, size: number): Manifest {
  return {
    format: 'mm-backup-snapshot',
    formatVersion: FORMAT_VERSION,
    id,
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:01.000Z',
    mode: 'online',
    trigger: 'cli',
    host: 'h',
    installDir: '/opt/mattermost',
    mattermost: { configSource: 'file', fileDriver: 'local' },
    components: [
      {
        id: 'data',
        title: 'Data',
        status: 'included',
        exclude: [],
        entries: [{ path: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: '1', size, sha256 }],
        files: 1,
        bytes: size,
        newBytes: size,
        filesRead: 1,
        durationMs: 1,
      },
    ],
    stats: { files: 1, bytes: size, newBytes: size, filesRead: 1, durationMs: 1, downtimeMs: 0 },
  };
}

test('a manifest commit whose upload fails is retried (flaky network double over S3)', async () => {
  const id = '20260101T000000Z-aaaaaa';
  const flaky = new FlakyStorage(s3(), 1, (op, key) => op === 'put' && key === snapshotKey(id));
  const repo = await Repository.open(new RetryingStorage(flaky, { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 }), {
    stagingDir: staging,
  });
  const obj = await repo.ingest(Readable.from([randomBytes(5000)]));
  await repo.writeSnapshot(manifest(id, obj.sha256, obj.size));
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
  await server.stop();
  const back = new Promise<void>((resolve, reject) =>
    setTimeout(() => {
      server.start().then(resolve, reject);
    }, 1500),
  );
  try {
    await repo.writeSnapshot(manifest(id, obj.sha256, obj.size));
  } finally {
    await back;
  }
  expect(retries).toContain(`put ${snapshotKey(id)}`);
  expect((await repo.loadSnapshot(id)).id).toBe(id);
}, 60_000);
