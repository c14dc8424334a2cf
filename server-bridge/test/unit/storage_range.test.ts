/**
 * sliceStream, which hands every backend's consumer exactly a range: bytes skipped and taken
 * across any chunking, a source that ends early failing with the count passed on, and the source
 * destroyed once the range is passed on or the slice is dropped, even unread.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { assertRange, sliceStream } from '../../src/storage/range';
import { readAll } from '../../src/storage/storage';

function chunked(data: Buffer, size: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) parts.push(data.subarray(i, i + size));
  return Readable.from(parts, { objectMode: false });
}

const short = (n: number) => new Error(`short after ${n}`);

test('skip and take give exactly the range, whatever the chunking', async () => {
  const data = randomBytes(1000);
  for (const size of [1, 7, 64, 999, 1000, 5000]) {
    for (const [skip, length] of [
      [0, 1000],
      [0, 1],
      [999, 1],
      [63, 130],
      [500, 0],
    ] as const) {
      const got = await readAll(sliceStream(chunked(data, size), skip, length, short));
      expect({ size, skip, length, ok: got.equals(data.subarray(skip, skip + length)) }).toEqual({
        size,
        skip,
        length,
        ok: true,
      });
    }
  }
});

test('a source that ends before the range does fails with the number of bytes passed on', async () => {
  const data = randomBytes(100);
  await expect(readAll(sliceStream(chunked(data, 30), 50, 60, short))).rejects.toThrow('short after 50');
  await expect(readAll(sliceStream(chunked(data, 30), 120, 1, short))).rejects.toThrow('short after 0');
});

test('the source is destroyed once the range is passed on, and when the slice is dropped unread', async () => {
  const endless = new Readable({
    read() {
      this.push(Buffer.alloc(1000));
    },
  });
  expect((await readAll(sliceStream(endless, 1500, 2000, short))).length).toBe(2000);
  await new Promise((r) => setImmediate(r));
  expect(endless.destroyed).toBe(true);

  const unread = chunked(randomBytes(100), 10);
  sliceStream(unread, 0, 50, short).destroy();
  await new Promise((r) => setImmediate(r));
  expect(unread.destroyed).toBe(true);
});

test('assertRange refuses what is not a pair of non-negative safe integers', () => {
  expect(() => assertRange(0, 0)).not.toThrow();
  expect(() => assertRange(Number.MAX_SAFE_INTEGER - 1, 1)).not.toThrow();
  for (const [o, l] of [
    [-1, 0],
    [0, -1],
    [0.5, 1],
    [1, Infinity],
    [Number.NaN, 1],
    [Number.MAX_SAFE_INTEGER, 1],
  ]) {
    expect(() => assertRange(o as number, l as number)).toThrow(TypeError);
  }
});
