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
