/**
 * The code of the small-file reading thread (small_reader.ts starts it with `eval: true`; plain
 * CommonJS in a string for the reasons hash_worker.ts gives).
 *
 * Protocol: workerData holds `ctrl` (an Int32Array over a SharedArrayBuffer: [stop, state of slab
 * 0, state of slab 1, ...]) and each slab's three SharedArrayBuffers: `data` (the files' bytes),
 * `info` (Int32 triples a file: status, offset in data, length) and `hashes` (32 bytes a file).
 * The main thread posts `{ slab, paths, listed }`; the thread reads each path into the slab, hashes it,
 * and then stores DONE in the slab's state and notifies it. No answer is posted: the main thread
 * looks at the state between files of its walk, so a batch read is taken up at once instead of
 * waiting for the main thread's event loop to turn (20 ms of walk between turns).
 *
 * Status 0 is a file read whole: a regular file of at most `limit` bytes whose bytes fitted in the
 * slab after the files before it. Anything else (it vanished, grew, is not a regular file, failed
 * to open or read, is not the file listed or not where it was listed, or the main thread asked
 * to stop) is status 1: the main thread reads that file itself, which gives the same outcome
 * (vanished, an error, a larger file, a replaced file's own metadata) as before there was a
 * thread. Files are opened and checked as source_open.ts does (source_open_worker.ts).
 */
import { SOURCE_OPEN_JS } from './source_open_worker';

export const SMALL_READER_SOURCE = String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { createHash } = require('node:crypto');

const ctrl = new Int32Array(workerData.ctrl);
const limit = workerData.limit;
const slabs = workerData.slabs.map((s) => ({
  data: Buffer.from(s.data),
  info: new Int32Array(s.info),
  hashes: Buffer.from(s.hashes),
}));
${SOURCE_OPEN_JS}
/** Reads file into slab at offset; the length read, or -1 when the main thread must read it. */
function readInto(file, listed, slab, offset) {
  const { fd, st, replaced } = openListed(file, listed);
  try {
    if (replaced || st.size > limit) return -1;
    // One byte past the size shows a file that grew since fstat (the main thread stages those).
    const room = Math.min(st.size + 1, slab.data.length - offset);
    if (room < st.size + 1) return -1;
    let got = 0;
    for (;;) {
      const n = fs.readSync(fd, slab.data, offset + got, room - got, got);
      if (n === 0) break;
      got += n;
      if (got > st.size) return -1;
    }
    return got;
  } finally {
    fs.closeSync(fd);
  }
}

parentPort.on('message', (m) => {
  const slab = slabs[m.slab];
  let offset = 0;
  for (let i = 0; i < m.paths.length; i++) {
    let got = -1;
    if (Atomics.load(ctrl, 0) === 0) {
      try {
        got = readInto(m.paths[i], m.listed[i], slab, offset);
      } catch {
        got = -1;
      }
    }
    slab.info[3 * i] = got < 0 ? 1 : 0;
    slab.info[3 * i + 1] = offset;
    slab.info[3 * i + 2] = Math.max(got, 0);
    if (got >= 0) {
      createHash('sha256').update(slab.data.subarray(offset, offset + got)).digest().copy(slab.hashes, 32 * i);
      offset += got;
    }
  }
  Atomics.store(ctrl, 1 + m.slab, 2);
  Atomics.notify(ctrl, 1 + m.slab);
});
`;
