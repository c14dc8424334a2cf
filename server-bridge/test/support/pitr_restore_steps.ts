/**
 * The steps the point-in-time restore tests share on top of `setupPitrRestore`: the probe table and
 * the time T between its rows, waiting for WAL to reach the repository, pgBackRest's repository in
 * an s3rver bucket, and the configs of a "new host" (one whose PostgreSQL start works, one whose
 * start fails). Kept in one place so that every test sets its world up the same way.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startS3Server, type PgServer, type S3Server } from '@mm-backup/testkit';
import type { PitrRestoreEnv } from './pitr_restore_env';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The rows of the probe table in the sandbox database, in order. */
export async function probeRows(env: PitrRestoreEnv): Promise<number[]> {
  return ((await env.db.query(env.sb.dbName, 'SELECT n FROM probe ORDER BY n')) as Array<{ n: number }>).map(
    (r) => r.n,
  );
}

/** The database server's clock: restore --at compares against commit times it wrote. */
export async function dbNow(env: PitrRestoreEnv): Promise<Date> {
  return new Date(((await env.db.query(env.sb.dbName, 'SELECT clock_timestamp() AS t')) as Array<{ t: Date }>)[0]!.t);
}

/** Creates the probe table with rows 1-5, owned by Mattermost's user (it must survive a restore as Mattermost's). */
export async function createProbe(env: PitrRestoreEnv): Promise<void> {
  await env.db.exec(
    env.sb.dbName,
    `CREATE TABLE probe (n int); INSERT INTO probe SELECT generate_series(1, 5);
       ALTER TABLE probe OWNER TO ${env.sb.dbUser}`,
  );
}

/** Rows 6-8, then T (a second clear of both), then rows 9-12: a restore --at T must give exactly 1-8. Returns T. */
export async function timeBetweenRows(env: PitrRestoreEnv): Promise<Date> {
  await env.db.exec(env.sb.dbName, 'INSERT INTO probe SELECT generate_series(6, 8)');
  await pause(1000);
  const t = await dbNow(env);
  await pause(1000);
  await env.db.exec(env.sb.dbName, 'INSERT INTO probe SELECT generate_series(9, 12)');
  return t;
}

/**
 * Physical mode enabled, the probe table, a physical backup (`pitrBackupArgs` after `pitr backup`),
 * a file snapshot (restore --at takes the files from it), and T between rows 1-8 and 9-12.
 * `ok` runs the CLI and fails the test unless it succeeds. Returns T.
 */
export async function prepareRestorePoint(
  env: PitrRestoreEnv,
  ok: (...args: string[]) => Promise<unknown>,
  pitrBackupArgs: string[] = [],
): Promise<Date> {
  await ok('pitr', 'enable', '--restart-postgres', '--yes');
  await createProbe(env);
  await ok('pitr', 'backup', ...pitrBackupArgs);
  await ok('backup');
  return timeBetweenRows(env);
}

/** Switches to a new WAL segment and waits (up to `timeoutMs`) until it is archived; returns its name. */
export async function switchWalAndWait(db: PgServer, timeoutMs: number): Promise<string> {
  const seg = ((await db.query('postgres', 'SELECT pg_walfile_name(pg_switch_wal()) AS s')) as Array<{ s: string }>)[0]!
    .s;
  const end = Date.now() + timeoutMs;
  for (;;) {
    const a = (await db.query('postgres', 'SELECT last_archived_wal AS w FROM pg_stat_archiver')) as Array<{
      w: string | null;
    }>;
    // A segment name is 24 characters; a .partial or .backup name after it is the same segment.
    if (a[0]?.w && a[0].w.slice(0, 24) >= seg) return seg;
    if (Date.now() > end) throw new Error(`segment ${seg} was not archived`);
    await pause(300);
  }
}

/** Whether anything (a link included) is at `p`. */
export async function exists(p: string): Promise<boolean> {
  return !!(await lstat(p).catch(() => undefined));
}

/** pg_ctl of the cluster's binaries, run as postgres. */
export function pgCtl(db: PgServer, ...args: string[]): SpawnSyncReturns<string> {
  return spawnSync('runuser', ['-u', 'postgres', '--', path.join(db.binDir, 'pg_ctl'), ...args], { encoding: 'utf8' });
}

export interface S3PitrRepo {
  s3: S3Server;
  /** The file the secret access key is read from (the one place besides pgbackrest.conf it may be). */
  secretFile: string;
  /** The mm-backup config as written: offsite in the bucket, pitr.repo s3. */
  cfg: Record<string, any>;
}

/** The prefix of the off-site store in the bucket; pgBackRest's repository is `${S3_PREFIX}/pgbackrest`. */
export const S3_PREFIX = 'mm/prod';

/**
 * Starts s3rver over TLS with these credentials (the key files 0600 in env.root) and rewrites the
 * config: offsite replicate into the bucket (file snapshots stay local: these tests are about
 * pgBackRest's use of it) and pgBackRest's repository there, async through a spool in env.root.
 */
