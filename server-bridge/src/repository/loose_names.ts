/**
 * The loose object files of a local repository (objects/xx/<name>), by each name's first 48
 * bits, each directory read once: whether a new small object is already stored loose is then
 * answered from memory instead of by a stat that finds nothing, a tenth of the main thread's time
 * in a first backup of a million small files (docs/performance.md). 8 bytes a loose object.
 *
 * Contract: mayHold(sha) is false only when no file of that name was in its directory when the
 * directory was read; true asks the caller to look (a prefix shared by chance, or a name that is
 * not a regular file). clear() forgets everything: call it when another process may have written
 * objects since (a new job; writers hold the job lock).
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { StorageError } from '../core/errors';
import type { Storage } from '../storage/storage';
import { OBJECTS } from './layout';

const NAME = /^[0-9a-f]{64}$/;
/** A name's first 48 bits, exact in a double. */
const prefixOf = (sha: string): number => parseInt(sha.slice(0, 12), 16);

export class LooseNames {
  /** Sorted prefixes by directory (the name's first two characters); null: no such directory. */
  private readonly dirs = new Map<string, Float64Array | null>();

  constructor(private readonly objectsDir: string) {}

  mayHold(sha: string): boolean {
    const dir = sha.slice(0, 2);
    let held = this.dirs.get(dir);
    if (held === undefined) {
      held = this.read(dir);
      this.dirs.set(dir, held);
    }
    return held !== null && includes(held, prefixOf(sha));
  }

  clear(): void {
    this.dirs.clear();
  }

  private read(dir: string): Float64Array | null {
    let names: string[];
    try {
      names = readdirSync(path.join(this.objectsDir, dir));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      // The repository's failure (EACCES, EIO), never one of the file being backed up.
      throw new StorageError(`cannot list ${OBJECTS}/${dir}: ${code ?? (err as Error).message}`, {
        cause: err,
        permanent: code === 'EACCES' || code === 'EPERM',
      });
    }
    const held = Float64Array.from(names.filter((n) => NAME.test(n)).map(prefixOf));
    return held.sort();
  }
}

/** The loose names of `storage`'s objects/ when it is a local directory. */
export function looseNamesOf(storage: Storage): LooseNames | undefined {
  const local = storage.describe().local;
  return local && new LooseNames(path.join(local.root, OBJECTS));
}

function includes(sorted: Float64Array, x: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid] as number;
    if (v === x) return true;
    if (v < x) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
