/**
 * What a backup records of a path's lstat (or of a handle's fstat), kept compact: a BigIntStats
 * costs about a kilobyte, and the walk holds one of these for each path in its window.
 */
import type { BigIntStats } from 'node:fs';

/** One path's metadata, as a manifest entry takes it; `dev` and `ino` name the file itself. */
export interface Meta {
  kind: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  /** Nanoseconds since the epoch, as a decimal string. */
  mtime: string;
  size: number;
  ino: number;
  /** The device the file is on: with `ino`, which file a handle opened later must be. */
  dev: number;
}

export function metaOf(st: BigIntStats): Meta {
  return {
    kind: st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other',
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    mtime: st.mtimeNs.toString(),
    size: Number(st.size),
    ino: Number(st.ino),
    dev: Number(st.dev),
  };
}
