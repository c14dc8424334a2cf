/**
 * Files are stored in chunks, never held whole: a process storing a 96 MiB file and forty files of
 * 1-4 MiB the way a backup does (16 at a time) stays within a few MB of where it started. Reading
 * files of up to 4 MiB whole in the hash pool's workers (as ingestFile did) raised the peak by
 * 46-80 MB here, and the 96 MiB file read whole would add its own size; both fail this test.
 * Memory is the kernel's high-water mark of the child's resident set (VmHWM), so no short peak is
 * missed. The child runs the built code (dist/), like the CLI tests: rebuild before running it.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { objectKey } from '../../src/repository/layout';
import { DIST, runNode, SUPPORT } from '../support/memory_child';

const MiB = 1024 * 1024;
/** Peak resident memory above the start allowed while storing: measured 6-7 MB with chunked copies. */
const BOUND = 24 * MiB;

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'ingest-memory-'));
});
afterEach(() => rm(work, { recursive: true, force: true }));

/** A file of random (incompressible) bytes, written 1 MiB at a time: the test itself holds no file whole. */
async function makeFile(name: string, size: number): Promise<{ file: string; sha256: string }> {
  const file = path.join(work, name);
  const hash = createHash('sha256');
  const chunk = Buffer.alloc(MiB);
  const fh = await open(file, 'w');
  try {
    for (let done = 0; done < size; done += chunk.length) {
      const n = Math.min(chunk.length, size - done);
      randomFillSync(chunk, 0, n);
      hash.update(chunk.subarray(0, n));
      await fh.write(chunk, 0, n);
    }
  } finally {
    await fh.close();
  }
  return { file, sha256: hash.digest('hex') };
}

function sha256Of(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (d) => hash.update(d))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

test('storing a 96 MiB file and forty of 1-4 MiB raises peak memory by less than 24 MB', async () => {
  // Just over the inline size, so they go to the workers: the warm-up that starts them.
  const files = [await makeFile('warm1', 160 * 1024), await makeFile('warm2', 160 * 1024)];
  files.push(await makeFile('big', 96 * MiB));
  for (let i = 0; i < 40; i++) files.push(await makeFile(`mid${i}`, MiB + ((i * 77_777) % (3 * MiB))));
  const repoDir = path.join(work, 'repo');
  const res = await runNode([
    path.join(SUPPORT, 'ingest_memory_child.cjs'),
    DIST,
    repoDir,
    ...files.map((f) => f.file),
  ]);
  if (res.code !== 0) throw new Error(`the storing process failed (${res.code}):\n${res.stderr.slice(-3000)}`);
  const out = JSON.parse(res.stdout) as { baseBytes: number; peakBytes: number; stored: Record<string, string> };
  // Every file stored under its content's hash, and the object holds exactly that content.
  for (const f of files.slice(2)) {
    const sha = out.stored[path.basename(f.file)];
    expect(sha).toBe(f.sha256);
    expect(await sha256Of(path.join(repoDir, objectKey(f.sha256)))).toBe(f.sha256);
  }
  expect(out.peakBytes - out.baseBytes).toBeLessThan(BOUND);
}, 120_000);
