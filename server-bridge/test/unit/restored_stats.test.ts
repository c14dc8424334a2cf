/**
 * RestoredStats keeps what the writer threads found for a million places in flat memory: pages
 * beyond the few it holds go to an unlinked file in the spool directory and come back intact, in
 * whatever order they are written and read.
 */
import { closeSync, openSync, readdirSync, readlinkSync } from 'node:fs';
import { RestoredStats } from '../../src/repository/restored_stats';

const MB = 1024 * 1024;

/** The descriptors this process holds on a restored-stats file (unlinked: "(deleted)"). */
function statsFiles(): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).includes('restored-stats-')) n++;
    } catch {
      /* closed meanwhile */
    }
  }
  return n;
}

const inoOf = (at: number) => BigInt(at) * 7n + 3n;
const mtimeOf = (at: number) => 1_700_000_000_000_000_000n + BigInt(at) * 1000n + 1n;

test('a million places in order: array memory grows by less than 2 MB (16 MB if held), every value read back', () => {
  const before = statsFiles();
  const stats = new RestoredStats();
  const base = process.memoryUsage().arrayBuffers;
  let peak = 0;
  for (let at = 0; at < 1_000_000; at++) {
    // Every third place unknown (a file the main thread wrote): nothing is recorded for it.
    stats.set(at, at % 3 === 2 ? 0n : inoOf(at), mtimeOf(at));
    if (at % 50_000 === 0) peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
  }
  peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
  expect(peak).toBeLessThan(2 * MB);
  expect(stats.size).toBe(666_667);
  expect(statsFiles()).toBe(before + 1);
  for (let at = 0; at < 1_000_000; at++) {
    const got = stats.get(at);
    if (at % 3 === 2) {
      if (got !== undefined) throw new Error(`place ${at}: recorded though never set`);
    } else if (got?.ino !== inoOf(at) || got.mtimeNs !== mtimeOf(at)) {
      throw new Error(`place ${at}: ${JSON.stringify(got, (_, v: unknown) => String(v))}`);
    }
  }
  expect(process.memoryUsage().arrayBuffers - base).toBeLessThan(2 * MB);
  stats.close();
  expect(statsFiles()).toBe(before);
  expect(stats.get(0)).toBeUndefined();
});

test('places set out of order, over pages written out and read back, and set again, read right', () => {
  const stats = new RestoredStats();
  const n = 20 * 4096;
  // A fixed shuffle of runs of 512 places: a stride coprime with the 160 runs visits each once,
  // jumping between the 20 pages (8 are held).
  const order = Array.from({ length: n }, (_, i) => ((Math.floor(i / 512) * 67) % 160) * 512 + (i % 512));
  for (const at of order) stats.set(at, inoOf(at), mtimeOf(at));
  // Some places changed after their page was written out (a directory's metadata set last).
  for (let at = 5; at < n; at += 4096 * 3) stats.set(at, 99n, 98n);
  expect(stats.size).toBe(n);
  // Read backwards, then forwards: each page comes back from the file.
  for (const seq of [order.slice().reverse(), order]) {
    for (const at of seq) {
      const got = stats.get(at);
      const changed = at % (4096 * 3) === 5;
      if (got?.ino !== (changed ? 99n : inoOf(at)) || got.mtimeNs !== (changed ? 98n : mtimeOf(at))) {
        throw new Error(`place ${at}: ${JSON.stringify(got, (_, v: unknown) => String(v))}`);
      }
    }
  }
  expect(stats.get(n + 10 * 4096)).toBeUndefined();
  expect(stats.get(-1)).toBeUndefined();
  stats.close();
});

test('a few places never touch the disk', () => {
  const before = statsFiles();
  const stats = new RestoredStats();
  for (let at = 0; at < 3 * 4096; at += 100) stats.set(at, inoOf(at), mtimeOf(at));
  expect(stats.get(100)).toEqual({ ino: inoOf(100), mtimeNs: mtimeOf(100) });
  expect(statsFiles()).toBe(before);
  stats.close();
});

test('pages that cannot be written or read back become unknown, never wrong (a failing spool disk)', () => {
  const stats = new RestoredStats();
  const pages = 12;
  for (let at = 0; at < pages * 4096; at++) stats.set(at, inoOf(at), mtimeOf(at));
  // Pages 0-3 are in the file now, 4-11 held. The file's descriptor is swapped for one that can
  // neither write nor read pages (/dev/null, read-only: writes fail, reads return nothing).
  const internals = stats as unknown as { fd: number };
  closeSync(internals.fd);
  internals.fd = openSync('/dev/null', 'r');
  // Four more pages push four held ones out: their writes fail.
  for (let at = pages * 4096; at < (pages + 4) * 4096; at++) stats.set(at, inoOf(at), mtimeOf(at));
  let known = 0;
  for (let at = 0; at < (pages + 4) * 4096; at++) {
    const got = stats.get(at);
    if (got === undefined) continue;
    known++;
    if (got.ino !== inoOf(at) || got.mtimeNs !== mtimeOf(at)) throw new Error(`place ${at} is wrong`);
  }
  // Lost: pages 0-3 (unreadable), 4-7 (unwritten) and 8 (pushed out, unwritten, to make room
  // for reading page 0 back); the other seven are known.
  expect(known).toBe(7 * 4096);
  expect(stats.size).toBe(known);
  stats.close();
});
