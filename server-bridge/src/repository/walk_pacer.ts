/**
 * Chooses how a tree walk reads metadata: synchronous calls (a warm inode cache answers lstat in
 * a few µs, less than one trip through libuv's thread pool costs) or parallel async calls (a cold
 * cache makes each call wait on the disk, and only parallel calls overlap those waits). It times
 * windows of calls in each mode and keeps the faster, re-trying the other now and then, since a
 * walk often starts cold and becomes warm, or the other way round.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { TaskPool } from '../core/pool';

export const WINDOW_OPS = 4000;
/** Below this, synchronous calls are served from memory and nothing is worth trying. */
const FAST_SYNC_NS_PER_OP = 12_000;
/** Windows in the chosen mode before the other one is timed again. */
export const RETRY_EVERY = 8;
/**
 * The first try of the other mode, and each re-try of the mode that lost, is timed over this many calls only: on a warm cache a window of
 * parallel calls costs several times a synchronous one (measured: ~600 against ~100 µs per small
 * file stored), so full-length re-tries took a third of a backup's time.
 */
export const PROBE_OPS = WINDOW_OPS / 8;

export class WalkPacer {
  private mode: 'sync' | 'async';
  private readonly nsPerOp: { sync?: number; async?: number } = {};
  private ops = 0;
  private windowStart: bigint;
  private windowsInMode = 0;
  private windowOps = WINDOW_OPS;

  /** `fixed` pins one mode (tests, comparisons); `clock` is for tests. */
  constructor(private readonly opts: { fixed?: 'sync' | 'async'; clock?: () => bigint } = {}) {
    this.mode = opts.fixed ?? 'sync';
    this.windowStart = this.now();
  }

  private now(): bigint {
    return (this.opts.clock ?? process.hrtime.bigint)();
  }

  /** Whether the next directory should be read with synchronous calls. */
  get sync(): boolean {
    return this.mode === 'sync';
  }

  /** Records `ops` metadata calls done in the current mode; may switch modes at a window's end. */
  done(ops: number): void {
    this.ops += ops;
    if (this.ops < this.windowOps || this.opts.fixed) return;
    const now = this.now();
    this.nsPerOp[this.mode] = Number(now - this.windowStart) / this.ops;
    this.ops = 0;
    this.windowStart = now;
    this.windowsInMode++;
    const probing = this.windowOps === PROBE_OPS;
    this.windowOps = WINDOW_OPS;
    const other = this.mode === 'sync' ? 'async' : 'sync';
    const mine = this.nsPerOp[this.mode] as number;
    const theirs = this.nsPerOp[other];
    if (this.mode === 'sync' && mine < FAST_SYNC_NS_PER_OP) return;
    if (theirs === undefined || theirs < mine || this.windowsInMode >= RETRY_EVERY) {
      // Trying a mode untried or that lost last time is a short probe; a mode that won gets full windows.
      if ((theirs === undefined || theirs >= mine) && !probing) this.windowOps = PROBE_OPS;
      this.mode = other;
      this.windowsInMode = 0;
    }
  }
}

/**
 * Runs one step of a paced walk over objects: `syncStep` when the caller has one and `pacer` picks
 * synchronous calls, yielding to the event loop after each 20 ms of them (so progress, requests
 * and the signal are served), else `asyncStep` through `pool`. The pacer counts the step either way.
 */
export type PacedStep = (syncStep: (() => void) | undefined, asyncStep: () => Promise<void>) => Promise<void>;

/** A PacedStep over `pacer` and `pool`; its 20 ms count starts now. */
export function pacedSteps(pacer: WalkPacer, pool: TaskPool): PacedStep {
  let lastYield = Date.now();
  return async (syncStep, asyncStep) => {
    if (syncStep && pacer.sync) {
      syncStep();
      pacer.done(1);
      if (Date.now() - lastYield > 20) {
        await yieldToLoop();
        lastYield = Date.now();
      }
      return;
    }
    await pool.add(async () => {
      await asyncStep();
      pacer.done(1);
    });
  };
}
