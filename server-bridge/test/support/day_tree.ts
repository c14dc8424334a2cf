/**
 * The file-store fixture of the carried-day tests (tree_carry*.test.ts): day directories in
 * Mattermost's layout, a sibling that sorts between a day and its subtree, a profile image.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LocalStorage } from '../../src/storage/local_storage';
import { Repository } from '../../src/repository/repository';

export const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

/** The day directory a path lies in (the backup's subtreeOf for the file store), else undefined. */
export const dayOf = (rel: string): string | undefined => (/^\d{8}\//.test(rel) ? rel.slice(0, 8) : undefined);

/** A new work directory (`prefix`) with a repository and a tree of `files` (path → content). */
export async function dayTree(
  prefix: string,
  files: Record<string, string>,
): Promise<{ work: string; root: string; repo: Repository }> {
  const work = await mkdtemp(path.join(os.tmpdir(), prefix));
  const root = path.join(work, 'tree');
  const repo = await Repository.open(await LocalStorage.open(path.join(work, 'repo')));
  for (const [rel, body] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), body);
  }
  return { work, root, repo };
}
