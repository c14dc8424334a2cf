/** A FIFO of waiters with O(1) dequeue (Array.shift is O(n), ruinous with 50k waiters). */
class Waiters {
  private items: Array<() => void> = [];
  private head = 0;
  push(fn: () => void): void {
    this.items.push(fn);
  }
  wakeOne(): void {
    if (this.head >= this.items.length) return;
    const fn = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    fn?.();
  }
}

/** Runs `fn` over `items` with at most `limit` calls in flight, in order of start. */
export async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Runs async tasks with at most `limit` in flight; the first failure rejects `drain()`. */
export class TaskPool {
  private running = 0;
  private readonly waiting = new Waiters();
  private failure: Error | undefined;
  private readonly inflight = new Set<Promise<void>>();
  constructor(private readonly limit: number) {}

  /** Waits for a free slot, then starts `task` without awaiting it. */
  async add(task: () => Promise<void>): Promise<void> {
    if (this.failure) throw this.failure;
    while (this.running >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    const p = task()
      .catch((err: unknown) => {
        this.failure ??= err instanceof Error ? err : new Error(String(err));
      })
      .finally(() => {
        this.running--;
        this.inflight.delete(p);
        this.waiting.wakeOne();
      });
    this.inflight.add(p);
  }

  /** Resolves when every task has finished; rejects with the first error. */
  async drain(): Promise<void> {
    while (this.inflight.size) await Promise.all([...this.inflight]);
    if (this.failure) throw this.failure;
  }
}

/** Bounds how many calls of a kind (e.g. lstat) run at once, however deep the recursion goes. */
export class Semaphore {
  private active = 0;
  private readonly queue = new Waiters();
  constructor(private readonly limit: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    while (this.active >= this.limit) await new Promise<void>((r) => this.queue.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.queue.wakeOne();
    }
  }
}
