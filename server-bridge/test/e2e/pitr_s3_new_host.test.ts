/**
 * restore --at T --pg-data-dir DIR onto a new host from pgBackRest's repository in the off-site
 * bucket (pitr.repo s3), with real parts only: s3rver on loopback over TLS with a self-signed
 * certificate, the real pgbackrest, a real PostgreSQL 15 cluster as the old host (stopped before
 * the restore: the host is gone) and a second config on the same machine as the new host (its own
 * pgBackRest config directory and spool, pg_ctl service commands, a root-only copy of the CA file).
 * The restored cluster has exactly the rows of T, archives nothing into the bucket, and the S3
 * secret is in no process's argv or environment, no output, no log: only in the 0600 configs.
 */
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { S3Server } from '@mm-backup/testkit';
import { runCli, type CliResult } from '../support/cli';
import { isUp } from '../support/e2e_env';
import { setupPitrRestore, type PitrRestoreEnv } from '../support/pitr_restore_env';
import {
  bucketKeys,
  exists,
  filesHolding,
  pgCtl,
  newHostRestored,
  prepareRestorePoint,
  probeRows,
  S3_PREFIX,
  switchWalAndWait,
  useS3PitrRepo,
  writeNewHostConfigs,
} from '../support/pitr_restore_steps';
import { watchProcesses } from '../support/watch_processes';

const POSTGRES_UID = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
const SECRET = `pitr-s3-newhost-${process.pid}-7b2e01`;
const PREFIX = S3_PREFIX;

