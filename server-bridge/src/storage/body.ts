/** Opening a Body's bytes, the same way in every backend and decorator. */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { isFileBody, type Body } from './storage';

/** A fresh stream of the body's bytes: call once per attempt. */
export function openBody(body: Body): Readable {
  if (Buffer.isBuffer(body)) return Readable.from([body]);
  if (isFileBody(body)) return createReadStream(body.file);
  return body.open();
}

/**
 * Runs `consume` on `source` (a storage's load). When the consumer fails because the source
 * broke mid-read (a disk or connection error), the failure is the storage's, reported as
 * `storageError(thatError)` so it is retried when transient; otherwise the consumer's own error
 * passes through, as does anything once `signal` is aborted. The source is destroyed on failure.
 */
export async function consumeSource<T>(
  source: Readable,
  consume: (body: Readable) => Promise<T>,
  signal: AbortSignal | undefined,
  storageError: (err: unknown) => Error,
): Promise<T> {
  let sourceError: unknown;
  source.once('error', (e) => {
    sourceError = e;
  });
  try {
    return await consume(source);
  } catch (err) {
    source.destroy();
    if (signal?.aborted) throw err;
    throw sourceError ? storageError(sourceError) : err;
  }
}
