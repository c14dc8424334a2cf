/**
 * The many-files tree of the benchmark: small attachments in Mattermost's layout
 * (data/YYYYMMDD/teams/<teamId>/channels/<channelId>/users/<userId>/<fileId>/{name.ext,
 * name_thumb.jpg, name_preview.jpg}), each with its `fileinfo` row pointing at a real post, as a
 * large install's file store looks: many files of hundreds of bytes to a few KB. Files are written
 * by worker threads in batches; rows are inserted per batch once its files exist (Mattermost's order).
 */
import { cpus } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { newId, openSqlConn, type PgServer, type Sandbox, type SqlConn } from '@mm-backup/testkit';
import type { WorkerBatch, WorkerDone, WorkerItem } from './many_files_worker';

/** A post an attachment hangs off: where its files go and who posted it. */
export interface PostRef {
  id: string;
  channelId: string;
  userId: string;
  teamId: string;
  createAt: number;
}

/** One planned attachment (original, thumbnail, preview). */
export interface PlannedAttachment {
  fileId: string;
  post: PostRef;
  createAt: number;
  dir: string;
  name: string;
  ext: string;
  files: Array<[string, number, string]>;
}

/** What was written. `files` is `attachments` × 3 (the requested count rounded up to a multiple of 3). */
export interface ManyFilesResult {
  attachments: number;
  files: number;
  bytes: number;
  ms: number;
  workers: number;
}

/** A small, seedable PRNG (mulberry32): the tree's shape is the same for the same seed. */
function rngFrom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const logUniform = (rng: () => number, lo: number, hi: number) => Math.round(lo * Math.exp(rng() * Math.log(hi / lo)));

function day(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
}

/**
 * Attachment number j of `count`, on the post at the same relative position (so dates follow the
 * posts'). Names vary like users' uploads, spaces included; sizes are log-uniform: originals
 * 300 B-6 KB, thumbnails 120-600 B, previews 400 B-3.5 KB.
 */
export function planAttachment(
  j: number,
  count: number,
  posts: readonly PostRef[],
  rng: () => number,
): PlannedAttachment {
  const post = posts[Math.floor((j * posts.length) / count)] as PostRef;
  const createAt = post.createAt - 2000;
  const fileId = newId();
  const d = new Date(createAt).toISOString();
  const kind = Math.floor(rng() * 4);
  const name =
    kind === 0
      ? `IMG_${1000 + (j % 9000)}.jpg`
      : kind === 1
        ? `Screenshot ${d.slice(0, 10)} at ${d.slice(11, 19).replace(/:/g, '.')}.png`
        : kind === 2
          ? `photo-${j}.jpg`
          : `diagram_${j % 500}.png`;
  const ext = name.slice(name.lastIndexOf('.') + 1);
  const base = name.slice(0, name.lastIndexOf('.'));
  const dir = `${day(createAt)}/teams/${post.teamId || 'noteam'}/channels/${post.channelId}/users/${post.userId}/${fileId}`;
  return {
    fileId,
    post,
    createAt,
    dir,
    name,
    ext,
    files: [
      [name, logUniform(rng, 300, 6000), `${fileId}o`],
      [`${base}_thumb.jpg`, logUniform(rng, 120, 600), `${fileId}t`],
      [`${base}_preview.jpg`, logUniform(rng, 400, 3500), `${fileId}p`],
    ],
  };
}

/** Errors of the generator (a worker that failed, a tree that cannot be written). */
export class ManyFilesError extends Error {
  readonly code = 'MANY_FILES_FAILED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ManyFilesError';
  }
}

/**
 * Writes `files` (rounded up to a multiple of 3) attachment files under dataDir with a pool of worker
 * threads, and calls `onBatch` with each batch's attachments once their files are on disk (awaited
 * before more than a few batches are outstanding, so rows never run far behind files).
 */