describe('restore --at onto a new host from the bucket (pitr.repo s3, --pg-data-dir)', () => {
  let env: PitrRestoreEnv;
  let s3: S3Server;
  let t: Date;
  let secretFile: string;
  let newHostCfg: string;
  let failingCfg: string;
  let newHostEtc: string;
  let newHostSpool: string;
  let stanza: string;
  const restoredDirs: string[] = [];
  const outputs: CliResult[] = [];
  const pgbackrestKeys = async () => (await bucketKeys(s3)).filter((k) => k.startsWith(`${PREFIX}/pgbackrest/`));
  const newHost = async (cfg: string, ...args: string[]) => {
    const r = await runCli(['--config', cfg, '--json', ...args]);
    outputs.push(r);
    return r;
  };
  /** `restore --at <at> --pg-data-dir <dataDir> --yes` with the config `cfg`. */
  const restoreAt = (cfg: string, at: string, dataDir: string) =>
    newHost(cfg, 'restore', '--at', at, '--pg-data-dir', dataDir, '--yes');

  beforeAll(async () => {
    env = await setupPitrRestore();
    let cfg: Record<string, any>;
    ({ s3, secretFile, cfg } = await useS3PitrRepo(env, {
      bucket: 'mm-pitr-nh',
      accessKeyId: 'AKIDPITRNH',
      secret: SECRET,
    }));
    stanza = cfg.pitr.stanza;

    const ok = async (...args: string[]) => {
      const r = await env.cli(...args);
      outputs.push(r);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: '' });
    };
    t = await prepareRestorePoint(env, ok, ['--type', 'full']);
    // The old host's last words: its WAL up to here reaches the bucket (async push: archived = in the bucket).
    const seg = await switchWalAndWait(env.db, 180_000);
    expect((await pgbackrestKeys()).some((k) => k.includes(`/${seg}-`))).toBe(true);
    await env.db.stop(); // the old host is gone

    // The new host: the same bucket, install paths and repository; its own /etc for pgBackRest,
    // its own spool, and the CA file readable by root only (pgBackRest runs as postgres).
    const caRootOnly = path.join(env.root, 'newhost-ca.pem');
    await copyFile(s3.caFile!, caRootOnly);
    execFileSync('chmod', ['0600', caRootOnly]);
    newHostEtc = path.join(env.root, 'newhost-etc', 'pgbackrest');
    newHostSpool = path.join(env.root, 'newhost-spool', 'pgbackrest');
    ({ newHostCfg, failingCfg } = await writeNewHostConfigs(env, cfg, {
      ...cfg.pitr,
      configDir: newHostEtc,
      repo: { type: 's3', caFile: caRootOnly, spoolPath: newHostSpool },
    }));
  }, 600_000);

  afterAll(async () => {
    for (const d of restoredDirs) {
      if (await exists(path.join(d, 'postmaster.pid'))) pgCtl(env.db, 'stop', '-D', d, '-m', 'fast', '-w');
    }
    await env?.cleanup();
    await s3?.destroy();
  }, 120_000);

  test('a time outside the window is refused with the window read from the bucket; nothing but the config is written', async () => {
    const target = path.join(env.root, 'nh-window', 'main');
    await mkdir(path.dirname(target));
    const early = await restoreAt(newHostCfg, '2020-01-01 00:00:00Z', target);
    expect(early.code).toBe(3);
    expect(early.stderr).toMatch(
      /2020-01-01T00:00:00\.000Z is outside the recovery window \d{4}-\S+ … (\d{4}-\S+) \(it ends at the last WAL segment archived in the repository.*nothing was changed/,
    );
    // The window ends at the last segment in the bucket: after T (the old host archived past it).
    const end = new Date(/… (\d{4}-\S+) \(/.exec(early.stderr)![1]!);
    expect(end.getTime()).toBeGreaterThan(t.getTime());
    expect(await exists(target)).toBe(false);
    expect(await exists(newHostSpool)).toBe(false);
  }, 300_000);

  test('restore --at T from the bucket: exactly the rows of T, archive_mode off, nothing pushed into the bucket; the keys only in the 0600 config', async () => {
    const target = path.join(env.root, 'newhost', '15', 'main');
    await mkdir(path.dirname(target), { recursive: true });
    restoredDirs.push(target);
    const before = await pgbackrestKeys();
    const {
      result: r,
      seen,
      watched,
    } = await watchProcesses(SECRET, () => restoreAt(newHostCfg, t.toISOString(), target), /pgbackrest/);
    expect(seen).toEqual([]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    // The sampler saw pgbackrest restore from the bucket and PostgreSQL fetch WAL through it.
    expect(watched.some((c) => / restore$/.test(c))).toBe(true);
    expect(watched.some((c) => /archive-get/.test(c))).toBe(true);
    expect(r.summary).toMatchObject(newHostRestored(env, t, target));
    expect(await probeRows(env)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(await isUp(env.url)).toBe(true);

    const conf = path.join(newHostEtc, 'pgbackrest.conf');
    const text = await readFile(conf, 'utf8');
    expect(text).toContain('repo1-type=s3');
    expect(text).toContain(`repo1-path=/${PREFIX}/pgbackrest`);
    expect(text).toContain(`repo1-s3-key-secret=${SECRET}`);
    expect(text).toContain(`repo1-storage-ca-file=${path.join(newHostEtc, 's3-ca.pem')}`);
    expect(text).toContain(`pg1-path=${target}`);
    expect(text).not.toMatch(/verify-tls/);
    for (const [p, mode] of [
      [conf, 0o600],
      [path.join(newHostEtc, 's3-ca.pem'), 0o600],
      [newHostSpool, 0o700],
      [target, 0o700],
    ] as const) {
      const st = await stat(p);
      expect({ p, uid: st.uid, mode: st.mode & 0o777 }).toEqual({ p, uid: POSTGRES_UID, mode });
    }
    expect(await readFile(path.join(newHostEtc, 's3-ca.pem'), 'utf8')).toBe(await readFile(s3.caFile!, 'utf8'));

    // Archiving stays off: new WAL reaches no bucket (the old host's stanza must not get a second history).
    expect(await env.db.query('postgres', 'SHOW archive_mode')).toEqual([{ archive_mode: 'off' }]);
    await env.db.exec(env.sb.dbName, 'INSERT INTO probe SELECT generate_series(100, 5000)');
    await env.db.query('postgres', 'SELECT pg_switch_wal()');
    await env.db.exec(env.sb.dbName, 'INSERT INTO probe VALUES (5001)');
    await env.db.query('postgres', 'SELECT pg_switch_wal()');
    await new Promise((res) => setTimeout(res, 3000));
    expect(await env.db.query('postgres', 'SELECT archived_count, failed_count FROM pg_stat_archiver')).toEqual([
      { archived_count: '0', failed_count: '0' },
    ]);
    expect(await pgbackrestKeys()).toEqual(before);
  }, 600_000);

  test('a PostgreSQL start that fails: the target removed, Mattermost started again, nothing pushed into the bucket', async () => {
    const first = restoredDirs[0] as string;
    expect(pgCtl(env.db, 'stop', '-D', first, '-m', 'fast', '-w').status).toBe(0);
    await rm(first, { recursive: true });
    const target = path.join(env.root, 'newhost2', 'main');
    await mkdir(path.dirname(target));
    restoredDirs.push(target);
    const before = await pgbackrestKeys();
    const r = await restoreAt(failingCfg, t.toISOString(), target);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/postgres start made to fail by the test/);
    expect(r.stderr).toMatch(new RegExp(`${target} was emptied again: no restored cluster is left`));
    expect(r.stderr).toMatch(/Mattermost has no database on this host until a restore succeeds/);
    expect(await exists(target)).toBe(false);
    expect(await pgbackrestKeys()).toEqual(before);
  }, 600_000);

  test('the secret is in no output and no log: only in the two pgbackrest.conf files (and the file it was read from)', async () => {
    expect(outputs.length).toBeGreaterThan(4);
    for (const o of outputs) expect(`${o.stdout}\n${o.stderr}`).not.toContain(SECRET);
    const holding = [
      ...(await filesHolding(env.root, SECRET)),
      ...(await filesHolding(s3.dir, SECRET)),
      ...(await filesHolding(path.dirname(env.db.dataDir), SECRET)),
    ];
    const oldConf = path.join(
      (JSON.parse(await readFile(env.cfgFile, 'utf8')) as { pitr: { configDir: string } }).pitr.configDir,
      'pgbackrest.conf',
    );
    expect(holding.sort()).toEqual([oldConf, path.join(newHostEtc, 'pgbackrest.conf'), secretFile].sort());
    const logs = (await readdir('/var/log/pgbackrest')).filter((f) => f.startsWith(`${stanza}-`));
    expect(logs.some((f) => /restore/.test(f))).toBe(true);
    for (const f of logs) expect(await readFile(path.join('/var/log/pgbackrest', f), 'utf8')).not.toContain(SECRET);
  }, 120_000);
});
