/**
 * Worker thread of the many-files generator: writes the batches of small attachment files it is
 * sent with synchronous calls (one open/write/close per file, no thread-pool hand-off per call,
 * which is what limits the async API at a million files), and answers with what it wrote.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parentPort } from 'node:worker_threads';

/** One attachment: its directory (relative to root) and files as [name, size, tag]. */
export interface WorkerItem {
  dir: string;
  files: Array<[string, number, string]>;
}

/** A batch to write under `root`; `seq` comes back in the answer. */
export interface WorkerBatch {
  seq: number;
  root: string;
  items: WorkerItem[];
}

/** The answer to a batch. */
export interface WorkerDone {
  seq: number;
  files: number;
  bytes: number;
  error?: string;
}

const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46]);
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
// Random bytes to take the body of every file from; each file starts with its own tag, so no
// two files are equal (content-addressed stores would otherwise deduplicate the tree away).
const POOL = randomBytes(8 * 1024 * 1024);

/** The bytes of one file: the format's magic, the unique tag, then random bytes from the pool. */
export function fileBytes(name: string, size: number, tag: string): Buffer {
  const magic = name.endsWith('.png') ? PNG : JPEG;
  const buf = Buffer.allocUnsafe(size);
  let at = magic.copy(buf, 0);
  at += buf.write(tag, at, 'latin1');
  if (at < size) {
    const from = Math.floor(Math.random() * (POOL.length - size));
    POOL.copy(buf, at, from, from + size - at);
  }
  return buf;
}

function writeBatch(b: WorkerBatch): WorkerDone {
  let files = 0;
  let bytes = 0;
  for (const item of b.items) {
    const dir = path.join(b.root, item.dir);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    for (const [name, size, tag] of item.files) {
      writeFileSync(path.join(dir, name), fileBytes(name, size, tag), { mode: 0o644 });
      files++;
      bytes += size;
    }
  }
  return { seq: b.seq, files, bytes };
}

parentPort?.on('message', (b: WorkerBatch) => {
  let done: WorkerDone;
  try {
    done = writeBatch(b);
  } catch (e) {
    done = { seq: b.seq, files: 0, bytes: 0, error: (e as Error).message };
  }
  parentPort?.postMessage(done);
});
