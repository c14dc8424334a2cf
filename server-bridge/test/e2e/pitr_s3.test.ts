/**
 * pgBackRest's repository in the off-site bucket (pitr.repo s3), with real parts only: s3rver on
 * loopback over TLS with a self-signed certificate (passed as pitr.repo.caFile, never
 * verify-tls=n), a real PostgreSQL 15 cluster archiving asynchronously through the real
 * pgbackrest, a sandbox Mattermost. enable creates the stanza in the bucket, WAL and a physical
 * backup land there, the window is read from it, and restore --at T from it gives the rows of T.
 * The S3 secret key is in no process's argv or environment while that runs, in no output and no
 * log: only in the 0600 pgbackrest.conf.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { S3Server } from '@mm-backup/testkit';
import type { CliResult } from '../support/cli';
import { setupPitrRestore, type PitrRestoreEnv } from '../support/pitr_restore_env';
import {
  bucketKeys,
  createProbe,
  filesHolding,
  probeRows,
  S3_PREFIX,
  timeBetweenRows,
  useS3PitrRepo,
} from '../support/pitr_restore_steps';
import { watchProcesses } from '../support/watch_processes';

const POSTGRES_UID = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
const SECRET = `pitr-s3-secret-${process.pid}-4c1d9e`;
const PREFIX = S3_PREFIX;

describe('pitr.repo s3: pgBackRest in the off-site bucket over TLS', () => {
  let env: PitrRestoreEnv;
  let s3: S3Server;
  let configDir: string;
  let stanza: string;
  let secretFile: string;
  let cipherPassFile: string;
  const outputs: CliResult[] = [];
  const ok = async (...args: string[]) => {
    const r = await env.cli(...args);
    outputs.push(r);
    expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: '' });
    return r.summary as Record<string, any>;
  };
  /** `ok`, with every process's argv and environment sampled meanwhile: the secret is in none. */
  const okWatched = async (watch: RegExp, ...args: string[]) => {
    const { result, seen, watched } = await watchProcesses(SECRET, () => ok(...args), watch);
    expect(seen).toEqual([]);
    return { summary: result, watched };
  };
  const pgbackrestKeys = async () => (await bucketKeys(s3)).filter((k) => k.startsWith(`${PREFIX}/pgbackrest/`));

  beforeAll(async () => {
    env = await setupPitrRestore();
    let cfg: Record<string, any>;
    ({ s3, secretFile, cfg } = await useS3PitrRepo(env, {
      bucket: 'mm-pitr',
      accessKeyId: 'AKIDPITRS3',
      secret: SECRET,
    }));
    configDir = cfg.pitr.configDir;
    cipherPassFile = cfg.pitr.cipherPassFile;
    stanza = cfg.pitr.stanza;
  }, 300_000);
  afterAll(async () => {
    await env?.cleanup();
    await s3?.destroy();
  });

  test('enable: the stanza in the bucket, async archiving through the spool, the keys only in the 0600 config', async () => {
    const { summary: r, watched } = await okWatched(/pgbackrest/, 'pitr', 'enable', '--restart-postgres', '--yes');
    expect(r.checked).toBe(true);
    expect(r.repoPath).toBe(`s3://mm-pitr/${PREFIX}/pgbackrest at ${s3.endpoint}`);
    // The sampler did see pgbackrest at work (stanza-create, check, archive-push from PostgreSQL).
    expect(watched.some((c) => / stanza-create$/.test(c))).toBe(true);
    expect(watched.some((c) => /archive-push/.test(c))).toBe(true);

    const conf = path.join(configDir, 'pgbackrest.conf');
    const text = await readFile(conf, 'utf8');
    expect(text).toContain('repo1-type=s3');
    expect(text).toContain(`repo1-path=/${PREFIX}/pgbackrest`);
    expect(text).toContain('repo1-s3-uri-style=path');
    expect(text).toContain(`repo1-s3-key-secret=${SECRET}`);
    // A bucket repository is always encrypted (a bucket writer could plant a backup otherwise).
    expect(text).toContain('repo1-cipher-type=aes-256-cbc');
    expect(text).toContain(`repo1-storage-ca-file=${path.join(configDir, 's3-ca.pem')}`);
    expect(text).toContain(`archive-async=y\nspool-path=${path.join(env.root, 'spool', 'pgbackrest')}`);
    expect(text).not.toMatch(/verify-tls/);
    for (const [p, mode] of [
      [conf, 0o600],
      [path.join(configDir, 's3-ca.pem'), 0o600],
      [path.join(env.root, 'spool', 'pgbackrest'), 0o700],
    ] as const) {
      const st = await stat(p);
      expect({ p, uid: st.uid, mode: st.mode & 0o777 }).toEqual({ p, uid: POSTGRES_UID, mode });
    }
    expect(await readFile(path.join(configDir, 's3-ca.pem'), 'utf8')).toBe(await readFile(s3.caFile!, 'utf8'));
    // Asynchronous push: the async process keeps its status files in the spool.
    expect(existsSync(path.join(env.root, 'spool', 'pgbackrest', 'archive', stanza, 'out'))).toBe(true);
    // Nothing local: no repository directory of pgBackRest's.
    expect(existsSync(path.join(env.repo, 'pgbackrest'))).toBe(false);

    const keys = await pgbackrestKeys();
    expect(keys).toEqual(
      expect.arrayContaining([
        `${PREFIX}/pgbackrest/archive/${stanza}/archive.info`,
        `${PREFIX}/pgbackrest/backup/${stanza}/backup.info`,
      ]),
    );
    // pgbackrest check archived a segment into the bucket.
    expect(
      keys.some((k) => new RegExp(`^${PREFIX}/pgbackrest/archive/${stanza}/15-1/[0-9A-F]{16}/[0-9A-F]{24}-`).test(k)),
    ).toBe(true);
  }, 300_000);

  test('pitr backup lands in the bucket; the window comes from it; restore --at T from it gives the rows of T', async () => {
    await createProbe(env);
    const b = await okWatched(/pgbackrest/, 'pitr', 'backup', '--type', 'full');
    expect(b.watched.some((c) => / backup$/.test(c))).toBe(true);
    const label = (await pgbackrestKeys())
      .map((k) => new RegExp(`^${PREFIX}/pgbackrest/backup/${stanza}/(\\d{8}-\\d{6}F)/backup\\.manifest$`).exec(k)?.[1])
      .find(Boolean);
    expect(label).toBeTruthy();

    const st = await ok('pitr', 'status');
    expect(st.stanza.status).toEqual({ code: 0, message: 'ok' });
    expect(st.backups.map((x: { label: string }) => x.label)).toEqual([label]);
    expect(st.window.start).toBe(st.backups[0].stopped_at);
    expect(st.archive.state).toBe('ok');

    await ok('backup'); // the file snapshot restore --at takes the files from
    const t = await timeBetweenRows(env);

    const r = await okWatched(/pgbackrest/, 'restore', '--at', t.toISOString(), '--yes');
    expect(r.summary.target).toBe(t.toISOString());
    expect(r.watched.some((c) => / restore$/.test(c))).toBe(true);
    expect(r.watched.some((c) => /archive-get/.test(c))).toBe(true);
    expect(await probeRows(env)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);

    // Archiving goes on from the restored cluster, into the bucket.
    await ok('pitr', 'backup');
  }, 600_000);

  test('the bucket unreachable: pitr status says archiving is failing; back, the waiting WAL reaches the bucket', async () => {
    const archiver = async () =>
      (
        (await env.db.query(
          'postgres',
          'SELECT failed_count::int AS failed, last_archived_wal AS last FROM pg_stat_archiver',
        )) as Array<{ failed: number; last: string | null }>
      )[0]!;
    const until = async <T>(what: string, ms: number, f: () => Promise<T | undefined>): Promise<T> => {
      const end = Date.now() + ms;
      for (;;) {
        const v = await f();
        if (v !== undefined) return v;
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    };
    const failedBefore = (await archiver()).failed;
    await s3.stop();
    let stopped = true;
    try {
      await env.db.exec('postgres', 'CREATE TABLE outage_probe AS SELECT generate_series(1, 100) AS n');
      const rows = (await env.db.query('postgres', 'SELECT pg_walfile_name(pg_switch_wal()) AS seg')) as Array<{
        seg: string;
      }>;
      const seg = rows[0]!.seg;
      await until('archive_command to fail', 240_000, async () =>
        (await archiver()).failed > failedBefore ? true : undefined,
      );
      // pgBackRest's info would retry for minutes; the status goes without it after 30 s.
      const asked = Date.now();
      const down = await env.cli('pitr', 'status');
      outputs.push(down);
      expect(Date.now() - asked).toBeLessThan(60_000);
      expect(down.code).toBe(0);
      expect(down.summary?.archive.state).toBe('failing');
      expect(down.summary?.archive.problem).toMatch(/WAL archiving is failing/);
      expect(down.summary?.pgbackrestProblem).toBe(
        `pgBackRest's repository (s3://mm-pitr/${PREFIX}/pgbackrest at ${s3.endpoint}) did not answer within 30 s`,
      );
      await s3.start();
      stopped = false;
      // A new segment wakes the archiver, which otherwise waits a minute after failures.
      await env.db.exec('postgres', 'SELECT pg_switch_wal()');
      await until('the waiting segment to be archived', 240_000, async () => {
        const last = (await archiver()).last;
        return last && last.slice(0, 24) >= seg ? true : undefined;
      });
      expect((await pgbackrestKeys()).some((k) => k.includes(`/${seg}-`))).toBe(true);
      const up = await ok('pitr', 'status');
      expect(up.archive.state).toBe('ok');
    } finally {
      if (stopped) await s3.start();
    }
  }, 600_000);

  test('the secret is in no output, no log and no object: only in pgbackrest.conf (and the file it was read from)', async () => {
    expect(outputs.length).toBeGreaterThan(5);
    for (const o of outputs) expect(`${o.stdout}\n${o.stderr}`).not.toContain(SECRET);
    const holding = [
      ...(await filesHolding(env.root, SECRET)),
      ...(await filesHolding(s3.dir, SECRET)),
      ...(await filesHolding(path.dirname(env.db.dataDir), SECRET)),
    ];
    expect(holding.sort()).toEqual([path.join(configDir, 'pgbackrest.conf'), secretFile].sort());
    // The same for the repository's cipher passphrase; and nothing in the bucket is readable without it.
    const pass = (await readFile(cipherPassFile, 'utf8')).trim();
    for (const o of outputs) expect(`${o.stdout}\n${o.stderr}`).not.toContain(pass);
    const passHolding = [...(await filesHolding(env.root, pass)), ...(await filesHolding(s3.dir, pass))];
    expect(passHolding.sort()).toEqual([path.join(configDir, 'pgbackrest.conf'), cipherPassFile].sort());
    const info = (await bucketKeys(s3)).find((k) => k.endsWith(`/backup/${stanza}/backup.info`));
    expect(info).toBeDefined();
    expect(await readFile(path.join(s3.dir, s3.bucket, `${info}._S3rver_object`), 'utf8')).not.toContain(
      '[backup:current]',
    );
    const logs = (await readdir('/var/log/pgbackrest')).filter((f) => f.startsWith(`${stanza}-`));
    expect(logs.length).toBeGreaterThan(0);
    for (const f of logs) expect(await readFile(path.join('/var/log/pgbackrest', f), 'utf8')).not.toContain(SECRET);
    expect(await readFile(env.db.logFile, 'utf8')).not.toContain(SECRET);
  }, 120_000);
});
