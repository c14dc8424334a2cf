/**
 * The benchmark's physical-mode phase, on the reference install after the logical phases: `pitr
 * enable --restart-postgres --yes` on the bench's cluster (pgBackRest and pg_ctl run as postgres,
 * as the product runs them), one full physical backup, nothing-changed backups whose database part
 * is a pgBackRest reference, the RPO under a steady write load, and an in-place `restore --at T`
 * whose result is checked (exactly the posts committed before T).
 */
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { openSqlConn, type SqlConn } from '@mm-backup/testkit';
import { parseLsn, rpoStats, segmentEnd, type ArchiveSample, type Commit, type RpoStats } from './rpo';
import { log, mmBackup, type RunRecord, type SizeSpec, type World } from './world';

/** What the physical-mode phase measured. */
export interface PitrFigures {
  enable: RunRecord;
  /** `pitr backup --type full` of the cluster. */
  fullPhysical: RunRecord;
  /** `backup` with physical mode on and nothing changed (each checked to hold a reference, not a dump). */
  off: RunRecord[];
  on: RunRecord[];
  /** `restore --at T` in place; `dbMs` on each is the database part (see DB_STEPS). */
  restoreAt: Array<RunRecord & { dbMs: number }>;
  rpo: RpoStats & { seconds: number; postsPerSecond: number; archiveTimeoutSeconds: number };
}

/** The steps of `restore --at` that restore the database (the rest stop/start Mattermost and put the files back). */
export const DB_STEPS = ['wal-switch', 'postgres-stop', 'postgres-move-aside', 'postgres-restore', 'postgres-start'];

/** The sum of the database steps of one `restore --at` run, in ms. */
export function dbPartMs(r: RunRecord): number {
  return DB_STEPS.reduce((a, s) => a + (r.steps?.[s] ?? 0), 0);
}

/**
 * Why the physical-mode phase cannot run here, or undefined when it can: it runs pgBackRest and
 * pg_ctl as postgres (so as root) and is left out of the many-files size (its database is small).
 */
