/**
 * What a tree restore learned of the paths it made, by their place in the entry list (as
 * inPathOrder gives it): the inode and the mtime in nanoseconds a writer thread read from the
 * handle that wrote a file or set a directory's metadata (file_writer_worker.ts), recorded only
 * when the owner, mode and size were what the entry asked for. The post-restore index
 * (restore_index.ts) takes them instead of an lstat of each path; a place with nothing is looked at.
 *
 * Memory stays flat: 16 bytes a place, in pages of 4096 places (64 KiB), of which only a few are
 * held; the rest go to a file in the process's spool directory (0600, unlinked at once, as
 * name_file.ts does), 16 MB at a million files. Held in memory, they were the restore's only
 * memory that grew with the file count (run of 2026-12-06: a 1M-file restore peaked at 205 MB).
 * Reports arrive nearly in place order and the index reads them in order, so each page is
 * written and read about once. A page that cannot be written or read back is forgotten: its
 * places are unknown, and the index looks at those paths on disk, as for any other.
 */
import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { spoolDirSync } from '../manifest/spool_dir';

const PAGE = 4096;
/** Two BigInt64 values a place: the inode, then the mtime. */
const PAGE_BYTES = PAGE * 16;
/** Pages held in memory at most (512 KiB). */
const HELD = 8;

const descriptors = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    /* already closed */
  }
});

/** A path's inode and mtime in nanoseconds, as it was left. */
export interface KnownStat {
  ino: bigint;
  mtimeNs: bigint;
}

/**
 * Contract: set(at, …) records place `at`; get(at) returns what was recorded there (or undefined);
 * any order works, in-order costs least. close() lets go of the file and every page; a
 * RestoredStats that is simply dropped leaks nothing either.
 */
export class RestoredStats {
  /** Held pages by number, each [ino, mtime] per place; `dirty`: changed since last written. */
  private readonly held = new Map<number, { values: BigInt64Array; dirty: boolean }>();
  /** Pages written to the file (and not held, or held and maybe changed since). */
  private readonly spilled = new Set<number>();
  /** The array of the page written out last, for the next page. */
  private spare: BigInt64Array | undefined;
  /** Places recorded in each page, so that a page that is lost takes its count with it. */
  private readonly counts = new Map<number, number>();
  private fd: number | undefined;
  private closed = false;
  private count = 0;

  /** Entry `at` was left with inode `ino` and mtime `mtimeNs`; 0n for the inode (unknown) records nothing. */
  set(at: number, ino: bigint, mtimeNs: bigint): void {
    if (this.closed || ino <= 0n || !Number.isSafeInteger(at) || at < 0) return;
    const key = Math.floor(at / PAGE);
    const page = this.page(key, true) as { values: BigInt64Array; dirty: boolean };
    const i = (at % PAGE) * 2;
    if (page.values[i] === 0n) {
      this.count++;
      this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    }
    page.values[i] = ino;
    page.values[i + 1] = mtimeNs;
    page.dirty = true;
  }

  /** What entry `at` was left as, or undefined when nothing was recorded for it. */
  get(at: number): KnownStat | undefined {
    if (this.closed || !Number.isSafeInteger(at) || at < 0) return undefined;
    const page = this.page(Math.floor(at / PAGE), false);
    const i = (at % PAGE) * 2;
    const ino = page?.values[i];
    if (!page || !ino) return undefined;
    return { ino, mtimeNs: page.values[i + 1] as bigint };
  }

  /** How many entries have something recorded. */
  get size(): number {
    return this.count;
  }

  /** Lets go of every page and the file; get() then knows nothing. More than once is fine. */
  close(): void {
    this.closed = true;
    this.held.clear();
    this.spilled.clear();
    this.counts.clear();
    this.spare = undefined;
    if (this.fd === undefined) return;
    descriptors.unregister(this);
    try {
      closeSync(this.fd);
    } catch {
      /* already closed */
    }
    this.fd = undefined;
  }

  /** Page `key`, held (read back if it was written out, made if `make` and it never was). */
  private page(key: number, make: boolean): { values: BigInt64Array; dirty: boolean } | undefined {
    const got = this.held.get(key);
    if (got) return got;
    const spilled = this.spilled.has(key);
    if (!spilled && !make) return undefined;
    while (this.held.size >= HELD) this.evict();
    // The array of the page let go last is used again: the pages ever made are HELD + 1.
    const values = this.spare ?? new BigInt64Array(PAGE * 2);
    this.spare = undefined;
    if (!spilled || !this.readBack(key, values)) {
      if (!make) {
        this.spare = values;
        return undefined;
      }
      values.fill(0n);
    }
    const page = { values, dirty: false };
    this.held.set(key, page);
    return page;
  }

  /** Writes out the lowest held page (reports come in increasing order: it is the likeliest done). */
  private evict(): void {
    let key = Infinity;
    for (const k of this.held.keys()) key = Math.min(key, k);
    const page = this.held.get(key) as { values: BigInt64Array; dirty: boolean };
    this.held.delete(key);
    this.spare = page.values;
    if (!page.dirty) return;
    try {
      const fd = this.file();
      for (let off = 0; off < PAGE_BYTES;) {
        off += writeSync(fd, page.values, off, PAGE_BYTES - off, key * PAGE_BYTES + off);
      }
      this.spilled.add(key);
    } catch {
      // A full or failing temporary disk: these places become unknown (the index looks at them).
      this.forget(key);
    }
  }

  /** Reads page `key` back into `into`; false (the page forgotten) when it cannot be. */
  private readBack(key: number, into: BigInt64Array): boolean {
    try {
      for (let off = 0; off < PAGE_BYTES;) {
        const n = readSync(this.file(), into, off, PAGE_BYTES - off, key * PAGE_BYTES + off);
        if (n === 0) throw new Error('short read');
        off += n;
      }
      // Still in the file: a page let go unchanged is not written again.
      return true;
    } catch {
      this.forget(key);
      return false;
    }
  }

  /** What page `key` held is lost: its places are unknown and no longer count. */
  private forget(key: number): void {
    this.spilled.delete(key);
    this.count -= this.counts.get(key) ?? 0;
    this.counts.delete(key);
  }

  private file(): number {
    if (this.fd !== undefined) return this.fd;
    const file = path.join(spoolDirSync(), `restored-stats-${randomBytes(8).toString('hex')}`);
    const fd = openSync(file, 'wx+', 0o600);
    rmSync(file, { force: true });
    this.fd = fd;
    descriptors.register(this, fd, this);
    return fd;
  }
}
