/**
 * Keeps the heap near what is really live. V8 lets garbage pile up to several times the live
 * set before a full collection, so a walk over 100k files (short-lived stat results, promises and
 * paths that outlive a young-generation cycle) made the resident size several times the data it
 * actually held. A hard heap cap would crash large installs; instead, when the heap has doubled
 * since the last full collection, one is requested (tens of ms, well under 1% of a backup).
 */
import v8 from 'node:v8';
import vm from 'node:vm';

export interface GovernorOptions {
  /** Below this heap size nothing is done (MB of garbage is harmless). */
  floorBytes?: number;
  intervalMs?: number;
}

/** Starts the governor; returns a stop function. Without a usable gc() it does nothing. */
export function startMemoryGovernor(opts: GovernorOptions = {}): () => void {
  const floor = opts.floorBytes ?? 64 * 1024 * 1024;
  const gc = exposeGc();
  if (!gc) return () => undefined;
  let lastLive = 0;
  const timer = setInterval(() => {
    const used = v8.getHeapStatistics().used_heap_size;
    if (used < Math.max(floor, lastLive * 2)) return;
    gc();
    lastLive = v8.getHeapStatistics().used_heap_size;
  }, opts.intervalMs ?? 200);
  timer.unref();
  return () => clearInterval(timer);
}

function exposeGc(): (() => void) | undefined {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  try {
    // The documented V8 flag, set at run time; a fresh context then carries the gc() global.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}
