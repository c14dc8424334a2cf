/**
 * What every backend's ranged read (Storage.loadRange) shares: the argument check, the error for
 * a range the object does not hold, and the stream that hands the consumer exactly the range.
 */
import { Readable } from 'node:stream';
import { StorageError } from '../core/errors';

/**
 * The object is shorter than offset + length. Permanent: the object's bytes will not grow (keys
 * name immutable content), so reading again cannot help; the caller's index of the pack is wrong.
 */
export class OutOfRangeError extends StorageError {
  constructor(
    readonly key: string,
    readonly offset: number,
    readonly length: number,
    /** The object's size when the backend knows it (not a decrypted object that ended early). */
    readonly size: number | undefined,
    opts: { cause?: unknown } = {},
  ) {
    super(
      `cannot read bytes ${offset}-${offset + length - 1} of ${key}: the object ${size === undefined ? 'ends before them' : `has ${size} bytes`}`,
      {
        ...opts,
        permanent: true,
        details: { key, offset, length, ...(size === undefined ? {} : { size }) },
        hint: 'the range was taken from an index that does not match the stored object: check the repository (mm-backup verify)',
      },
    );
  }
}

/** Rejects a range that is not a pair of non-negative safe integers (a programming error, like a bad key). */
export function assertRange(offset: number, length: number): void {
  if (
    !Number.isSafeInteger(offset) ||
    !Number.isSafeInteger(length) ||
    offset < 0 ||
    length < 0 ||
    !Number.isSafeInteger(offset + length)
  ) {
    throw new TypeError(`invalid byte range: offset ${offset}, length ${length}`);
  }
}

/**
 * A stream of bytes [skip, skip + length) of `source`, which ends (and destroys `source`) as soon
 * as the last of them is passed on, so a source that holds more (a decrypted object, a server
 * that sent more than asked) is not read further. A source that ends before the last byte makes
 * the stream fail with `short(bytesPassedOn)`. Destroying the stream destroys `source`, even
 * before it was read from (no file descriptor or socket is left open).
 */
export function sliceStream(
  source: Readable,
  skip: number,
  length: number,
  short: (passed: number) => Error,
): Readable {
  async function* slice(): AsyncGenerator<Buffer> {
    let toSkip = skip;
    let left = length;
    if (left === 0) return;
    for await (const chunk of source) {
      let c = chunk as Buffer;
      if (toSkip > 0) {
        if (c.length <= toSkip) {
          toSkip -= c.length;
          continue;
        }
        c = c.subarray(toSkip);
        toSkip = 0;
      }
      if (c.length >= left) {
        yield c.subarray(0, left);
        return; // leaving the loop destroys the source
      }
      left -= c.length;
      yield c;
    }
    throw short(length - left);
  }
  const out = Readable.from(slice(), { objectMode: false });
  out.once('close', () => source.destroy());
  return out;
}