export async function writeAttachmentTree(o: {
  dataDir: string;
  files: number;
  posts: readonly PostRef[];
  seed?: number;
  workers?: number;
  onBatch?: (batch: PlannedAttachment[]) => Promise<void>;
  onProgress?: (files: number) => void;
}): Promise<ManyFilesResult> {
  if (!o.posts.length) throw new ManyFilesError('no posts to attach the files to');
  const t0 = performance.now();
  const count = Math.ceil(o.files / 3);
  const nWorkers = Math.max(1, o.workers ?? Math.max(2, cpus().length));
  const rng = rngFrom(o.seed ?? 12);
  const BATCH = 250;
  const workers = Array.from({ length: nWorkers }, () => new Worker(path.join(__dirname, 'many_files_worker.js')));
  const pending = new Map<number, { resolve: (d: WorkerDone) => void; reject: (e: Error) => void }>();
  // The first error (a worker's, a batch's, the rows'); the loop stops at it. An object, as closures in the loop set it.
  const st: { failure?: Error; rows: Promise<void> } = { rows: Promise.resolve() };
  for (const wk of workers) {
    wk.on('message', (d: WorkerDone) => {
      const p = pending.get(d.seq);
      pending.delete(d.seq);
      if (d.error) p?.reject(new ManyFilesError(`writing attachment files failed: ${d.error}`));
      else p?.resolve(d);
    });
    wk.on('error', (e) => {
      st.failure = new ManyFilesError('a generator worker failed', { cause: e });
      for (const p of pending.values()) p.reject(st.failure);
      pending.clear();
    });
  }
  const result: ManyFilesResult = { attachments: 0, files: 0, bytes: 0, ms: 0, workers: nWorkers };
  // Two batches per worker in flight keep every worker busy while rows are inserted. Neither these
  // nor the row chain ever reject: the first error lands in `st.failure` and stops the loop.
  const inFlight: Array<Promise<void>> = [];
  try {
    let seq = 0;
    for (let start = 0; start < count; start += BATCH) {
      if (st.failure) throw st.failure;
      const planned: PlannedAttachment[] = [];
      for (let j = start; j < Math.min(count, start + BATCH); j++) planned.push(planAttachment(j, count, o.posts, rng));
      const items: WorkerItem[] = planned.map((a) => ({ dir: a.dir, files: a.files }));
      const batch: WorkerBatch = { seq: seq++, root: o.dataDir, items };
      const worker = workers[batch.seq % nWorkers] as Worker;
      const done = new Promise<WorkerDone>((resolve, reject) => {
        pending.set(batch.seq, { resolve, reject });
      });
      worker.postMessage(batch);
      inFlight.push(
        done.then(
          (d) => {
            result.attachments += planned.length;
            result.files += d.files;
            result.bytes += d.bytes;
            o.onProgress?.(result.files);
            // Rows go in one batch after the other on one connection, each after its files.
            const onBatch = o.onBatch;
            if (onBatch) {
              st.rows = st.rows.then(async () => {
                if (!st.failure) await onBatch(planned);
              });
              st.rows = st.rows.catch((e: unknown) => {
                st.failure ??= e instanceof Error ? e : new ManyFilesError(String(e));
              });
            }
          },
          (e: unknown) => {
            st.failure ??= e instanceof Error ? e : new ManyFilesError(String(e));
          },
        ),
      );
      if (inFlight.length >= 2 * nWorkers) await inFlight.shift();
    }
    await Promise.all(inFlight);
    await st.rows;
    if (st.failure) throw st.failure;
  } finally {
    await Promise.all(workers.map((wk) => wk.terminate()));
  }
  result.ms = performance.now() - t0;
  return result;
}

async function postsOf(conn: SqlConn): Promise<PostRef[]> {
  const rows = await conn.native<{ id: string; channelid: string; userid: string; teamid: string; createat: string }>(
    `SELECT p.id, p.channelid, p.userid, c.teamid, p.createat FROM posts p JOIN channels c ON c.id = p.channelid
     WHERE p.deleteat = 0 ORDER BY p.createat, p.id`,
  );
  return rows.map((r) => ({
    id: r.id,
    channelId: r.channelid,
    userId: r.userid,
    teamId: r.teamid,
    createAt: Number(r.createat),
  }));
}

/**
 * Adds the many-files tree to a generated install: `files` attachment files under its data dir and a
 * `fileinfo` row per attachment (the columns not set here are copied from an image attachment the
 * sandbox made). PostgreSQL only, like the rest of the bench.
 */
