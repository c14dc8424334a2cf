/**
 * restore --at, in place, with real parts only: a real PostgreSQL 15 cluster archiving through the
 * real pgbackrest, a sandbox Mattermost served by the stand-in, file snapshots by `mm-backup
 * backup`. Rows and attachments are written before and after a time T (with a file snapshot on
 * each side), a table is dropped, and the restore must bring back exactly the rows of T, the
 * table, and every attachment the restored FileInfo rows reference; refusals change nothing; a
 * restore that fails after the data directory was moved puts it back and Mattermost answers.
 */
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import path from 'node:path';
import type { Manifest } from '../../src/manifest/manifest';
import { manifestText } from '../../src/manifest/manifest_io';
import { startCli } from '../support/cli';
import { isUp } from '../support/e2e_env';
import { setupPitrRestore, type PitrRestoreEnv } from '../support/pitr_restore_env';

describe('restore --at (in place)', () => {
  let env: PitrRestoreEnv;
  let mmdb: string;
  const sql = (q: string, params?: unknown[]) => env.db.query(mmdb, q, params);
  const ok = async (...args: string[]) => {
    const r = await env.cli(...args);
    expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: '' });
    return r.summary as Record<string, any>;
  };
  const probeRows = async () => ((await sql('SELECT n FROM probe ORDER BY n')) as Array<{ n: number }>).map((r) => r.n);
  const dataDirState = async () => {
    const st = await stat(env.db.dataDir);
    return { ino: st.ino, name: env.db.dataDir, rows: (await probeRows()).length };
  };
  /** A FileInfo row (a copy of the sandbox's first, with a new id and path) and its file on disk. */
  const attach = async (id: string): Promise<string> => {
    const rel = `20261202/teams/noteam/channels/pitr/users/pitr/${id}/${id}.txt`;
    await mkdir(path.dirname(path.join(env.sb.dataDir, rel)), { recursive: true });
    await writeFile(path.join(env.sb.dataDir, rel), `attachment ${id}\n`);
    await env.db.exec(
      mmdb,
      `CREATE TEMP TABLE t AS SELECT * FROM fileinfo LIMIT 1;
       UPDATE t SET id = '${id}', path = '${rel}', thumbnailpath = '', previewpath = '', deleteat = 0;
       INSERT INTO fileinfo SELECT * FROM t; DROP TABLE t;`,
    );
    return rel;
  };
  const asideDirs = async () =>
    (await readdir(path.dirname(env.db.dataDir))).filter((n) => n.includes('.before-restore-'));
  const dbNow = async () => new Date(((await sql('SELECT clock_timestamp() AS t')) as Array<{ t: Date }>)[0]!.t);

  beforeAll(async () => {
    env = await setupPitrRestore();
    mmdb = env.sb.dbName;
    // Not in physical mode yet: refused, nothing changed.
    const off = await env.cli('restore', '--at', 'latest', '--yes');
    expect(off.code).toBe(3);
    expect(off.stderr).toMatch(/physical mode, which is not enabled; nothing was changed/);
    await ok('pitr', 'enable', '--restart-postgres', '--yes');
    await env.db.exec(
      mmdb,
      `CREATE TABLE probe (n int); INSERT INTO probe SELECT generate_series(1, 5);
       ALTER TABLE probe OWNER TO ${env.sb.dbUser}`,
    );
    await ok('pitr', 'backup');
  }, 300_000);
  afterAll(async () => env?.cleanup());

  test('a time outside the recovery window, or in the future, is refused with the window; nothing changed', async () => {
    const before = await dataDirState();
    const early = await env.cli('restore', '--at', '2020-01-01 00:00:00+01:00', '--yes');
    expect(early.code).toBe(3);
    expect(early.stderr).toMatch(
      /2019-12-31T23:00:00\.000Z is outside the recovery window \d{4}-.* … .*nothing was changed/,
    );
    const future = await env.cli('restore', '--at', new Date(Date.now() + 3_600_000).toISOString(), '--yes');
    expect(future.code).toBe(3);
    expect(future.stderr).toMatch(/outside the recovery window/);
    const noZone = await env.cli('restore', '--at', '2026-12-01 14:31:00', '--yes');
    expect(noZone.code).toBe(2);
    expect(noZone.stderr).toMatch(/not a time with its offset/);
    expect(await dataDirState()).toEqual(before);
    expect(await isUp(env.url)).toBe(true);
  }, 120_000);

  test('other databases in the cluster are refused (listed); nothing changed', async () => {
    await env.db.exec('postgres', 'CREATE DATABASE other_app');
    try {
      const before = await dataDirState();
      const r = await env.cli('restore', '--at', 'latest', '--yes');
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/databases other than Mattermost's \(other_app\)/);
      expect(await dataDirState()).toEqual(before);
    } finally {
      await env.db.exec('postgres', 'DROP DATABASE other_app');
    }
  }, 120_000);

  test('restore --at T: the rows of T, the dropped table back, every referenced attachment on disk', async () => {
    const a1 = await attach('pitra1');
    await env.db.exec(
      mmdb,
      `CREATE TABLE doomed (v text); INSERT INTO doomed VALUES ('kept'); ALTER TABLE doomed OWNER TO ${env.sb.dbUser}`,
    );
    const s1 = await ok('backup');
    const a2 = await attach('pitra2'); // after snapshot s1, before T: only a later snapshot holds it
    await env.db.exec(mmdb, 'INSERT INTO probe SELECT generate_series(6, 8)');
    await new Promise((r) => setTimeout(r, 1000));
    const t = await dbNow();
    await new Promise((r) => setTimeout(r, 1000));
    await env.db.exec(mmdb, 'INSERT INTO probe SELECT generate_series(9, 12); DROP TABLE doomed');
    const a3 = await attach('pitra3'); // after T: the restored database does not reference it
    const s2 = await ok('backup');
    const oldDir = await stat(env.db.dataDir);

    const r = await ok('restore', '--at', t.toISOString(), '--yes');
    expect(r).toMatchObject({
      target: t.toISOString(),
      files_snapshot_id: s1.snapshot.id,
      attachments_snapshot_id: s2.snapshot.id,
      attachments_missing_count: 0,
      put_back: false,
    });
    expect(await probeRows()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(await sql('SELECT v FROM doomed')).toEqual([{ v: 'kept' }]);
    const ids = (
      (await sql("SELECT id FROM fileinfo WHERE id LIKE 'pitra%' ORDER BY id")) as Array<{ id: string }>
    ).map((x) => x.id);
    expect(ids).toEqual(['pitra1', 'pitra2']);
    // Every file the restored database references is on disk (checked here, not only by the CLI).
    const refs = (await sql('SELECT path, thumbnailpath, previewpath FROM fileinfo WHERE deleteat = 0')) as Array<
      Record<string, string>
    >;
    const paths = refs.flatMap((x) => [x.path, x.thumbnailpath, x.previewpath]).filter((p): p is string => !!p);
    expect(paths.length).toBeGreaterThan(12);
    const missing: string[] = [];
    for (const p of paths) {
      if (!(await stat(path.join(env.sb.dataDir, p)).catch(() => undefined))?.isFile()) missing.push(p);
    }
    expect(missing).toEqual([]);
    expect(paths).toEqual(expect.arrayContaining([a1, a2]));
    expect(r.attachments_checked).toBe(paths.length);
    // a3 (after T) may be on disk too (the later snapshot holds it); the database does not reference it.
    expect(paths).not.toContain(a3);
    // The old directory is kept beside, by rename (same inode), and named.
    expect(r.moved_aside).toMatch(new RegExp(`^${env.db.dataDir}\\.before-restore-\\d{8}T\\d{6}Z$`));
    expect((await stat(r.moved_aside)).ino).toBe(oldDir.ino);
    expect((await stat(env.db.dataDir)).ino).not.toBe(oldDir.ino);
    expect(await isUp(env.url)).toBe(true);
    // Archiving goes on from the restored cluster: the next physical backup works.
    await ok('pitr', 'backup');
  }, 600_000);

  test('a restore whose pgbackrest fails after the move puts the old data directory back; PostgreSQL and Mattermost run on it', async () => {
    const t = await dbNow();
    await new Promise((r) => setTimeout(r, 1000));
    await env.db.exec(mmdb, 'INSERT INTO probe VALUES (100)');
    const before = await dataDirState();
    const asideBefore = await asideDirs();
    await writeFile(env.failRestoreMarker, '');
    let r;
    try {
      r = await env.cli('restore', '--at', t.toISOString(), '--yes');
    } finally {
      await rm(env.failRestoreMarker, { force: true });
    }
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/made to fail by the test/);
    expect(r.stderr).toMatch(
      new RegExp(`The old data directory is back in ${env.db.dataDir} and PostgreSQL runs on it`),
    );
    expect(await dataDirState()).toEqual(before);
    expect(await probeRows()).toContain(100);
    expect(await asideDirs()).toEqual(asideBefore);
    expect(await isUp(env.url)).toBe(true);
  }, 600_000);

  test('a restore that fails at the very end (Mattermost does not start) puts back the files and the data directory', async () => {
    const t = await dbNow();
    await new Promise((r) => setTimeout(r, 1000));
    await env.db.exec(mmdb, 'INSERT INTO probe VALUES (200)');
    const extra = path.join(env.sb.installDir, 'config', 'added-after-t.txt');
    await writeFile(extra, 'written after T\n');
    const before = await dataDirState();
    const asideBefore = await asideDirs();
    await writeFile(env.failStartMarker, '');
    const r = await env.cli('restore', '--at', t.toISOString(), '--yes');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/start made to fail by the test/);
    expect(r.stderr).toMatch(
      new RegExp(`The old data directory is back in ${env.db.dataDir} and PostgreSQL runs on it`),
    );
    expect(r.stderr).toMatch(/were put back from safety snapshot/);
    expect(await dataDirState()).toEqual(before);
    expect(await probeRows()).toContain(200);
    expect(await readFile(extra, 'utf8')).toBe('written after T\n');
    expect(await asideDirs()).toEqual(asideBefore);
    expect(await isUp(env.url)).toBe(true);
  }, 600_000);

  test('restore --at latest reaches the last commit; with no snapshot after it, attachments come from the safety snapshot', async () => {
    await env.db.exec(mmdb, 'INSERT INTO probe VALUES (300)');
    const a4 = await attach('pitra4'); // after every file snapshot: only the safety snapshot holds it
    const rows = await probeRows();
    const r = await ok('restore', '--at', 'latest', '--yes');
    expect(r).toMatchObject({ target: 'latest', attachments_missing_count: 0, put_back: false });
    expect(r.attachments_snapshot_id).toBe(r.safety_snapshot_id);
    expect(await probeRows()).toEqual(rows);
    expect(await sql("SELECT id FROM fileinfo WHERE id = 'pitra4'")).toEqual([{ id: 'pitra4' }]);
    expect((await stat(path.join(env.sb.dataDir, a4))).isFile()).toBe(true);
    expect(await isUp(env.url)).toBe(true);
  }, 600_000);

  test('the merge uses the safety snapshot it took: one swapped in the repository during the database restore is not used', async () => {
    await ok('backup'); // the files of "latest" (this test runs alone too)
    await env.db.exec(mmdb, 'INSERT INTO probe VALUES (350)');
    const a5 = await attach('pitra5'); // after every file snapshot: only the safety snapshot holds it
    const snapDir = path.join(env.repo, 'snapshots');
    const known = new Set(await readdir(snapDir));
    await writeFile(env.pauseRestoreMarker, '');
    const run = startCli(['--config', env.cfgFile, '--json', 'restore', '--at', 'latest', '--yes']);
    let safetyFile = '';
    let genuine = '';
    try {
      // pgbackrest has restored the database (the safety snapshot is written): the wrapper waits.
      const end = Date.now() + 300_000;
      while (!(await stat(env.pausedFile).catch(() => undefined)) && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 200));
      }
      const added = (await readdir(snapDir)).filter((n) => n.endsWith('.json') && !known.has(n));
      expect(added).toHaveLength(1);
      safetyFile = path.join(snapDir, added[0]!);
      genuine = await readFile(safetyFile, 'utf8');
      // A repository writer's version: the new attachment dropped, a file of its choice added.
      const m = JSON.parse(genuine) as { components: Array<{ id: string; entries: Array<Record<string, any>> }> };
      const data = m.components.find((c) => c.id === 'data')!;
      const real = data.entries.find((e) => e.path === a5)!;
      expect(real).toBeDefined();
      const dirEntry = data.entries.find((e) => e.type === 'dir' && e.path !== '')!;
      data.entries = [
        ...data.entries.filter((e) => !String(e.path).includes('pitra5')),
        { ...dirEntry, path: 'planted' },
        { ...real, path: 'planted/evil.txt' },
      ].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      let text = '';
      for await (const s of manifestText(m as unknown as Manifest)) text += s;
      await writeFile(safetyFile, text);
    } finally {
      await writeFile(env.resumeFile, '');
      await rm(env.pauseRestoreMarker, { force: true });
    }
    const r = await run.done;
    await rm(env.resumeFile, { force: true });
    await rm(env.pausedFile, { force: true });
    if (safetyFile) await writeFile(safetyFile, genuine);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.summary).toMatchObject({ attachments_missing_count: 0, put_back: false });
    expect(path.basename(safetyFile, '.json')).toBe(r.summary!.safety_snapshot_id);
    expect(r.summary!.attachments_snapshot_id).toBe(r.summary!.safety_snapshot_id);
    expect((await stat(path.join(env.sb.dataDir, a5))).isFile()).toBe(true);
    expect(await stat(path.join(env.sb.dataDir, 'planted')).catch(() => 'absent')).toBe('absent');
    expect(await isUp(env.url)).toBe(true);
  }, 600_000);

  test('a restore killed after the move is repaired by the next job: old data directory back, PostgreSQL and Mattermost running', async () => {
    const t = await dbNow();
    await new Promise((r) => setTimeout(r, 1000));
    await env.db.exec(mmdb, 'INSERT INTO probe VALUES (400)');
    const before = await dataDirState();
    const asideBefore = await asideDirs();
    await writeFile(env.hangRestoreMarker, '');
    const run = startCli(['--config', env.cfgFile, '--json', 'restore', '--at', t.toISOString(), '--yes']);
    let sleeper = 0;
    try {
      // The real pgbackrest has written the restored directory; the wrapper then waits: kill the CLI there.
      const end = Date.now() + 120_000;
      while (!sleeper && Date.now() < end) {
        sleeper = Number((await readFile(env.hangPidFile, 'utf8').catch(() => '')).trim());
        if (!sleeper) await new Promise((r) => setTimeout(r, 200));
      }
      expect(sleeper).toBeGreaterThan(0);
      run.child.kill('SIGKILL');
      await run.done;
    } finally {
      if (sleeper) process.kill(sleeper, 'SIGKILL');
      await rm(env.hangRestoreMarker, { force: true });
    }
    expect(await isUp(env.url)).toBe(false);
    expect((await asideDirs()).length).toBe(asideBefore.length + 1);

    const next = await env.cli('backup');
    expect({ code: next.code, stderr: next.stderr }).toEqual({ code: 0, stderr: '' });
    const logs = next.events
      .filter((e) => e.type === 'log')
      .map((e) => e.message as string)
      .join('\n');
    expect(logs).toMatch(/it was a point-in-time restore: putting .* back as it was and starting PostgreSQL/);
    expect(logs).toMatch(/The old PostgreSQL data directory was put back/);
    expect(await dataDirState()).toEqual(before);
    expect(await probeRows()).toContain(400);
    expect(await asideDirs()).toEqual(asideBefore);
    expect(await isUp(env.url)).toBe(true);
  }, 600_000);

  test("a stale lock's repair ignores a restore marker of another job: set aside, the data directory untouched", async () => {
    // What a repair that could not complete (or an older crash) might leave: a marker naming a
    // directory moved aside long ago. A later killed job of another id must not put it back.
    const before = await dataDirState();
    const aside = `${env.db.dataDir}.before-restore-20200101T000000Z`;
    await mkdir(aside, { mode: 0o700 });
    await writeFile(path.join(aside, 'PG_VERSION'), '15\n');
    const keyDir = path.dirname(env.cfgFile);
    const marker = path.join(keyDir, 'mm-backup-pitr-restore.json');
    await writeFile(marker, JSON.stringify({ dataDir: env.db.dataDir, aside, jobId: 'a'.repeat(26) }), { mode: 0o600 });
    // A restore killed outright: its lock names a process that is gone.
    const dead = spawnSync('true').pid;
    await writeFile(
      path.join(env.repo, 'lock.json'),
      JSON.stringify({
        pid: dead,
        host: hostname(),
        procStart: '',
        jobId: 'b'.repeat(26),
        kind: 'restore',
        startedAt: new Date().toISOString(),
        mattermostStopped: false,
      }),
    );
    try {
      const next = await env.cli('backup');
      expect({ code: next.code, stderr: next.stderr }).toEqual({ code: 0, stderr: '' });
      const logs = next.events
        .filter((e) => e.type === 'log')
        .map((e) => e.message as string)
        .join('\n');
      expect(logs).toMatch(
        new RegExp(
          `restore marker of job ${'a'.repeat(26)}, not of the interrupted job ${'b'.repeat(26)}, was found: nothing was done to PostgreSQL`,
        ),
      );
      expect(logs).not.toMatch(/putting .* back as it was/);
      expect(await dataDirState()).toEqual(before);
      expect(await readFile(path.join(aside, 'PG_VERSION'), 'utf8')).toBe('15\n');
      const keyFiles = await readdir(keyDir);
      expect(keyFiles).not.toContain('mm-backup-pitr-restore.json');
      expect(keyFiles.filter((f) => f.startsWith('mm-backup-pitr-restore.json.failed-'))).toHaveLength(1);
      expect(await isUp(env.url)).toBe(true);
    } finally {
      await rm(aside, { recursive: true, force: true });
    }
  }, 300_000);

  test('a failed restore whose undo cannot start PostgreSQL records it beside the signing key; the next job starts it once fixed', async () => {
    // Last of this file: Mattermost's start after it fails (its database is down) and stays so.
    const cfg0 = await readFile(env.cfgFile, 'utf8');
    const broken = path.join(env.root, 'postgres-broken');
    const start = path.join(env.root, 'start-postgres.sh');
    await writeFile(
      start,
      [
        '#!/bin/sh',
        `if [ -e '${broken}' ]; then echo "FATAL: could not map anonymous shared memory" >&2; exit 1; fi`,
        'exec runuser -u postgres -- "$2/pg_ctl" start -D "$1" -l "$3" -w -s',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const ctl = (...a: string[]) => ['runuser', '-u', 'postgres', '--', path.join(env.db.binDir, 'pg_ctl'), ...a];
    const cfg = JSON.parse(cfg0);
    cfg.pitr.postgresService = {
      preset: 'custom',
      stop: ctl('stop', '-D', env.db.dataDir, '-m', 'fast', '-w', '-s'),
      start: [start, env.db.dataDir, env.db.binDir, env.db.logFile],
      status: ctl('status', '-D', env.db.dataDir, '-s'),
    };
    await writeFile(env.cfgFile, JSON.stringify(cfg, null, 2), { mode: 0o600 });
    const marker = path.join(path.dirname(env.cfgFile), 'mm-backup-postgres-down.json');
    try {
      await ok('backup'); // a file snapshot before T (also when this test runs alone)
      const t = await dbNow();
      await new Promise((r) => setTimeout(r, 1000));
      await env.db.exec(mmdb, 'INSERT INTO probe VALUES (900)');
      await writeFile(env.failRestoreMarker, '');
      await writeFile(broken, '');
      let r;
      try {
        r = await env.cli('restore', '--at', t.toISOString(), '--yes');
      } finally {
        await rm(env.failRestoreMarker, { force: true });
      }
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/PostgreSQL IS DOWN: it did not start on its old data directory/);
      expect(env.db.isRunning()).toBe(false);
      expect((await stat(marker)).mode & 0o777).toBe(0o600);
      expect(JSON.parse(await readFile(marker, 'utf8'))).toMatchObject({
        reason: expect.stringMatching(/a point-in-time restore failed and was undone, but it did not start/),
        autoStart: true,
      });

      await rm(broken);
      const next = await env.cli('pitr', 'enable', '--yes');
      expect(next.events.map((e) => String(e.message ?? '')).join('\n')).toMatch(/was started again; it runs/);
      expect(env.db.isRunning()).toBe(true);
      await expect(stat(marker)).rejects.toThrow();
      expect(await probeRows()).toContain(900); // the old data directory, as it was
    } finally {
      await rm(broken, { force: true });
      await writeFile(env.cfgFile, cfg0, { mode: 0o600 });
    }
  }, 600_000);
});
