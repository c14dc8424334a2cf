/**
 * restore --at T --pg-data-dir DIR, onto a new host, with real parts only: the "old host" is a real
 * PostgreSQL 15 cluster archiving through the real pgbackrest; the "new host" is a second config
 * (its own pgBackRest config directory, pg_ctl service commands, the same repository) on the same
 * machine. While the old cluster runs, every refusal changes nothing; then the old host is gone
 * (its cluster stopped) and the restore must bring up, in an empty directory, a cluster with
 * exactly the rows of T that archives nothing into the old repository; a restore whose
 * PostgreSQL start fails leaves no cluster running and no restored copy behind.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { chown, lstat, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import path from 'node:path';
import { runCli, startCli, type CliResult } from '../support/cli';
import { isUp } from '../support/e2e_env';
import { setupPitrRestore, type PitrRestoreEnv } from '../support/pitr_restore_env';
import {
  exists,
  pgCtl,
  newHostRestored,
  prepareRestorePoint,
  probeRows,
  switchWalAndWait,
  writeNewHostConfigs,
} from '../support/pitr_restore_steps';

/** A process's argv, or [] once it has exited (its /proc entry goes at any moment). */
function argvOf(pid: string): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/** pids of pgbackrest processes working on `stanza` (argv holds --stanza=…), archive-get included. */
function pgbackrestPids(stanza: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((pid) => {
      const argv = argvOf(pid);
      return argv.some((a) => a.endsWith('pgbackrest')) && argv.includes(`--stanza=${stanza}`);
    })
    .map(Number);
}

/** A pgbackrest restore of `stanza` is running. */
function pgbackrestRestoring(stanza: string): boolean {
  return pgbackrestPids(stanza).some((pid) => argvOf(String(pid)).includes('restore'));
}

