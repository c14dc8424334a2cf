/**
 * The read budget on real timers. Every test has a lower bound on the time taken that a limiter
 * doing nothing cannot meet (it would finish in a few ms), and a generous upper bound that one
 * waiting far too long would miss.
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MB, readBudget, throttled, TokenBucket } from '../../src/core/rate_limit';
import { caught } from '../support/caught';

const KiB = 1024;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

test('sequential reads go at the rate once the first burst is spent', async () => {
  const bucket = new TokenBucket(2 * MB, 64 * KiB);
  const ms = await timed(async () => {
    for (let i = 0; i < 16; i++) await bucket.take(64 * KiB);
  });
  // 1 MiB at 2 MiB/s, less the 64 KiB burst: 469 ms.
  expect(ms).toBeGreaterThanOrEqual(440);
  expect(ms).toBeLessThan(2000);
});

test('a take bigger than the burst waits for its share', async () => {
  const bucket = new TokenBucket(MB, 64 * KiB);
  const ms = await timed(() => bucket.take(512 * KiB));
  // (512 - 64) KiB at 1 MiB/s: 438 ms.
  expect(ms).toBeGreaterThanOrEqual(410);
  expect(ms).toBeLessThan(2000);
});

test('a bucket left idle holds one burst, not the credit of the whole pause', async () => {
  const bucket = new TokenBucket(MB, 64 * KiB);
  await new Promise((r) => setTimeout(r, 400));
  const ms = await timed(async () => {
    for (let i = 0; i < 8; i++) await bucket.take(64 * KiB);
  });
  // 400 ms of idle is 400 KiB of "credit" a naive bucket would hand out; only 64 KiB may go at once.
  expect(ms).toBeGreaterThanOrEqual(410);
  expect(ms).toBeLessThan(2000);
});

test('concurrent takers share the rate and are served in the order they asked', async () => {
  const bucket = new TokenBucket(MB, 64 * KiB);
  const order: string[] = [];
  const reader = async (name: string) => {
    for (let i = 0; i < 4; i++) {
      await bucket.take(64 * KiB);
      order.push(`${name}${i}`);
    }
  };
  const ms = await timed(() => Promise.all([reader('a'), reader('b')]));
  // 512 KiB together at 1 MiB/s, less the burst: 438 ms; each alone would be half that.
  expect(ms).toBeGreaterThanOrEqual(410);
  expect(ms).toBeLessThan(2000);
  expect(order).toEqual(['a0', 'b0', 'a1', 'b1', 'a2', 'b2', 'a3', 'b3']);
});

test('an abort ends the wait at once and gives the reservation back to those behind it', async () => {
  const bucket = new TokenBucket(MB, 64 * KiB);
  await bucket.take(64 * KiB); // the burst is spent
  const ac = new AbortController();
  const big = bucket.take(10 * MB, ac.signal); // ~10 s
  setTimeout(() => ac.abort(), 50);
  const t0 = performance.now();
  const err = await caught(big);
  expect(err.code).toBe('CANCELLED');
  expect(performance.now() - t0).toBeLessThan(1000);
  // Without the refund the next 64 KiB would wait behind the 10 MiB never read.
  expect(await timed(() => bucket.take(64 * KiB))).toBeLessThan(1000);
});

test('an already aborted signal rejects without taking anything', async () => {
  const bucket = new TokenBucket(MB, 64 * KiB);
  const err = await caught(bucket.take(64 * KiB, AbortSignal.abort()));
  expect(err.code).toBe('CANCELLED');
  // Nothing was reserved: the burst is still there.
  expect(await timed(() => bucket.take(64 * KiB))).toBeLessThan(50);
});

test('a throttled stream passes every byte on, at the rate', async () => {
  const bucket = new TokenBucket(2 * MB, 64 * KiB);
  const chunks = Array.from({ length: 16 }, (_, i) => Buffer.alloc(64 * KiB, i));
  let received = 0;
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      received += chunk.length;
      cb();
    },
  });
  const ms = await timed(() => pipeline(Readable.from(chunks), throttled(bucket), sink));
  expect(received).toBe(MB);
  expect(ms).toBeGreaterThanOrEqual(440);
  expect(ms).toBeLessThan(2000);
});

test('readBudget: absent means unlimited; a rate must be positive', () => {
  expect(readBudget(undefined)).toBeUndefined();
  expect(readBudget(4)?.bytesPerSecond).toBe(4 * MB);
  expect(() => new TokenBucket(0)).toThrow(RangeError);
});
