/**
 * readAtMost, the one bounded whole read (storage.ts) every repository file read whole goes
 * through: exactly `max` bytes pass, one more is refused with the caller's error, and the stream
 * is destroyed at the chunk that passed the bound, nothing more pulled from its source.
 */
import { Readable } from 'node:stream';
import { readAtMost } from '../../src/storage/storage';

class TooLong extends Error {}

/** A stream of `count` chunks of `size` bytes; `pulled()` says how many its consumer took. */
function chunks(count: number, size: number): { stream: Readable; pulled: () => number } {
  let pulled = 0;
  const stream = Readable.from(
    (function* gen() {
      for (let i = 0; i < count; i++) {
        pulled++;
        yield Buffer.alloc(size, i);
      }
    })(),
    { objectMode: false, highWaterMark: 1 },
  );
  return { stream, pulled: () => pulled };
}

test('exactly max bytes pass, whole and in order', async () => {
  const { stream } = chunks(4, 10);
  const got = await readAtMost(stream, 40, () => new TooLong());
  expect(got).toEqual(Buffer.concat([0, 1, 2, 3].map((i) => Buffer.alloc(10, i))));
});

test('max + 1 bytes are refused with the caller error, given the bound', async () => {
  const { stream } = chunks(1, 41);
  const seen: number[] = [];
  await expect(
    readAtMost(stream, 40, (max) => {
      seen.push(max);
      return new TooLong(`over ${max}`);
    }),
  ).rejects.toThrow(new TooLong('over 40'));
  expect(seen).toEqual([40]);
});

test('the stream is destroyed at the chunk that passes the bound, the rest never pulled', async () => {
  const { stream, pulled } = chunks(1000, 1024);
  await expect(readAtMost(stream, 3 * 1024, () => new TooLong())).rejects.toBeInstanceOf(TooLong);
  expect(stream.destroyed).toBe(true);
  // The 4th chunk passes the bound; a buffered read-ahead of a chunk or two at most.
  expect(pulled()).toBeLessThanOrEqual(6);
});
