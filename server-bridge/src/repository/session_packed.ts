/**
 * The names of the objects packed in finished packs of this job, exactly: a prefix filter answers
 * most lookups, and a yes is confirmed in the sorted names of each finished pack (32 bytes an
 * object, off the heap). The pack being written is its writer's to answer.
 *
 * Names enter the filter a pack at a time, at finish(): the filter merges what was added at its
 * next lookup, in O(its size), so one name at a time between lookups (a lookup per file, as a
 * backup does) made a backup of n new small files O(n²): 200k files took over 10 minutes of CPU.
 */
import { PrefixSet } from '../core/hash_set';
import type { FinishedPack } from './pack_writer';

export class SessionPacked {
  private readonly filter = new PrefixSet();
  private readonly finished: Buffer[] = [];

  /** Records a finished pack's names. */
  finish(pack: FinishedPack): void {
    const names = pack.index.objects.map((o) => Buffer.from(o.sha256, 'hex')).sort((a, b) => a.compare(b));
    for (const o of pack.index.objects) this.filter.add(o.sha256);
    this.finished.push(Buffer.concat(names));
  }

  /** Whether `sha` is in a pack finished in this job. */
  has(sha: string): boolean {
    if (!this.filter.has(sha)) return false;
    const key = Buffer.from(sha, 'hex');
    return this.finished.some((names) => {
      let lo = 0;
      let hi = names.length / 32;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        // names[mid] against key: negative when names[mid] sorts first, so the name is after it.
        const c = names.compare(key, 0, 32, mid * 32, mid * 32 + 32);
        if (c === 0) return true;
        if (c < 0) lo = mid + 1;
        else hi = mid;
      }
      return false;
    });
  }

  /** Merges the filter ran (each costs O(names held)): at most one per finished pack. */
  get filterMerges(): number {
    return this.filter.merges;
  }
}
