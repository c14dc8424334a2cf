import v8 from 'node:v8';
import { startMemoryGovernor } from '../../src/core/memory_governor';

test('collects garbage once the heap has grown past the floor, and stops when asked', async () => {
  const used = () => v8.getHeapStatistics().used_heap_size;
  const before = used();
  const stop = startMemoryGovernor({ floorBytes: before + 16 * 1024 * 1024, intervalMs: 20 });
  try {
    // Garbage that survives young-generation cycles while it is built, until the heap is 30 MB
    // above where it started: a collection on the way may first free what earlier tests in this
    // worker left, so a fixed amount does not always show as growth.
    let keep: string[][] = [];
    for (let i = 0; i < 300 && used() - before <= 32 * 1024 * 1024; i++) {
      keep.push(Array.from({ length: 20000 }, (_, j) => `garbage ${i} ${j} ${'x'.repeat(60)}`));
    }
    const peak = used();
    keep = [];
    expect(peak - before).toBeGreaterThan(30 * 1024 * 1024);
    // Without a collection V8 keeps the old generation as it is for a long while.
    const deadline = Date.now() + 5000;
    while (used() > peak - 30 * 1024 * 1024 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(used()).toBeLessThan(peak - 30 * 1024 * 1024);
  } finally {
    stop();
  }
});