describe('restore --at onto a new host (--pg-data-dir)', () => {
  let env: PitrRestoreEnv;
  let mmdb: string;
  let t: Date;
  let newHostCfg: string;
  let failingCfg: string;
  let newHostEtc: string;
  let postgresUid: number;
  const restoredDirs: string[] = [];
  const newHost = (cfg: string, ...args: string[]) => runCli(['--config', cfg, '--json', ...args]);
  /** `restore --at <at> --pg-data-dir <dataDir> --yes` with the config `cfg`. */
  const restoreAt = (cfg: string, at: string, dataDir: string) =>
    newHost(cfg, 'restore', '--at', at, '--pg-data-dir', dataDir, '--yes');
  /** Every file below the stanza's archive: what the old host archived, and nothing the restored cluster may add. */
  const archived = async (): Promise<string[]> => {
    const out: string[] = [];
    const walk = async (d: string) => {
      for (const e of await readdir(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) await walk(p);
        else out.push(path.relative(env.repo, p));
      }
    };
    await walk(path.join(env.repo, 'pgbackrest', 'archive'));
    return out.sort();
  };
  /** The job started Mattermost again after the failure (it cannot come up: there is no database on this host now), and said so. */
  const startedAgain = (r: CliResult) => {
    expect(r.events.filter((e) => e.step === 'ensure-started').map((e) => e.type)).toEqual([
      'step.started',
      'step.failed',
    ]);
    expect(r.stderr).toMatch(/Mattermost has no database on this host until a restore succeeds/);
  };
  const portOpen = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });

  beforeAll(async () => {
    env = await setupPitrRestore();
    mmdb = env.sb.dbName;
    postgresUid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    const ok = async (...args: string[]) => {
      const r = await env.cli(...args);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: '' });
    };
    t = await prepareRestorePoint(env, ok);
    // The old host's last words: its WAL up to here reaches the repository.
    await switchWalAndWait(env.db, 120_000);

    // The new host: the same repository and install paths, its own /etc for pgBackRest.
    // With it, a PostgreSQL service whose start fails (custom preset): the restored copy must not stay.
    const oldCfg = JSON.parse(await readFile(env.cfgFile, 'utf8')) as Record<string, any>;
    newHostEtc = path.join(env.root, 'newhost-etc', 'pgbackrest');
    ({ newHostCfg, failingCfg } = await writeNewHostConfigs(env, oldCfg, { ...oldCfg.pitr, configDir: newHostEtc }));
  }, 300_000);

  afterAll(async () => {
    for (const d of restoredDirs) {
      if (await exists(path.join(d, 'postmaster.pid'))) pgCtl(env.db, 'stop', '-D', d, '-m', 'fast', '-w');
    }
    await env?.cleanup();
  }, 120_000);

  test('refused while a cluster serves the DSN port, or for a non-empty directory, a link, a foreign owner; nothing changed', async () => {
    const at = t.toISOString();
    // Inside the file store (which the same restore mirrors, removing what its snapshot lacks) or
    // the repository: refused before the port is even looked at.
    for (const [dir, what] of [
      [path.join(env.sb.installDir, 'data', 'pgdata'), /lies inside the Mattermost install \(mattermost\.installDir\)/],
      [path.join(env.repo, 'pgdata'), /lies inside the repository \(repository\.path\)/],
      [path.join(env.repo, 'pgbackrest', 'main'), /lies inside the repository \(repository\.path\)/],
    ] as const) {
      const r = await restoreAt(newHostCfg, at, dir);
      expect({ dir, code: r.code }).toEqual({ dir, code: 3 });
      expect(r.stderr).toMatch(what);
      expect(r.stderr).toMatch(/nothing was changed/);
      expect(await exists(dir)).toBe(false);
    }
    const fresh = path.join(env.root, 'nh-fresh', 'main');
    await mkdir(path.dirname(fresh));
    const busy = await restoreAt(newHostCfg, at, fresh);
    expect(busy.code).toBe(3);
    expect(busy.stderr).toMatch(
      new RegExp(
        `a PostgreSQL server already listens on port ${env.db.port} .* in ${env.db.dataDir}; nothing was changed`,
      ),
    );
    expect(await exists(fresh)).toBe(false);

    const full = path.join(env.root, 'nh-full');
    await mkdir(full);
    await writeFile(path.join(full, 'PG_VERSION'), '15\n');
    await chown(full, postgresUid, postgresUid);
    const r1 = await restoreAt(newHostCfg, at, full);
    expect(r1.code).toBe(3);
    expect(r1.stderr).toMatch(/is not empty \(PG_VERSION\); nothing was changed/);
    expect(await readdir(full)).toEqual(['PG_VERSION']);

    const empty = path.join(env.root, 'nh-empty');
    await mkdir(empty);
    await chown(empty, postgresUid, postgresUid);
    const link = path.join(env.root, 'nh-link');
    await symlink(empty, link);
    const r2 = await restoreAt(newHostCfg, at, link);
    expect(r2.code).toBe(3);
    expect(r2.stderr).toMatch(/is a symbolic link; nothing was changed/);
    expect(await readdir(empty)).toEqual([]);

    const rootOwned = path.join(env.root, 'nh-root');
    await mkdir(rootOwned);
    const r3 = await restoreAt(newHostCfg, at, rootOwned);
    expect(r3.code).toBe(3);
    expect(r3.stderr).toMatch(/belongs to uid 0, not to postgres; nothing was changed/);

    // Nothing was written anywhere: not even pgBackRest's config of the new host.
    expect(await exists(newHostEtc)).toBe(false);
    expect(await probeRows(env)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  }, 300_000);

  test('the old host gone: a time outside the window is refused with the window; the old host config is not replaced', async () => {
    await env.db.stop();
    const target = path.join(env.root, 'nh-window', 'main');
    await mkdir(path.dirname(target));
    const early = await restoreAt(newHostCfg, '2020-01-01 00:00:00Z', target);
    expect(early.code).toBe(3);
    expect(early.stderr).toMatch(
      /2020-01-01T00:00:00\.000Z is outside the recovery window \d{4}-.* … .* \(it ends at the last WAL segment archived in the repository.*nothing was changed/,
    );
    const late = await restoreAt(newHostCfg, new Date(Date.now() + 3_600_000).toISOString(), target);
    expect(late.code).toBe(3);
    expect(late.stderr).toMatch(/outside the recovery window/);
    // Too small a filesystem for the database and the WAL replayed through pg_wal.
    const small = path.join(env.root, 'nh-small');
    await mkdir(small);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', small], { encoding: 'utf8' });
    if (m.status !== 0) throw new Error(`cannot mount a tmpfs (these tests need root): ${m.stderr}`);
    try {
      const full = await restoreAt(newHostCfg, t.toISOString(), `${small}/main`);
      expect(full.code).toBe(3);
      expect(full.stderr).toMatch(
        new RegExp(
          `the restored cluster needs about [\\d.]+ MiB in ${small}/main \\(the database [\\d.]+ MiB, WAL replayed through pg_wal up to [\\d.]+ MiB\\), and [\\d.]+ (MiB|KiB) are free; nothing was changed`,
        ),
      );
      expect(await readdir(small)).toEqual([]);
    } finally {
      spawnSync('umount', ['-l', small]);
    }
    // The old host's own config: its pgbackrest.conf serves the (stopped) cluster, which is still there.
    const own = await env.cli('restore', '--at', t.toISOString(), '--pg-data-dir', target, '--yes');
    expect(own.code).toBe(3);
    expect(own.stderr).toMatch(new RegExp(`serves the cluster in ${env.db.dataDir} on this host`));
    expect(await exists(target)).toBe(false);
  }, 300_000);

  test('restore --at T into an empty directory: exactly the rows of T, Mattermost up, nothing archived into the old repository', async () => {
    const before = await archived();
    expect(before.length).toBeGreaterThan(2);
    const target = path.join(env.root, 'newhost', '15', 'main');
    await mkdir(path.dirname(target), { recursive: true });
    restoredDirs.push(target);
    const r = await restoreAt(newHostCfg, t.toISOString(), target);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.summary).toMatchObject(newHostRestored(env, t, target));
    expect((await lstat(target)).uid).toBe(postgresUid);
    expect((await lstat(target)).mode & 0o777).toBe(0o700);
    // env.db talks to 127.0.0.1:<the DSN port>: the restored cluster now.
    expect(await probeRows(env)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(await isUp(env.url)).toBe(true);

    expect(await env.db.query('postgres', 'SHOW archive_mode')).toEqual([{ archive_mode: 'off' }]);
    await env.db.exec(mmdb, 'INSERT INTO probe SELECT generate_series(100, 5000)');
    await env.db.query('postgres', 'SELECT pg_switch_wal()');
    await env.db.exec(mmdb, 'INSERT INTO probe VALUES (5001)');
    await env.db.query('postgres', 'SELECT pg_switch_wal()');
    await new Promise((r) => setTimeout(r, 3000));
    expect(await env.db.query('postgres', 'SELECT archived_count, failed_count FROM pg_stat_archiver')).toEqual([
      { archived_count: '0', failed_count: '0' },
    ]);
    expect(await archived()).toEqual(before);
  }, 600_000);

  test('a PostgreSQL start that fails leaves the target removed, with a clear message', async () => {
    const first = restoredDirs[0] as string;
    expect(pgCtl(env.db, 'stop', '-D', first, '-m', 'fast', '-w').status).toBe(0);
    expect(await portOpen(env.db.port)).toBe(false);
    const target = path.join(env.root, 'newhost2', 'main');
    await mkdir(path.dirname(target));
    restoredDirs.push(target);
    // pgBackRest's config of this host serves the cluster restored before: not replaced while it exists.
    const again = await restoreAt(failingCfg, t.toISOString(), target);
    expect(again.code).toBe(3);
    expect(again.stderr).toMatch(new RegExp(`serves the cluster in ${first} on this host`));
    expect(await exists(target)).toBe(false);
    await rm(first, { recursive: true });
    const before = await archived();
    const r = await restoreAt(failingCfg, t.toISOString(), target);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/postgres start made to fail by the test/);
    expect(r.stderr).toMatch(new RegExp(`${target} was emptied again: no restored cluster is left`));
    expect(await exists(target)).toBe(false);
    expect(await portOpen(env.db.port)).toBe(false);
    expect(await archived()).toEqual(before);
    startedAgain(r);
  }, 600_000);

  test('a failure at the very end (Mattermost does not start) stops the restored cluster, removes it and puts the files back', async () => {
    expect(await portOpen(env.db.port)).toBe(false);
    const target = path.join(env.root, 'newhost3', 'main');
    await mkdir(path.dirname(target));
    restoredDirs.push(target);
    const extra = path.join(env.sb.installDir, 'config', 'added-on-new-host.txt');
    await writeFile(extra, 'written before the restore\n');
    await writeFile(env.failStartMarker, '');
    const r = await restoreAt(newHostCfg, 'latest', target);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/start made to fail by the test/);
    expect(r.stderr).toMatch(new RegExp(`${target} was emptied again: no restored cluster is left`));
    expect(r.stderr).toMatch(/were put back from safety snapshot/);
    expect(await exists(target)).toBe(false);
    expect(await portOpen(env.db.port)).toBe(false);
    expect(await readFile(extra, 'utf8')).toBe('written before the restore\n');
    startedAgain(r);
  }, 600_000);
  test("a server that does not start (its port taken by another program): the restored server's log is said, the target removed", async () => {
    const target = path.join(env.root, 'newhost4', 'main');
    await mkdir(path.dirname(target));
    restoredDirs.push(target);
    // Not a PostgreSQL: the busy-port check (postmasters only) lets it through; the bind fails.
    // It hangs up at once: Mattermost, started again after the failure, must not wait on it.
    const squatter = createServer((sock) => sock.destroy());
    await new Promise<void>((resolve) => squatter.listen(env.db.port, '127.0.0.1', resolve));
    let r: CliResult;
    try {
      r = await restoreAt(newHostCfg, t.toISOString(), target);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
    expect(r.code).toBe(1);
    const said = `${r.stderr}\n${JSON.stringify(r.events)}`;
    expect(said).toMatch(/the restored server's log \(.*pg_ctl\.log, deleted with .*\) ended with:/);
    expect(said).toMatch(/could not bind IPv4 address .{0,4}127\.0\.0\.1.{0,4}: Address already in use/);
    expect(said).toMatch(/FATAL: {2}could not create any TCP\/IP sockets/);
    expect(r.stderr).toMatch(new RegExp(`${target} was emptied again: no restored cluster is left`));
    expect(await exists(target)).toBe(false);
  }, 600_000);

  test.each([
    ['while pgbackrest restores', (e: Record<string, any>, stanza: string) => pgbackrestRestoring(stanza)],
    [
      'while the restored server starts',
      (e: Record<string, any>) => e.type === 'step.started' && e.step === 'postgres-start',
    ],
  ])(
    'SIGTERM %s: cancelled, no pgbackrest or server left, the target removed, the files untouched, said so',
    async (_when, now) => {
      expect(await portOpen(env.db.port)).toBe(false);
      const stanza = (JSON.parse(await readFile(newHostCfg, 'utf8')) as { pitr: { stanza: string } }).pitr.stanza;
      const target = path.join(env.root, `newhost-sigterm-${restoredDirs.length}`, 'main');
      await mkdir(path.dirname(target));
      restoredDirs.push(target);
      const extra = path.join(env.sb.installDir, 'config', `added-before-sigterm-${restoredDirs.length}.txt`);
      await writeFile(extra, 'written before the restore\n');
      const run = startCli([
        '--config',
        newHostCfg,
        '--json',
        'restore',
        '--at',
        t.toISOString(),
        '--pg-data-dir',
        target,
        '--yes',
      ]);
      const signal = { sent: false };
      const kill = () => {
        if (!signal.sent) run.child.kill('SIGTERM');
        signal.sent = true;
      };
      run.onEvent((e) => {
        if (now(e, stanza)) kill();
      });
      const poll = (async () => {
        while (!signal.sent && run.child.exitCode === null) {
          if (now({}, stanza)) kill();
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      const r = await run.done;
      await poll;
      expect(signal.sent).toBe(true);
      expect({ code: r.code, cancelled: /cancelled by SIGTERM/.test(r.stderr) }).toEqual({
        code: 130,
        cancelled: true,
      });
      expect(r.stderr).toMatch(new RegExp(`${target} was emptied again: no restored cluster is left`));
      // Cancelled before the files' steps: they were never changed; the safety snapshot is named, as a sentence.
      expect(r.stderr).toMatch(
        /Safety snapshot (\S+) holds the state before the restore: mm-backup restore \1\. Mattermost has no database/,
      );
      expect(await exists(target)).toBe(false);
      expect(pgbackrestPids(stanza)).toEqual([]);
      expect(await portOpen(env.db.port)).toBe(false);
      expect(await readFile(extra, 'utf8')).toBe('written before the restore\n');
      startedAgain(r);
    },
    600_000,
  );
});
