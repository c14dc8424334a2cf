/**
 * Memory stays flat in one huge directory: a real directory of 150k entries (Mattermost's
 * data/users/ holds one per user) is walked in a process whose old-generation heap is limited to
 * 24 MB, checking that every path comes in ascending order. The walk sorts such a directory on disk
 * in runs of 50k (about 12 MB of heap at its peak). The code before, which listed and sorted a
 * directory whole in memory, needed about 55 MB of heap for 200k entries and ran out of heap here
 * (measured, also at 100k; shown by running this test against it). The child runs the built code (dist/): rebuild before running it.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DIST, runNode, SUPPORT } from '../support/memory_child';

const ENTRIES = 150_000;
const HEAP_MB = 24;
// A small young generation, as in tree_memory.test.ts: a large one makes V8 collect over and over under so small a limit.
const SEMI_SPACE_MB = 2;

let work: string;
let tree: string;
// One directory for both runs: making 150k files takes a good part of the test's time.
beforeAll(async () => {
  work = await mkdtemp(path.join(existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'big-dir-memory-'));
  tree = path.join(work, 'data');
  const made = await runNode([path.join(SUPPORT, 'flat_dir.cjs'), path.join(tree, 'users'), String(ENTRIES)]);
  expect(made.code).toBe(0);
  expect((await readdir(path.join(tree, 'users'))).length).toBe(ENTRIES);
}, 120_000);
afterAll(() => rm(work, { recursive: true, force: true }));

test.each(['sync', 'async'])(
  `a directory of ${ENTRIES} entries is walked in order in a ${HEAP_MB} MB heap (pacer: %s)`,
  async (mode) => {
    const res = await runNode([
      `--max-old-space-size=${HEAP_MB}`,
      `--max-semi-space-size=${SEMI_SPACE_MB}`,
      path.join(SUPPORT, 'big_dir_walk_child.cjs'),
      DIST,
      tree,
      mode,
    ]);
    if (res.code !== 0) {
      throw new Error(`the walk process failed (${res.code ?? res.signal}):\n${res.stderr.slice(-3000)}`);
    }
    const out = JSON.parse(res.stdout) as {
      count: number;
      peakHeapMb: number;
      spillsDuring: number;
      spillsAfter: number;
    };
    // The root, users/ and every entry, each once (the child checked the order).
    expect(out.count).toBe(ENTRIES + 2);
    expect(out.peakHeapMb).toBeLessThan(HEAP_MB);
    // Sorted on disk (150k entries: 3 runs), and the runs removed once the directory was walked.
    expect(out.spillsDuring).toBe(3);
    expect(out.spillsAfter).toBe(0);
  },
  120_000,
);
