import { PROBE_OPS, RETRY_EVERY, WalkPacer, WINDOW_OPS } from '../../src/repository/walk_pacer';

/** A pacer on a fake clock: each window of calls takes `nsPerOp` per call in the current mode. */
function drive(
  p: WalkPacer,
  clock: { t: bigint },
  nsPerOp: { sync: number; async: number },
  windows: number,
): string[] {
  const modes: string[] = [];
  for (let w = 0; w < windows; w++) {
    const mode = p.sync ? 'sync' : 'async';
    modes.push(mode);
    clock.t += BigInt(Math.round(nsPerOp[mode] * WINDOW_OPS));
    p.done(WINDOW_OPS);
  }
  return modes;
}

const fresh = () => {
  const clock = { t: 0n };
  return { clock, p: new WalkPacer({ clock: () => clock.t }) };
};

test('a warm cache keeps synchronous calls and never tries the thread pool', () => {
  const { clock, p } = fresh();
  expect(drive(p, clock, { sync: 4_000, async: 12_000 }, 20)).toEqual(Array(20).fill('sync'));
});

test('a cold cache moves to parallel calls, keeps them while faster, and re-tries sync now and then', () => {
  const { clock, p } = fresh();
  const modes = drive(p, clock, { sync: 40_000, async: 15_000 }, 2 + RETRY_EVERY + 2);
  expect(modes.slice(0, 2)).toEqual(['sync', 'async']);
  expect(modes.slice(1, 1 + RETRY_EVERY)).toEqual(Array(RETRY_EVERY).fill('async'));
  expect(modes[1 + RETRY_EVERY]).toBe('sync'); // the periodic re-try...
  expect(modes[2 + RETRY_EVERY]).toBe('async'); // ...which lost again
});

test('a walk that warms up goes back to synchronous calls for good', () => {
  const { clock, p } = fresh();
  drive(p, clock, { sync: 40_000, async: 15_000 }, 1 + RETRY_EVERY);
  expect(drive(p, clock, { sync: 4_000, async: 15_000 }, 5)).toEqual(['sync', 'sync', 'sync', 'sync', 'sync']);
});

test('slow synchronous calls that are still faster than the thread pool are kept', () => {
  const { clock, p } = fresh();
  const modes = drive(p, clock, { sync: 20_000, async: 30_000 }, 4);
  expect(modes).toEqual(['sync', 'async', 'sync', 'sync']);
});

test('a fixed mode never changes, whatever the timings', () => {
  const clock = { t: 0n };
  const p = new WalkPacer({ fixed: 'async', clock: () => clock.t });
  expect(drive(p, clock, { sync: 1, async: 1e6 }, 5)).toEqual(Array(5).fill('async'));
});

test('the periodic re-try of the losing mode is a short probe, so it costs little of the walk', () => {
  const { clock, p } = fresh();
  const ops = { sync: 0, async: 0 };
  const nsPerOp = { sync: 100_000, async: 600_000 };
  // Calls one at a time, as a walk makes them: the share of calls spent in the slow mode.
  for (let i = 0; i < 40 * WINDOW_OPS; i++) {
    const mode = p.sync ? 'sync' : 'async';
    ops[mode]++;
    clock.t += BigInt(nsPerOp[mode]);
    p.done(1);
  }
  // The first try of async and each re-try are PROBE_OPS each: one after the first window, then
  // one per RETRY_EVERY windows.
  const tries = 1 + Math.floor(39 / RETRY_EVERY);
  expect(ops.async).toBeLessThanOrEqual(tries * PROBE_OPS);
  expect(ops.async).toBeGreaterThanOrEqual((tries - 1) * PROBE_OPS);
});

test('a probe that finds the other mode faster now switches for full windows', () => {
  const { clock, p } = fresh();
  const nsPerOp = { sync: 100_000, async: 600_000 };
  const step = () => {
    const mode = p.sync ? 'sync' : 'async';
    clock.t += BigInt(nsPerOp[mode]);
    p.done(1);
    return mode;
  };
  for (let i = 0; i < 12 * WINDOW_OPS; i++) step();
  // The cache goes cold: synchronous calls now wait on the disk.
  nsPerOp.sync = 900_000;
  const modes: string[] = [];
  for (let i = 0; i < 12 * WINDOW_OPS; i++) modes.push(step());
  // Once async won a probe, it runs in full windows: the tail is all async.
  expect(modes.slice(-WINDOW_OPS)).toEqual(Array(WINDOW_OPS).fill('async'));
});
