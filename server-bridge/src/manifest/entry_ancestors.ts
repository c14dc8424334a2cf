/**
 * The entries of a list sorted by path (byPath) that may still be ancestors of the entry being
 * read: what a one-pass check or restore needs to know about the directories above it, in memory
 * bounded by the depth of the tree instead of the number of entries.
 */
import type { Entry } from './manifest';
import type { EntryList } from './entry_list';

/**
 * Whether no path sorting at or after `next` can lie under `p`: its subtree is the range
 * [p + '/', p + '0') ('0' follows '/'), and `next` is past it. A sibling such as 'a.txt' sorts
 * between 'a' and 'a/…' ('.' sorts before '/'), so 'a' stays a candidate across it.
 */
function passed(p: string, next: string): boolean {
  return next >= `${p}0`;
}

/**
 * A stack of candidates: each is a string prefix of the one above it (an entry sorts inside the
 * range of every candidate it does not pass), so only the top ever needs popping, and the stack
 * is never deeper than the longest path is long. Contract: paths given to `pop` and `push` never
 * decrease, and the root ('') is not pushed (it is everyone's ancestor).
 */
export class AncestorStack<T extends { path: string }> {
  private readonly stack: T[] = [];

  /** The next candidate that can be an ancestor of nothing at or after `next`, removed; undefined when none is left. */
  popPassed(next: string): T | undefined {
    const top = this.stack.at(-1);
    return top && passed(top.path, next) ? this.stack.pop() : undefined;
  }

  /** Drops every candidate that can be an ancestor of nothing at or after `next`. */
  skipTo(next: string): void {
    while (this.popPassed(next) !== undefined) {
      /* popped */
    }
  }

  push(c: T): void {
    this.stack.push(c);
  }

  /** The candidate listed at exactly `p`, if it is still on the stack (call popPassed first). */
  find(p: string): T | undefined {
    for (let i = this.stack.length - 1; i >= 0; i--) {
      const c = this.stack[i] as T;
      if (c.path === p) return c;
    }
    return undefined;
  }

  /** The next candidate left at the end of the list (deepest first), removed. */
  pop(): T | undefined {
    return this.stack.pop();
  }
}

/**
 * The list in path order, as the one-pass checks and the restore read it: an array (small: tests,
 * a list built in memory) is sorted into a copy when it is not sorted already (stably, so that a
 * path listed twice stays listed twice, side by side); a stream is sorted by whoever made it
 * (manifest_load.ts, a backup's walk), and one that is not is refused where it is read.
 */
export function inPathOrder(list: EntryList): EntryList {
  if (!Array.isArray(list)) return list;
  const entries = list as readonly Entry[];
  for (let i = 1; i < entries.length; i++) {
    if ((entries[i] as Entry).path < (entries[i - 1] as Entry).path) {
      // byPath's order, written out: manifest.ts imports this file, so it cannot import byPath.
      return [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    }
  }
  return entries;
}