export async function addManyFiles(
  w: { pg: PgServer; sb: Sandbox },
  files: number,
  onProgress?: (files: number) => void,
): Promise<ManyFilesResult> {
  const conn = await openSqlConn({
    driver: 'postgres',
    host: '127.0.0.1',
    port: w.pg.port,
    user: w.sb.dbUser,
    password: w.sb.dbPassword,
    database: w.sb.dbName,
  });
  try {
    const posts = await postsOf(conn);
    const [template] = await conn.native<{ id: string }>(
      'SELECT id FROM fileinfo WHERE deleteat = 0 ORDER BY haspreviewimage DESC, id LIMIT 1',
    );
    if (!template) throw new ManyFilesError('the sandbox has no fileinfo row to copy');
    const cols = (
      await conn.native<{ column_name: string }>(
        `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'fileinfo'
         ORDER BY ordinal_position`,
      )
    ).map((r) => r.column_name);
    const given: Array<[string, string]> = [
      ['id', 'text'],
      ['creatorid', 'text'],
      ['postid', 'text'],
      ['channelid', 'text'],
      ['createat', 'bigint'],
      ['updateat', 'bigint'],
      ['path', 'text'],
      ['thumbnailpath', 'text'],
      ['previewpath', 'text'],
      ['name', 'text'],
      ['extension', 'text'],
      ['size', 'bigint'],
      ['mimetype', 'text'],
    ];
    const names = new Set(given.map(([n]) => n));
    const sql =
      `INSERT INTO fileinfo (${cols.map((c) => `"${c}"`).join(', ')}) ` +
      `SELECT ${cols.map((c) => (names.has(c) ? `u."${c}"` : `t."${c}"`)).join(', ')} ` +
      `FROM unnest(${given.map(([, t], i) => `$${i + 1}::${t}[]`).join(', ')}) AS u(${given.map(([n]) => `"${n}"`).join(', ')}) ` +
      `CROSS JOIN (SELECT * FROM fileinfo WHERE id = $${given.length + 1}) t`;
    const onBatch = async (batch: PlannedAttachment[]) => {
      const col = (f: (a: PlannedAttachment) => string | number) => batch.map(f);
      const p = (a: PlannedAttachment, k: number) => `${a.dir}/${a.files[k]?.[0] ?? ''}`;
      await conn.native(sql, [
        col((a) => a.fileId),
        col((a) => a.post.userId),
        col((a) => a.post.id),
        col((a) => a.post.channelId),
        col((a) => a.createAt),
        col((a) => a.createAt),
        col((a) => p(a, 0)),
        col((a) => p(a, 1)),
        col((a) => p(a, 2)),
        col((a) => a.name),
        col((a) => a.ext),
        col((a) => a.files[0]?.[1] ?? 0),
        col((a) => (a.ext === 'png' ? 'image/png' : 'image/jpeg')),
        template.id,
      ]);
    };
    return await writeAttachmentTree({ dataDir: w.sb.dataDir, files, posts, onBatch, onProgress });
  } finally {
    await conn.close();
  }
}

/**
 * Disk space and inodes a bench run needs at most, for the check before anything is generated:
 * the install, the manual copy, two repositories (the online full backup's is removed after it),
 * restic's repository and a restore target at once, plus a tenth for the database and slack.
 * Files of the many-files tree take a 4 KB block each; an attachment's directory another.
 */
export function estimateNeeds(s: { manyFiles?: number; attachmentBytes: number; secondManyFiles?: number }): {
  bytes: number;
  inodes: number;
} {
  const perCopy = (files: number, bytes: number) => {
    const dirs = files / 3;
    return {
      bytes: bytes + files * 4096 + dirs * 1.1 * 4096,
      inodes: files + dirs * 1.1,
    };
  };
  const main = perCopy(s.manyFiles ?? s.attachmentBytes / 37_000, s.manyFiles ? 0 : s.attachmentBytes);
  const second = s.secondManyFiles ? perCopy(s.secondManyFiles, 0) : { bytes: 0, inodes: 0 };
  return {
    bytes: Math.round(main.bytes * 5 * 1.1 + second.bytes * 3),
    inodes: Math.round(main.inodes * 5 * 1.1 + second.inodes * 3),
  };
}
