/**
 * Replaces a small file atomically: written to a temporary file beside it, then renamed over it.
 * The temporary name is random and created exclusively ('wx', 0600 by default), never a name
 * derived from the pid: several of these files live in the repository, where whoever can write it
 * could plant a link at a predictable name for this root-run process to write through.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';

export async function replaceFile(file: string, text: string, mode = 0o600): Promise<void> {
  const tmp = `${file}.tmp-${randomBytes(8).toString('hex')}`;
  try {
    await writeFile(tmp, text, { mode, flag: 'wx' });
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
