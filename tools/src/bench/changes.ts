/** The "1 % changed" step of the benchmark: new posts and new attachments in a generated install. */
import { randomBytes } from 'node:crypto';
import { mkdir, open, stat } from 'node:fs/promises';
import path from 'node:path';
import { openSqlConn, type PgServer, type Sandbox, type SqlConn } from '@mm-backup/testkit';

const MB = 1024 * 1024;

/** Adds `frac` new posts (copies of existing ones with new ids) and `frac` new attachments (new incompressible files plus fileinfo rows). */
export async function addChanges(
  w: { pg: PgServer; sb: Sandbox },
  frac: number,
): Promise<{ posts: number; files: number; bytes: number }> {
  const conn = await openSqlConn({
    driver: 'postgres',
    host: '127.0.0.1',
    port: w.pg.port,
    user: w.sb.dbUser,
    password: w.sb.dbPassword,
    database: w.sb.dbName,
  });
  try {
    const cols = async (t: string) =>
      (
        await conn.native<{ column_name: string }>(
          `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`,
          [t],
        )
      ).map((r) => r.column_name);
    const now = Date.now();
    const postCols = await cols('posts');
    const nPosts = Math.max(1, Math.ceil((w.sb.counts.posts ?? 0) * frac));
    const postExpr = postCols.map((c) => {
      if (c === 'id') return `substr(md5(random()::text || clock_timestamp()::text || id), 1, 26)`;
      if (c === 'createat' || c === 'updateat' || c === 'editat') return `${now}::bigint`;
      return `"${c}"`;
    });
    await conn.native(
      `INSERT INTO posts (${postCols.map((c) => `"${c}"`).join(', ')}) SELECT ${postExpr.join(', ')} FROM posts LIMIT ${nPosts}`,
    );

    const fiCols = await cols('fileinfo');
    const [{ n } = { n: '0' }] = await conn.native<{ n: string }>('SELECT count(*) AS n FROM fileinfo');
    const nFiles = Math.max(1, Math.ceil(Number(n) * frac));
    const picked = await conn.native<{ id: string; path: string; thumbnailpath: string; previewpath: string }>(
      `SELECT id, path, thumbnailpath, previewpath FROM fileinfo WHERE deleteat = 0 ORDER BY random() LIMIT ${nFiles}`,
    );
    const d = new Date(now);
    const day = `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
    const fiExpr = fiCols.map((c) => {
      if (c === 'id') return '$1';
      if (c === 'path') return '$2';
      if (c === 'thumbnailpath') return '$3';
      if (c === 'previewpath') return '$4';
      if (c === 'createat' || c === 'updateat') return '$5::bigint';
      return `"${c}"`;
    });
    const insertFi = `INSERT INTO fileinfo (${fiCols.map((c) => `"${c}"`).join(', ')}) SELECT ${fiExpr.join(', ')} FROM fileinfo WHERE id = $6`;
    let files = 0;
    let bytes = 0;
    for (const row of picked) {
      const newId = randomId();
      const move = (p: string) => {
        if (!p) return '';
        const segs = p.split('/');
        segs[0] = day;
        segs[segs.length - 2] = newId;
        return segs.join('/');
      };
      const paths: Array<[string, string]> = [
        [row.path, move(row.path)],
        [row.thumbnailpath, move(row.thumbnailpath)],
        [row.previewpath, move(row.previewpath)],
      ];
      for (const [from, to] of paths) {
        if (!from) continue;
        const size = (await stat(path.join(w.sb.dataDir, from)).catch(() => undefined))?.size ?? 0;
        await writeRandom(path.join(w.sb.dataDir, to), size);
        files++;
        bytes += size;
      }
      await insertConn(conn, insertFi, [newId, paths[0]?.[1], paths[1]?.[1], paths[2]?.[1], now, row.id]);
    }
    return { posts: nPosts, files, bytes };
  } finally {
    await conn.close();
  }
}

async function insertConn(conn: SqlConn, sql: string, params: unknown[]): Promise<void> {
  await conn.native(sql, params);
}

function randomId(): string {
  const alphabet = 'abcdefghijkmnopqrstuwxyz13456789';
  const b = randomBytes(26);
  let s = '';
  for (const x of b) s += alphabet.charAt(x % 32);
  return s;
}

async function writeRandom(file: string, size: number): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const fh = await open(file, 'w', 0o644);
  try {
    let left = size;
    while (left > 0) {
      const n = Math.min(left, 4 * MB);
      await fh.write(randomBytes(n));
      left -= n;
    }
  } finally {
    await fh.close();
  }
}
