/**
 * A million objects in the flat object sets stay a few megabytes: measured in a child process
 * (--expose-gc, JS heap plus array buffers after a full GC) running the built sets. The same
 * measure of a Set<string>, what prune, replicate and verify held before, is taken as the
 * control: it must exceed the bound, or the measure would prove nothing.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const script = path.resolve(__dirname, '..', 'support', 'object_set_memory.cjs');
const MB = 1024 * 1024;
const COUNT = 1_000_000;
/** PrefixSet: 8 MB of prefixes and a buffer of a quarter of that, plus slack for the heap's own noise. */
const PREFIX_BOUND = 16 * MB;
/** HashSorter: a 6 MB chunk while adding, its sorted copy, and 32 read buffers of 48 KB while merging. */
const SORTER_BOUND = 24 * MB;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'object-set-memory-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function measure(kind: 'prefix' | 'sorter' | 'string'): Promise<{ bytes: number; peak: number }> {
  const { stdout } = await run(process.execPath, ['--expose-gc', script, kind, String(COUNT), dir], {
    maxBuffer: MB,
  });
  return JSON.parse(stdout) as { bytes: number; peak: number };
}

test('a million names: PrefixSet holds under 16 MB, HashSorter peaks under 24 MB; a Set<string> does not', async () => {
  const prefix = await measure('prefix');
  const sorter = await measure('sorter');
  const strings = await measure('string');
  expect(prefix.bytes).toBeLessThan(PREFIX_BOUND);
  expect(sorter.peak).toBeLessThan(SORTER_BOUND);
  expect(await readdir(dir)).toEqual([]);
  // The control: the structure the sets replaced is far over either bound.
  expect(strings.bytes).toBeGreaterThan(2 * SORTER_BOUND);
}, 120_000);
