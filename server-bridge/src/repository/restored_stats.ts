/**
 * What a tree restore learned of the paths it made, by their place in the entry list (as
 * inPathOrder gives it): the inode and the mtime in nanoseconds a writer thread read from the
 * handle that wrote a file or set a directory's metadata (file_writer_worker.ts), recorded only
 * when the owner, mode and size were what the entry asked for. The post-restore index
 * (restore_index.ts) takes them instead of an lstat of each path; a place with nothing is looked at.
 *
 * Memory: 16 bytes for each place in a page of 4096 that has one (a restore of a million files
 * made by the threads: 16 MB).
 */
const PAGE = 4096;

interface Page {
  ino: BigInt64Array;
  mtimeNs: BigInt64Array;
}

/** A path's inode and mtime in nanoseconds, as it was left. */
export interface KnownStat {
  ino: bigint;
  mtimeNs: bigint;
}

export class RestoredStats {
  private readonly pages = new Map<number, Page>();
  private count = 0;

  /** Entry `at` was left with inode `ino` and mtime `mtimeNs`; 0n for the inode (unknown) records nothing. */
  set(at: number, ino: bigint, mtimeNs: bigint): void {
    if (ino <= 0n || !Number.isSafeInteger(at) || at < 0) return;
    const key = Math.floor(at / PAGE);
    let page = this.pages.get(key);
    if (!page) {
      page = { ino: new BigInt64Array(PAGE), mtimeNs: new BigInt64Array(PAGE) };
      this.pages.set(key, page);
    }
    if (page.ino[at % PAGE] === 0n) this.count++;
    page.ino[at % PAGE] = ino;
    page.mtimeNs[at % PAGE] = mtimeNs;
  }

  /** What entry `at` was left as, or undefined when nothing was recorded for it. */
  get(at: number): KnownStat | undefined {
    const page = this.pages.get(Math.floor(at / PAGE));
    const ino = page?.ino[at % PAGE];
    if (!page || !ino) return undefined;
    return { ino, mtimeNs: page.mtimeNs[at % PAGE] as bigint };
  }

  /** How many entries have something recorded. */
  get size(): number {
    return this.count;
  }
}
