/**
 * Snapshots in physical mode, with real parts only: a real PostgreSQL 15 cluster archiving through
 * the real pgbackrest, a sandbox Mattermost served by the stand-in, `mm-backup backup` and
 * `restore <id>` as child processes. pg_dump is reached through a wrapper in database.pgBinDir
 * that counts its runs, so "no dump was taken" is what happened, not what the manifest says.
 */
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isUp } from '../support/e2e_env';
import { setupPitrRestore, type PitrRestoreEnv } from '../support/pitr_restore_env';

describe('snapshots in physical mode', () => {
  let env: PitrRestoreEnv;
  let mmdb: string;
  let dumpLog: string;
  let cfg: Record<string, any>;
  let first: Record<string, any>;
  /** The physical snapshot the restore tests restore (taken by the first test). */
  let physicalId = '';
  const sql = (q: string) => env.db.query(mmdb, q);
  const ok = async (...args: string[]) => {
    const r = await env.cli(...args);
    expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: '' });
    return r.summary as Record<string, any>;
  };
  /** The database steps' titles as planned (job.started) and as each step started. */
  const dbStepTitles = (events: Array<Record<string, any>>) => ({
    planned: (events.find((e) => e.type === 'job.started')?.steps as Array<{ id: string; title: string }>)
      .filter((st) => st.id.startsWith('database'))
      .map((st) => st.title),
    started: events
      .filter((e) => e.type === 'step.started' && String(e.step).startsWith('database'))
      .map((e) => e.title as string),
  });
  const dumps = async () => (await readFile(dumpLog, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
  const probeRows = async () => ((await sql('SELECT n FROM probe ORDER BY n')) as Array<{ n: number }>).map((r) => r.n);
  const manifestOf = async (id: string) =>
    JSON.parse(await readFile(path.join(env.repo, 'snapshots', `${id}.json`), 'utf8')) as Record<string, any>;
  const dbRecord = (m: Record<string, any>) =>
    (m.components as Array<Record<string, any>>).find((c) => c.id === 'database')!;
  const probeFile = () => path.join(env.sb.installDir, 'config', 'probe.txt');
  const dataDirState = async () => ({ ino: (await stat(env.db.dataDir)).ino, rows: await probeRows() });
  /** pgbackrest as postgres with our config, as mm-backup runs it. */
  const pgbackrest = (...args: string[]) =>
    spawnSync(
      'runuser',
      [
        '-u',
        'postgres',
        '--',
        '/usr/bin/pgbackrest',
        `--config-path=${cfg.pitr.configDir}`,
        `--stanza=${cfg.pitr.stanza}`,
        ...args,
      ],
      { encoding: 'utf8' },
    );

  /** pgBackRest's backup labels, oldest first. */
  const labels = (): string[] => {
    const r = pgbackrest('--output=json', 'info');
    expect(r.status).toBe(0);
    const stanzas = JSON.parse(r.stdout) as Array<{ backup: Array<{ label: string }> }>;
    return stanzas[0]!.backup.map((b) => b.label);
  };

  beforeAll(async () => {
    env = await setupPitrRestore();
    mmdb = env.sb.dbName;
    // pg_dump through a wrapper that notes each dump (not --version), the other tools as they are.
    const bin = path.join(env.root, 'pgbin');
    dumpLog = path.join(env.root, 'pg_dump.log');
    await mkdir(bin, { mode: 0o755 });
    for (const name of await readdir(env.db.binDir)) {
      if (name !== 'pg_dump') await symlink(path.join(env.db.binDir, name), path.join(bin, name));
    }
    await writeFile(
      path.join(bin, 'pg_dump'),
      [
        '#!/bin/sh',
        `case " $* " in *" --version "*) ;; *) echo dump >> '${dumpLog}' ;; esac`,
        `exec '${path.join(env.db.binDir, 'pg_dump')}' "$@"`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    cfg = JSON.parse(await readFile(env.cfgFile, 'utf8')) as Record<string, any>;
    cfg.database = { ...cfg.database, pgBinDir: bin };
    await writeFile(env.cfgFile, JSON.stringify(cfg, null, 2), { mode: 0o600 });
    await chmod(env.cfgFile, 0o600);

    await ok('pitr', 'enable', '--restart-postgres', '--yes');
    await env.db.exec(
      mmdb,
      `CREATE TABLE probe (n int); INSERT INTO probe SELECT generate_series(1, 5);
       ALTER TABLE probe OWNER TO ${env.sb.dbUser}`,
    );
    // Physical mode on, but no dump of this install yet: the snapshot dumps, says why, and its
    // steps say "dump".
    const fell = await env.cli('backup');
    expect({ code: fell.code, stderr: fell.stderr }).toEqual({ code: 0, stderr: '' });
    first = fell.summary as Record<string, any>;
    expect(first.snapshot.database).toBe('dump');
    const dumpTitles = [
      'Pin a snapshot of Database (postgres) and start its dump',
      'Finish the dump of Database (postgres)',
    ];
    expect(dbStepTitles(fell.events)).toEqual({ planned: dumpTitles, started: dumpTitles });
    expect(await dumps()).toBe(1);
    await ok('pitr', 'backup');
  }, 300_000);
  afterAll(async () => env?.cleanup());

  test('backup records a pgBackRest reference and takes no dump; list and show say so; manifest version 2', async () => {
    const label = labels().pop();
    await writeFile(probeFile(), 'v1\n');
    const before = await dumps();
    const ran = await env.cli('backup');
    expect({ code: ran.code, stderr: ran.stderr }).toEqual({ code: 0, stderr: '' });
    const s = ran.summary as Record<string, any>;
    expect(await dumps()).toBe(before);
    expect(s.snapshot).toMatchObject({ database: 'physical', physical: { label } });
    // The steps say what they do: a reference to pgBackRest's backup, named once it is found.
    expect(dbStepTitles(ran.events).started).toEqual([
      `Reference PostgreSQL backup ${label} (pgBackRest): read the WAL position of Database (postgres)`,
      'Finish the reference of Database (postgres): its WAL archived by pgBackRest',
    ]);
    expect(JSON.stringify(ran.events)).toContain(
      'WAL position read; its archiving is awaited while Mattermost runs again',
    );
    expect(s.database_reason).toMatch(/^a pgBackRest reference \(the last logical dump is in snapshot /);
    const m = await manifestOf(s.snapshot.id);
    expect(m.formatVersion).toBe(2);
    const rec = dbRecord(m);
    expect(rec.database).toBeUndefined();
    expect(rec).toMatchObject({ status: 'included', files: 0, bytes: 0 });
    expect(rec.physical).toMatchObject({ tool: 'pgbackrest', stanza: cfg.pitr.stanza, label, timeline: 1 });
    expect(rec.physical.lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(Date.parse(rec.physical.at)).toBeGreaterThan(Date.parse(m.startedAt) - 1000);
    // The snapshot of dumps before it is still version 1 (readable by versions that know only 1).
    expect((await manifestOf(first.snapshot.id)).formatVersion).toBe(1);

    // Online too (the reference is taken where the dump would be, in the other step layout).
    const onlineRun = await env.cli('backup', '--mode', 'online');
    const online = onlineRun.summary as Record<string, any>;
    expect(online.snapshot.database).toBe('physical');
    expect(dbStepTitles(onlineRun.events)).toEqual({
      planned: ['Reference the newest PostgreSQL backup (pgBackRest) and the WAL position of Database (postgres)'],
      started: [`Reference PostgreSQL backup ${label} (pgBackRest) and the WAL position of Database (postgres)`],
    });
    expect(JSON.stringify(onlineRun.events)).toContain('files are copied after the database reference');
    expect(await dumps()).toBe(before);

    const list = await ok('list');
    const rows = new Map((list.snapshots as Array<Record<string, any>>).map((r) => [r.id, r]));
    expect(rows.get(first.snapshot.id)).toMatchObject({ database: 'dump' });
    expect(rows.get(s.snapshot.id)).toMatchObject({
      database: 'physical',
      physical: { label, lsn: rec.physical.lsn, consistent_at: rec.physical.at },
    });
    const text = spawnSync(
      process.execPath,
      [path.resolve(__dirname, '../../bin/mm-backup.js'), '--config', env.cfgFile, 'show', s.snapshot.id],
      {
        encoding: 'utf8',
      },
    );
    expect(text.stdout).toContain(`Database: a pgBackRest reference (backup ${label}, WAL to ${rec.physical.lsn}`);
    // verify checks its files; the database part has no object of ours (pgBackRest checks its own).
    await ok('verify', s.snapshot.id);
    physicalId = s.snapshot.id;
  }, 300_000);

  test('backup --logical dumps; a dump older than pitr.logicalDumpEveryDays is due again (never with 0)', async () => {
    const before = await dumps();
    const forced = await ok('backup', '--logical');
    expect(forced.snapshot.database).toBe('dump');
    expect(await dumps()).toBe(before + 1);
    expect((await manifestOf(forced.snapshot.id)).formatVersion).toBe(1);
    // The newest dump is fresh: the next snapshot refers.
    expect((await ok('backup', '--mode', 'online')).snapshot.database).toBe('physical');

    // Make that dump 8 days old: rewrite its start, sign it again with this host's key (sign-snapshots
    // verifies it first), as if it had been taken then.
    const file = path.join(env.repo, 'snapshots', `${forced.snapshot.id}.json`);
    const m = JSON.parse(await readFile(file, 'utf8')) as Record<string, any>;
    m.startedAt = new Date(Date.now() - 8 * 86_400_000).toISOString();
    await writeFile(file, JSON.stringify(m));
    await rm(path.join(env.repo, 'snapshots', `${forced.snapshot.id}.sig`));
    await ok('sign-snapshots');
    // 0: never due.
    await writeFile(env.cfgFile, JSON.stringify({ ...cfg, pitr: { ...cfg.pitr, logicalDumpEveryDays: 0 } }), {
      mode: 0o600,
    });
    expect((await ok('backup', '--mode', 'online')).snapshot.database).toBe('physical');
    await writeFile(env.cfgFile, JSON.stringify(cfg), { mode: 0o600 });
    expect(await dumps()).toBe(before + 1);
    const due = await env.cli('backup', '--mode', 'online');
    expect({ code: due.code, stderr: due.stderr }).toEqual({ code: 0, stderr: '' });
    expect(due.summary?.snapshot.database).toBe('dump');
    expect(JSON.stringify(due.events)).toMatch(
      /database: a logical dump \(the last one, in snapshot \S+, is 8 days old/,
    );
    expect(await dumps()).toBe(before + 2);
    const r = await env.cli('backup', '--mode', 'online');
    expect(r.summary?.snapshot.database).toBe('physical');
    expect(await dumps()).toBe(before + 2);
  }, 300_000);

  test('archiving failing: the backup dumps and gives that reason, though pgbackrest info (run beside) fails too; then it refers again', async () => {
    // archive-push (as postgres) cannot open the archive: archiving fails, and so does pgbackrest info.
    const archiveDir = path.join(env.repo, 'pgbackrest', 'archive', cfg.pitr.stanza);
    const mode = (await stat(archiveDir)).mode & 0o7777;
    const archiver = async () =>
      (
        (await env.db.query(
          'postgres',
          `SELECT coalesce(last_failed_time > last_archived_time, last_failed_time IS NOT NULL) AS failing,
                  last_archived_time IS NOT NULL AND (last_failed_time IS NULL OR last_archived_time > last_failed_time) AS ok
             FROM pg_stat_archiver`,
        )) as Array<{ failing: boolean; ok: boolean }>
      )[0]!;
    const newSegment = async () => {
      await env.db.exec('postgres', 'CREATE TABLE IF NOT EXISTS wal_poke (n int); INSERT INTO wal_poke VALUES (1)');
      await env.db.query('postgres', 'SELECT pg_switch_wal()');
    };
    const until = async (what: () => Promise<boolean>, ms: number) => {
      const deadline = Date.now() + ms;
      while (!(await what())) {
        if (Date.now() > deadline) throw new Error('timed out');
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    const before = await dumps();
    await chmod(archiveDir, 0o000);
    try {
      await newSegment();
      await until(async () => (await archiver()).failing, 60_000);
      expect(JSON.parse(pgbackrest('--output=json', 'info').stdout)[0].status.code).not.toBe(0);
      const r = await env.cli('backup', '--mode', 'online');
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      expect(r.summary?.snapshot.database).toBe('dump');
      expect(r.summary?.database_reason).toMatch(/^a dump instead of a pgBackRest reference: WAL archiving is failing/);
      expect(await dumps()).toBe(before + 1);
    } finally {
      await chmod(archiveDir, mode);
    }
    await newSegment();
    await until(async () => (await archiver()).ok, 120_000);
    expect((await ok('backup', '--mode', 'online')).snapshot.database).toBe('physical');
  }, 300_000);

  test('restore <id> of a physical snapshot: exactly its rows and its files; rows written after are gone', async () => {
    const id = physicalId;
    const m = await manifestOf(id);
    await env.db.exec(mmdb, 'INSERT INTO probe SELECT generate_series(6, 9)');
    await writeFile(probeFile(), 'v2, after the snapshot\n');
    const oldIno = (await stat(env.db.dataDir)).ino;
    const r = await ok('restore', id, '--yes');
    expect(r).toMatchObject({
      snapshot_id: id,
      backup_set: dbRecord(m).physical.label,
      lsn: dbRecord(m).physical.lsn,
      files_snapshot_id: id,
      put_back: false,
      attachments_missing_count: 0,
    });
    expect(await probeRows()).toEqual([1, 2, 3, 4, 5]);
    expect(await readFile(probeFile(), 'utf8')).toBe('v1\n');
    expect((await stat(r.moved_aside)).ino).toBe(oldIno);
    expect(await isUp(env.url)).toBe(true);
    // After the restore the cluster is on a new timeline with no physical backup yet: the next
    // snapshot dumps (and says why) rather than refer to a backup of an abandoned history.
    const next = await env.cli('backup', '--mode', 'online');
    expect({ code: next.code, stderr: next.stderr }).toEqual({ code: 0, stderr: '' });
    expect(next.summary?.snapshot.database).toBe('dump');
    expect(JSON.stringify(next.events)).toMatch(/no physical backup on the cluster's current timeline \(2\)/);
    expect(next.summary?.database_reason).toMatch(
      /^a dump instead of a pgBackRest reference: there is no physical backup on the cluster's current timeline \(2\)/,
    );
  }, 600_000);

  test('a hostile reference is refused: a label that is no label, a backup that does not exist; nothing changed', async () => {
    const id = physicalId;
    const genuine = await manifestOf(id);
    const state = await dataDirState();
    const plant = async (newId: string, label: string) => {
      const m = structuredClone(genuine);
      m.id = newId;
      dbRecord(m).physical.label = label;
      await writeFile(path.join(env.repo, 'snapshots', `${newId}.json`), JSON.stringify(m));
    };
    try {
      await plant('29990101T000000Z-aaaaa1', "20261202-000000F'; rm -rf /tmp/x #");
      const bad = await env.cli('restore', '29990101T000000Z-aaaaa1', '--yes', '--allow-unsigned');
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/invalid/);
      // Well-formed but not in pgBackRest's repository: unsigned, refused as such; with --allow-unsigned,
      // refused because pgBackRest has no such backup.
      await plant('29990101T000000Z-aaaaa2', '20200101-000000F');
      const unsigned = await env.cli('restore', '29990101T000000Z-aaaaa2', '--yes');
      expect(unsigned.code).not.toBe(0);
      expect(unsigned.stderr).toMatch(/not signed|NOT SIGNED|unsigned/i);
      const missing = await env.cli('restore', '29990101T000000Z-aaaaa2', '--yes', '--allow-unsigned');
      expect(missing.code).toBe(3);
      expect(missing.stderr).toMatch(
        /pgBackRest backup 20200101-000000F .* is no longer in the repository.*nothing was changed/,
      );
      expect(await dataDirState()).toEqual(state);
      expect(await isUp(env.url)).toBe(true);
    } finally {
      await rm(path.join(env.repo, 'snapshots', '29990101T000000Z-aaaaa1.json'), { force: true });
      await rm(path.join(env.repo, 'snapshots', '29990101T000000Z-aaaaa2.json'), { force: true });
    }
  }, 300_000);

  test('a snapshot whose pgBackRest backup has expired is refused before anything stops, with what to do', async () => {
    const id = physicalId;
    const label = dbRecord(await manifestOf(id)).physical.label as string;
    await ok('pitr', 'backup', '--type', 'full');
    const expired = pgbackrest(`--set=${label}`, '--repo1-retention-full=9999', 'expire');
    expect({ status: expired.status, stderr: expired.stderr }).toEqual({ status: 0, stderr: '' });
    expect(labels()).not.toContain(label);
    const state = await dataDirState();
    const r = await env.cli('restore', id, '--yes');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      new RegExp(`pgBackRest backup ${label} that snapshot ${id}'s database refers to is no longer in the repository`),
    );
    expect(r.stderr).toMatch(/logical dump.*restore --at/);
    expect(await dataDirState()).toEqual(state);
    expect(await isUp(env.url)).toBe(true);
  }, 300_000);
});
