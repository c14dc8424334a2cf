/** Describes a directory tree (content hash, type, mode, owner, mtime to the µs, symlink target) for equality checks. */
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';

/**
 * `skip`: relative paths left out. `dirMtimes: false` ignores directory mtimes, which a running
 * Mattermost changes by itself (its health check writes and removes a file in the file store).
 */
export async function describeTree(
  root: string,
  skip: string[] = [],
  opts: { dirMtimes?: boolean } = {},
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string): Promise<void> => {
    if (skip.includes(rel)) return;
    const abs = rel ? path.join(root, rel) : root;
    const st = await lstat(abs, { bigint: true });
    const meta = `mode=${(st.mode & 0o7777n).toString(8)} uid=${st.uid} gid=${st.gid}`;
    if (st.isDirectory()) {
      out[rel || '.'] = `dir ${meta}${rel && opts.dirMtimes !== false ? ` mtime=${st.mtimeNs / 1000n}` : ''}`;
      for (const n of (await readdir(abs)).sort()) await walk(rel ? `${rel}/${n}` : n);
    } else if (st.isSymbolicLink()) {
      out[rel] = `symlink -> ${await readlink(abs)}`;
    } else {
      out[rel] = `file ${createHash('sha256')
        .update(await readFile(abs))
        .digest('hex')
        .slice(0, 16)} ${meta} mtime=${st.mtimeNs / 1000n}`;
    }
  };
  await walk('');
  return out;
}
