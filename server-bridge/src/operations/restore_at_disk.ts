/**
 * The on-disk half of the attachment merge's safety (restore_at_files.ts): the merge restores a
 * list of single paths, and in that mode the tree restore creates a missing parent with
 * mkdir -p, which follows a symbolic link already on disk. So every added path is checked on
 * disk first: no ancestor under the target root may be a link or a non-directory, and the path
 * itself may not already be something of another type (which the restore would delete).
 */
import { lstat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';
import type { Entry } from '../manifest/manifest';

/** Bounds the memory of the ancestor cache; entries arrive in path order, so recent ones are the useful ones. */
const CACHE_LIMIT = 4096;
const NOT_DIR = Symbol('not a directory');

/**
 * Answers, for entries relative to `root`, why writing one there would leave the root or replace
 * something the snapshot does not know; undefined when it is safe. The root itself is not
 * judged: it is the one the whole-tree restore just wrote.
 */
export class DiskAncestry {
  /** Directory (relative) → undefined when it is a real directory or absent, else the problem. */
  private readonly dirs = new Map<string, string | undefined>();

  constructor(private readonly root: string) {}

  async problem(e: Entry): Promise<string | undefined> {
    const segs = e.path.split('/');
    let rel = '';
    for (const seg of segs.slice(0, -1)) {
      rel = rel ? `${rel}/${seg}` : seg;
      const bad = await this.dirProblem(rel);
      if (bad === 'absent') return undefined; // nothing below a missing directory exists: mkdir makes real ones
      if (bad) return bad;
    }
    const own = await this.stat(e.path);
    if (own === NOT_DIR) return 'lies under a path that is not a directory on disk';
    if (own && typeOf(own) !== e.type) return `is a ${typeOf(own)} on disk, not the snapshot's ${e.type}`;
    return undefined;
  }

  private async dirProblem(rel: string): Promise<string | undefined> {
    if (this.dirs.has(rel)) return this.dirs.get(rel);
    const st = await this.stat(rel);
    const bad =
      st === undefined
        ? 'absent'
        : st !== NOT_DIR && st.isDirectory()
          ? undefined
          : `lies under ${JSON.stringify(rel)}, which is ${st === NOT_DIR ? 'not a directory' : `a ${typeOf(st)}`} on disk`;
    if (this.dirs.size >= CACHE_LIMIT) this.dirs.clear();
    this.dirs.set(rel, bad);
    return bad;
  }

  /** undefined: absent; NOT_DIR: something above it is not a directory (it changed since it was looked at). */
  private stat(rel: string): Promise<Stats | typeof NOT_DIR | undefined> {
    return lstat(path.join(this.root, ...rel.split('/'))).catch((err: unknown) => {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      if (code === 'ENOTDIR') return NOT_DIR;
      throw err;
    });
  }
}

function typeOf(st: Stats): string {
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isDirectory()) return 'dir';
  return st.isFile() ? 'file' : 'special file';
}
