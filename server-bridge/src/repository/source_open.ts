/**
 * Opening a file to back it up. O_NOATIME: reading does not write the file's access time. With
 * `relatime` (Linux's default) the first read after each change did, one inode write per new
 * file: 12 s of a first backup of a million files (docs/performance.md), and the backup changed
 * what it read. Only the file's owner (or CAP_FOWNER) may ask for it; anyone else gets EPERM and
 * the file is opened without it. O_NONBLOCK: a FIFO put where a file was listed cannot block the open.
 * O_NOFOLLOW: a symbolic link put where a file was listed is not followed (ELOOP), so a writer of
 * the tree cannot have a file it may not read (/etc/shadow) backed up under its own path, to read it
 * after a restore. Sources are always files a walk listed (lstat), never links.
 */
import { constants, openSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

const PLAIN = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW;
/** PLAIN and O_NOATIME: the flags a source is opened with first. */
export const SOURCE_FLAGS = PLAIN | constants.O_NOATIME;

const notOwner = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'EPERM';

/** Opens `file` for reading as a backup source; fails as openSync does (ENOENT: it vanished). */
export function openSourceSync(file: string): number {
  try {
    return openSync(file, SOURCE_FLAGS);
  } catch (err) {
    if (!notOwner(err)) throw err;
    return openSync(file, PLAIN);
  }
}

/** openSourceSync through libuv's threads. */
export async function openSource(file: string): Promise<FileHandle> {
  try {
    return await open(file, SOURCE_FLAGS);
  } catch (err) {
    if (!notOwner(err)) throw err;
    return open(file, PLAIN);
  }
}
