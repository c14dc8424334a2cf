/**
 * Writes entries to a spool in the order they were added, while some of them are still being
 * worked on (a file being hashed, a directory being listed): a bounded window of pending entries
 * lets that work overlap without ever reordering the index.
 */
import type { Entry } from '../manifest/manifest';
import type { EntrySpool } from '../manifest/entry_spool';

interface Slot {
  /** Settles to the entry, or to undefined when the path is to be left out (it vanished). */
  promise: Promise<Entry | undefined> | undefined;
  entry: Entry | undefined;
  done: boolean;
  cost: number;
  /** A held slot's: does work that may settle it (awaited while the window waits for it). */
  wait?: () => Promise<void>;
}

/** An entry held in the window until `settle` (or `settleWith`) says what to write for it. */
export interface HeldEntry {
  /** The entry as it was held (the caller completes it before settling). */
  readonly entry: Entry | undefined;
}

/** Rough bytes one waiting entry keeps alive (object, strings), for the window's byte bound. */
const entryCost = (rel: string): number => 240 + 2 * rel.length;

export interface OrderedOutputLimits {
  /** Entries waiting in the window before `add` waits for the oldest. */
  count: number;
  /** Their estimated memory, likewise. */
  bytes: number;
}

/** An ordered window in front of an EntrySpool. Not safe for concurrent `add` calls (one walk feeds it). */
export class OrderedOutput {
  private queue: Slot[] = [];
  private head = 0;
  private bytes = 0;
  private most = 0;

  constructor(
    private readonly spool: EntrySpool,
    private readonly limits: OrderedOutputLimits = { count: 16384, bytes: 8 * 1024 * 1024 },
    /** Sees each entry as it is written (left-out paths never reach it). */
    private readonly onWrite?: (e: Entry) => void,
  ) {}

  /**
   * Queues the entry for `rel` (or the work that yields it), writes whatever is ready at the
   * front, and waits while the window is over its bounds. A rejected promise fails the `add`
   * or `finish` that reaches it.
   */
  async add(item: Entry | Promise<Entry | undefined>, rel: string): Promise<void> {
    if (item instanceof Promise) {
      const slot: Slot = { promise: item, entry: undefined, done: false, cost: entryCost(rel) };
      // Marks the rejection as handled now; it is rethrown when the slot is written.
      item.then(
        (e) => {
          slot.entry = e;
          slot.done = true;
        },
        () => {
          slot.done = true;
        },
      );
      this.push(slot);
    } else if (this.head === this.queue.length) {
      this.onWrite?.(item);
      await this.spool.write(item); // nothing waiting in front of it
      return;
    } else {
      this.push({ promise: undefined, entry: item, done: true, cost: entryCost(rel) });
    }
    await this.flush(false);
  }

  /**
   * Holds `entry` in the window, in order, without a promise: the caller settles it later, and
   * `wait` is what the window awaits (again, until it is settled) when it must write it. Call
   * `pace()` afterwards to write what is ready and keep the window within its bounds.
   */
  hold(entry: Entry, rel: string, wait: () => Promise<void>): HeldEntry {
    const slot: Slot = { promise: undefined, entry, done: false, cost: entryCost(rel), wait };
    this.push(slot);
    return slot;
  }

  /** Says what a held entry is: the entry to write, or undefined to leave its path out. */
  settle(held: HeldEntry, entry: Entry | undefined): void {
    const slot = held as Slot;
    slot.entry = entry;
    slot.done = true;
  }

  /** A held entry is what `work` settles to (as `add` with a promise). */
  settleWith(held: HeldEntry, work: Promise<Entry | undefined>): void {
    const slot = held as Slot;
    slot.promise = work;
    work.then(
      (e) => this.settle(slot, e),
      () => {
        slot.done = true;
      },
    );
  }

  /** Writes what is ready at the front and waits while the window is over its bounds. */
  async pace(): Promise<void> {
    await this.flush(false);
  }

  /** Waits for every pending entry and writes them all. */
  async finish(): Promise<void> {
    await this.flush(true);
  }

  /** Entries waiting in the window (tests, bounds). */
  get waiting(): number {
    return this.queue.length - this.head;
  }

  /** The most entries that waited in the window at once. */
  get peak(): number {
    return this.most;
  }

  /** The slot's entry once it is settled (a held slot's `wait` is run until it is). */
  private async settled(slot: Slot): Promise<Entry | undefined> {
    while (!slot.done && !slot.promise && slot.wait) await slot.wait();
    return slot.promise ? await slot.promise : slot.entry;
  }

  private push(slot: Slot): void {
    this.queue.push(slot);
    this.bytes += slot.cost;
    if (this.queue.length - this.head > this.most) this.most = this.queue.length - this.head;
  }

  private async flush(all: boolean): Promise<void> {
    while (this.head < this.queue.length) {
      const slot = this.queue[this.head] as Slot;
      const over = this.waiting > this.limits.count || this.bytes > this.limits.bytes;
      if (!slot.done && !all && !over) break;
      const entry = await this.settled(slot);
      this.head++;
      this.bytes -= slot.cost;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      if (!entry) continue;
      this.onWrite?.(entry);
      await this.spool.write(entry);
    }
  }
}
