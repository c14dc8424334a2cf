/**
 * What a hash worker does (hash_worker.ts's `hash` and `copy`), done on the calling thread with
 * libuv's threads doing the I/O: for when no worker thread can be started (the process or its
 * container is at its thread limit, `pids.max` or RLIMIT_NPROC: EAGAIN). The same results and the
 * same errors (FileOpError with `side`; the abort error `stopped()` gives), one chunk at a time,
 * so a file is never held whole here either.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { FileOpError } from './file_op_error';
import type { Meta } from './file_meta';
import { openListed, type Listed, type OpenedSource } from './source_open';

/** What a worker answers: the digest of the bytes read (and written), and `replaced` as openListed gives it. */
export interface HereDigest {
  sha256: string;
  size: number;
  replaced?: Meta;
}

/** Between chunks: the error to stop with (an abort, the pool closing), or undefined to go on. */
export type Stopped = () => Error | undefined;

const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;

/** A failure as a worker reports it: Node's fields, and which file failed. */
function tagged(err: unknown, side: 'source' | 'destination'): Error {
  if (err instanceof FileOpError) return err;
  const e = err as NodeJS.ErrnoException & { dest?: string };
  return new FileOpError(
    { message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, path: e.path, dest: e.dest, side },
    { cause: err },
  );
}

async function openSource(file: string, listed?: Listed): Promise<OpenedSource<FileHandle>> {
  try {
    return await openListed(file, listed);
  } catch (err) {
    throw tagged(err, 'source');
  }
}

async function readChunk(fh: FileHandle, buf: Buffer): Promise<number> {
  try {
    return (await fh.read(buf, 0, buf.length, null)).bytesRead;
  } catch (err) {
    throw tagged(err, 'source');
  }
}

/** Reads `fh` to its end a chunk at a time, hashing each and handing it to `use` (which must be done with it on return). */
async function eachChunk(
  fh: FileHandle,
  stopped: Stopped,
  chunkSize: number,
  use?: (chunk: Buffer) => Promise<void>,
): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(chunkSize);
  let size = 0;
  for (;;) {
    const stop = stopped();
    if (stop) throw stop;
    const n = await readChunk(fh, buf);
    if (n === 0) break;
    hash.update(buf.subarray(0, n));
    if (use) await use(buf.subarray(0, n));
    size += n;
  }
  return { sha256: hash.digest('hex'), size };
}

/** Reads `file` to its end and hashes it. */
export async function hashHere(file: string, stopped: Stopped, chunkSize: number): Promise<HereDigest> {
  const { handle } = await openSource(file);
  try {
    return await eachChunk(handle, stopped, chunkSize);
  } finally {
    await handle.close();
  }
}

/** Copies `file` into `dest` (created 0600, must not exist), hashing the bytes written; `dest` does not remain on failure. */
export async function copyHere(
  file: string,
  dest: string,
  listed: Listed | undefined,
  stopped: Stopped,
  chunkSize: number,
): Promise<HereDigest> {
  const { handle: src, replaced } = await openSource(file, listed);
  let out: FileHandle | undefined;
  try {
    try {
      out = await open(dest, CREATE, 0o600);
    } catch (err) {
      throw tagged(err, 'destination');
    }
    const into = out;
    const digest = await eachChunk(src, stopped, chunkSize, async (chunk) => {
      for (let off = 0; off < chunk.length;) {
        try {
          off += (await into.write(chunk, off, chunk.length - off, null)).bytesWritten;
        } catch (err) {
          throw tagged(err, 'destination');
        }
      }
    });
    out = undefined;
    try {
      await into.close();
    } catch (err) {
      await unlink(dest).catch(() => undefined);
      throw tagged(err, 'destination');
    }
    return { ...digest, replaced };
  } catch (err) {
    if (out) {
      await out.close().catch(() => undefined);
      await unlink(dest).catch(() => undefined);
    }
    throw err;
  } finally {
    await src.close();
  }
}