export function pitrSkipReason(
  spec: SizeSpec,
  noPitr: boolean,
  uid: number | undefined,
  pgbackrest: boolean,
): string | undefined {
  if (noPitr) return 'left out (--no-pitr)';
  if (spec.manyFiles) return 'left out at the many-files size (its database is small)';
  if (uid !== 0) return 'left out: not running as root (pgBackRest and pg_ctl run as postgres)';
  if (!pgbackrest) return 'left out: /usr/bin/pgbackrest is not installed (apt-get install pgbackrest)';
  return undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function physicalPhase(
  w: World,
  repo: string,
  opts: { cheapRuns: number; rpoSeconds: number; postsPerSecond: number },
): Promise<PitrFigures> {
  const mm = (what: string, args: string[]) => mmBackup(w, repo, what, args, { pitr: true });
  const enable = await mm('mm-backup pitr enable --restart-postgres', [
    'pitr',
    'enable',
    '--restart-postgres',
    '--yes',
  ]);
  const fullPhysical = await mm('mm-backup pitr backup --type full', ['pitr', 'backup', '--type', 'full']);
  const physical = (x: RunRecord) => {
    if (x.snapshot?.database !== 'physical') {
      throw new Error(`${x.what}: the snapshot's database part is "${String(x.snapshot?.database)}", not a reference`);
    }
    return x;
  };
  const off: RunRecord[] = [];
  const on: RunRecord[] = [];
  for (let r = 0; r < opts.cheapRuns; r++) {
    off.push(
      physical(await mm('mm-backup backup offline, physical mode (no change)', ['backup', '--mode', 'offline'])),
    );
    on.push(physical(await mm('mm-backup backup online, physical mode (no change)', ['backup', '--mode', 'online'])));
  }

  const archiveTimeoutSeconds = Number(
    (await w.pg.query('postgres', `SELECT setting FROM pg_settings WHERE name = 'archive_timeout'`))[0]?.setting,
  );
  log(
    `RPO: ${opts.postsPerSecond} posts/s for ${opts.rpoSeconds} s, the archive sampled every second (archive_timeout ${archiveTimeoutSeconds} s)`,
  );
  const load = await writeLoad(w, opts.rpoSeconds, opts.postsPerSecond);
  const rpo = {
    ...rpoStats(load.commits, load.samples),
    seconds: opts.rpoSeconds,
    postsPerSecond: opts.postsPerSecond,
    archiveTimeoutSeconds,
  };
  log(
    `RPO: median ${rpo.medianS.toFixed(1)} s, p95 ${rpo.p95S.toFixed(1)} s, max ${rpo.maxS.toFixed(1)} s over ${rpo.samples} samples and ${rpo.commits} commits`,
  );

  // T falls in a quiet gap: every post before it is committed well before, the marker well after.
  await sleep(2000);
  const at = new Date();
  const postsAtT = await countPosts(w);
  await sleep(2000);
  await insertPosts(w, 1);
  const restoreAt: PitrFigures['restoreAt'] = [];
  const x = await mm(`mm-backup restore --at T (in place)`, ['restore', '--at', at.toISOString(), '--yes']);
  const after = await countPosts(w);
  if (after !== postsAtT) {
    throw new Error(`restore --at ${at.toISOString()} left ${after} posts; ${postsAtT} were committed before T`);
  }
  restoreAt.push({ ...x, dbMs: dbPartMs(x) });
  log(`restore --at: ${after} posts, as at T; database part ${(dbPartMs(x) / 1000).toFixed(2)} s`);
  // The old data directory is kept by design (named in the summary); the bench drops it to free the disk.
  const parent = path.dirname(w.pg.dataDir);
  for (const name of await readdir(parent)) {
    if (name.startsWith(`${path.basename(w.pg.dataDir)}.before-restore-`)) {
      await rm(path.join(parent, name), { recursive: true, force: true });
    }
  }
  return { enable, fullPhysical, off, on, restoreAt, rpo };
}

function mmConn(w: World): Promise<SqlConn> {
  return openSqlConn({
    driver: 'postgres',
    host: '127.0.0.1',
    port: w.pg.port,
    user: w.sb.dbUser,
    password: w.sb.dbPassword,
    database: w.sb.dbName,
  });
}

async function countPosts(w: World): Promise<number> {
  return Number((await w.pg.query(w.sb.dbName, 'SELECT count(*) AS n FROM posts'))[0]?.n);
}

/** Inserts `n` posts now, one transaction each (copies of an existing post with a new id and time). */
async function insertPosts(w: World, n: number): Promise<void> {
  const conn = await mmConn(w);
  try {
    const insert = await postInsert(conn);
    for (let i = 0; i < n; i++) await conn.native(insert, [Date.now()]);
  } finally {
    await conn.close();
  }
}

async function postInsert(conn: SqlConn): Promise<string> {
  const cols = (
    await conn.native<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'posts' ORDER BY ordinal_position`,
    )
  ).map((r) => r.column_name);
  const expr = cols.map((c) => {
    if (c === 'id') return `substr(md5(random()::text || clock_timestamp()::text || id), 1, 26)`;
    if (c === 'createat' || c === 'updateat') return '$1::bigint';
    return `"${c}"`;
  });
  return `INSERT INTO posts (${cols.map((c) => `"${c}"`).join(', ')}) SELECT ${expr.join(', ')} FROM posts LIMIT 1`;
}

/**
 * `postsPerSecond` posts a second for `seconds`, one transaction each, on a schedule fixed from the
 * start (a slow insert does not shift the next ones); each commit's local time and the WAL insert
 * position read just after it. Meanwhile, every second, a sample of pg_stat_archiver and the insert
 * position from a second connection.
 */
async function writeLoad(
  w: World,
  seconds: number,
  postsPerSecond: number,
): Promise<{ commits: Commit[]; samples: ArchiveSample[] }> {
  const writer = await mmConn(w);
  const sampler = await openSqlConn({
    driver: 'postgres',
    host: '127.0.0.1',
    port: w.pg.port,
    user: w.pg.superuser,
    password: w.pg.superuserPassword,
    database: 'postgres',
  });
  try {
    const seg = (
      await sampler.native<{ setting: string; unit: string }>(
        `SELECT setting, unit FROM pg_settings WHERE name = 'wal_segment_size'`,
      )
    )[0];
    if (!seg || seg.unit !== 'B') throw new Error(`wal_segment_size in unexpected units: ${JSON.stringify(seg)}`);
    const segmentBytes = Number(seg.setting);
    const insert = await postInsert(writer);
    const commits: Commit[] = [];
    const samples: ArchiveSample[] = [];
    const t0 = Date.now();
    const end = t0 + seconds * 1000;
    const writing = (async () => {
      for (let i = 0; ; i++) {
        const due = t0 + (i * 1000) / postsPerSecond;
        if (due >= end) return;
        if (due > Date.now()) await sleep(due - Date.now());
        await writer.native(insert, [Date.now()]);
        const atMs = Date.now();
        const [row] = await writer.native<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
        commits.push({ atMs, lsn: parseLsn(String(row?.lsn)) });
      }
    })();
    const sampling = (async () => {
      for (let i = 1; t0 + i * 1000 <= end; i++) {
        const due = t0 + i * 1000;
        if (due > Date.now()) await sleep(due - Date.now());
        const atMs = Date.now();
        const [row] = await sampler.native<{ wal: string | null; age: string | null; lsn: string }>(
          `SELECT last_archived_wal AS wal, extract(epoch FROM now() - last_archived_time)::float8::text AS age,
                  pg_current_wal_insert_lsn()::text AS lsn FROM pg_stat_archiver`,
        );
        samples.push({
          atMs,
          archivedEnd: row?.wal ? segmentEnd(row.wal, segmentBytes) : undefined,
          insertLsn: parseLsn(String(row?.lsn)),
          lastArchivedAgeS: row?.age ? Number(row.age) : undefined,
        });
      }
    })();
    await Promise.all([writing, sampling]);
    return { commits, samples };
  } finally {
    await writer.close();
    await sampler.close();
  }
}
