/**
 * S3Storage.loadRange against a real S3-compatible server (s3rver) on loopback, seen through a
 * TCP proxy that counts what the server really sent: a range is a Range request (a few KiB cross
 * the network, not the object), a length of 0 sends no request, a range past the end is refused
 * with the object's size, and a connection cut mid-range is transient: retried from the start.
 */
import { randomBytes } from 'node:crypto';
import { StorageError } from '../../src/core/errors';
import { OutOfRangeError } from '../../src/storage/range';
import { RetryingStorage } from '../../src/storage/retrying_storage';
import { S3Storage } from '../../src/storage/s3_storage';
import { readAll, readBuffer, readRangeBuffer } from '../../src/storage/storage';
import { startCountingProxy, type CountingProxy } from '../support/counting_proxy';
import { startS3Server, type S3Server } from '@mm-backup/testkit';

const SIZE = 4 * 1024 * 1024;

let server: S3Server;
let proxy: CountingProxy;
let storage: S3Storage;
let body: Buffer;

beforeAll(async () => {
  server = await startS3Server();
  proxy = await startCountingProxy(server.endpoint);
  storage = new S3Storage({
    bucket: server.bucket,
    prefix: `r-${randomBytes(4).toString('hex')}`,
    region: 'us-east-1',
    endpoint: proxy.endpoint,
    forcePathStyle: true,
    credentials: server.credentials,
  });
  body = randomBytes(SIZE);
  await storage.put('packs/big', body);
}, 60_000);

afterAll(async () => {
  storage?.client.destroy();
  await proxy?.close();
  await server?.destroy();
});

// Counts start from a quiet network: nothing of an earlier test's response is still flowing.
beforeEach(async () => {
  for (let last = -1; proxy.received() !== last;) {
    last = proxy.received();
    await new Promise((r) => setTimeout(r, 100));
  }
  proxy.reset();
});

test('a range crosses the network alone (a Range request), where a whole read brings the whole object', async () => {
  const got = await readRangeBuffer(storage, 'packs/big', 2_000_000, 10_000);
  expect(got.equals(body.subarray(2_000_000, 2_010_000))).toBe(true);
  const ranged = proxy.received();
  // 10,000 bytes of body and the response's headers; a sliced whole read would be 4 MiB.
  expect(ranged).toBeGreaterThanOrEqual(10_000);
  expect(ranged).toBeLessThan(16_000);

  proxy.reset();
  expect((await readBuffer(storage, 'packs/big')).equals(body)).toBe(true);
  expect(proxy.received()).toBeGreaterThan(SIZE);
});

test('the last bytes and the first byte are ranges too (s3rver sends more for bytes=0-0: the rest is dropped)', async () => {
  expect((await readRangeBuffer(storage, 'packs/big', SIZE - 100, 100)).equals(body.subarray(SIZE - 100))).toBe(true);
  expect(proxy.received()).toBeLessThan(2_000);
  // A small object: what s3rver sends beyond the byte asked for is still on its way afterwards.
  const small = randomBytes(300);
  await storage.put('packs/small', small);
  expect((await readRangeBuffer(storage, 'packs/small', 0, 1)).equals(small.subarray(0, 1))).toBe(true);
});

test('a length of 0 sends no request', async () => {
  expect((await readRangeBuffer(storage, 'packs/big', 1000, 0)).length).toBe(0);
  expect((await readRangeBuffer(storage, 'packs/none', 0, 0)).length).toBe(0);
  expect(proxy.connections()).toBe(0);
  expect(proxy.received()).toBe(0);
});

test('a range past the end is OutOfRangeError with the object size, whether the server answers 416 or a shorter 206', async () => {
  for (const [offset, length] of [
    [SIZE, 1], // 416 InvalidRange
    [SIZE - 10, 20], // 206 with bytes SIZE-10..SIZE-1
  ] as const) {
    const err = await readRangeBuffer(storage, 'packs/big', offset, length).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OutOfRangeError);
    expect(err).toMatchObject({ permanent: true, size: SIZE, offset, length, key: 'packs/big' });
  }
  expect(proxy.received()).toBeLessThan(4_000);
});

test('a connection cut mid-range is a transient failure; RetryingStorage calls the consumer again from the start', async () => {
  const [offset, length] = [1_000_000, 200_000];
  const want = body.subarray(offset, offset + length);

  proxy.cutAfter(50_000);
  const err = await readRangeBuffer(storage, 'packs/big', offset, length).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StorageError);
  expect((err as StorageError).permanent).toBe(false);

  const retrying = new RetryingStorage(storage, { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 });
  const reads: number[] = [];
  proxy.cutAfter(50_000);
  const got = await retrying.loadRange('packs/big', offset, length, async (s) => {
    reads.push(0);
    const b = await readAll(s);
    reads[reads.length - 1] = b.length;
    return b;
  });
  expect(got.equals(want)).toBe(true);
  // The first call was cut (it never returned), the second read the whole range.
  expect(reads).toEqual([0, length]);
});