export async function useS3PitrRepo(
  env: PitrRestoreEnv,
  opts: { bucket: string; accessKeyId: string; secret: string },
): Promise<S3PitrRepo> {
  const s3 = await startS3Server(opts.bucket, {
    tls: true,
    credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secret },
  });
  const idFile = path.join(env.root, 's3-key-id');
  const secretFile = path.join(env.root, 's3-secret');
  await writeFile(idFile, `${opts.accessKeyId}\n`, { mode: 0o600 });
  await writeFile(secretFile, `${opts.secret}\n`, { mode: 0o600 });
  const cfg = JSON.parse(await readFile(env.cfgFile, 'utf8'));
  cfg.offsite = {
    mode: 'replicate',
    s3: {
      endpoint: s3.endpoint,
      bucket: s3.bucket,
      prefix: S3_PREFIX,
      forcePathStyle: true,
      accessKeyIdFile: idFile,
      secretAccessKeyFile: secretFile,
    },
  };
  cfg.backup = { ...cfg.backup, replicateAfter: false };
  // A bucket repository must be encrypted (pitr.cipherPassFile): a bucket writer could plant a backup otherwise.
  const cipherPassFile = path.join(env.root, 'pgbackrest-cipher-pass');
  await writeFile(cipherPassFile, `${randomBytes(24).toString('base64')}\n`, { mode: 0o600 });
  cfg.pitr.cipherPassFile = cipherPassFile;
  cfg.pitr.repo = { type: 's3', caFile: s3.caFile, spoolPath: path.join(env.root, 'spool', 'pgbackrest') };
  await writeFile(env.cfgFile, JSON.stringify(cfg, null, 2), { mode: 0o600 });
  return { s3, secretFile, cfg };
}

/** Every object key in the s3rver bucket (its filesystem store: <key>._S3rver_object). */
export async function bucketKeys(s3: S3Server): Promise<string[]> {
  const base = path.join(s3.dir, s3.bucket);
  const keys: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name.endsWith('._S3rver_object')) keys.push(path.relative(base, p).replace(/\._S3rver_object$/, ''));
    }
  };
  if (existsSync(base)) await walk(base);
  return keys.sort();
}

/** Files under `dir` (recursively) whose bytes hold `secret`. */
export async function filesHolding(dir: string, secret: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && (await readFile(p)).includes(secret)) found.push(p);
    }
  };
  await walk(dir);
  return found;
}

/**
 * The configs of a new host on this machine, both 0600 in env.root: `newHostCfg` is `cfg` with
 * `pitr` (pg_ctl service commands of env.db's binaries); `failingCfg` the same but with a custom
 * PostgreSQL service whose start fails, its stop and status aimed at env.root/newhost2/main (the
 * restored copy must not stay).
 */
export async function writeNewHostConfigs(
  env: PitrRestoreEnv,
  cfg: Record<string, any>,
  pitr: Record<string, any>,
): Promise<{ newHostCfg: string; failingCfg: string }> {
  const newHostCfg = path.join(env.root, 'newhost.json');
  await writeFile(
    newHostCfg,
    JSON.stringify({ ...cfg, pitr: { ...pitr, postgresService: { preset: 'pg_ctl', binDir: env.db.binDir } } }),
    { mode: 0o600 },
  );
  const failingStart = path.join(env.root, 'pg-start-fails');
  const dir2 = path.join(env.root, 'newhost2', 'main');
  const ctl = path.join(env.db.binDir, 'pg_ctl');
  await writeFile(failingStart, "#!/bin/sh\necho 'postgres start made to fail by the test' >&2\nexit 1\n", {
    mode: 0o755,
  });
  const failingCfg = path.join(env.root, 'newhost-failing.json');
  await writeFile(
    failingCfg,
    JSON.stringify({
      ...cfg,
      pitr: {
        ...pitr,
        postgresService: {
          preset: 'custom',
          start: [failingStart],
          stop: ['runuser', '-u', 'postgres', '--', ctl, 'stop', '-D', dir2, '-m', 'fast', '-w', '-s'],
          status: ['runuser', '-u', 'postgres', '--', ctl, 'status', '-D', dir2, '-s'],
        },
      },
    }),
    { mode: 0o600 },
  );
  return { newHostCfg, failingCfg };
}

/**
 * What `restore --at` on a new host reports after restoring `t` into `dataDir` of `env`'s cluster:
 * archive_mode off, nothing cleaned, no attachment missing (for toMatchObject).
 */
export function newHostRestored(env: PitrRestoreEnv, t: Date, dataDir: string): Record<string, unknown> {
  return {
    target: t.toISOString(),
    data_dir: dataDir,
    port: env.db.port,
    archive_mode: 'off',
    new_host: true,
    cleaned: false,
    attachments_missing_count: 0,
  };
}
