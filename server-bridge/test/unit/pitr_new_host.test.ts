/**
 * The parts of a restore onto a new host that work on files, with real directories, real links
 * and the real postgres account: where the archive ends (by name and time in a repository
 * layout), the room a restore needs, which targets are refused, how a failed target is emptied
 * without following a planted link, and the settings written into the restored cluster.
 */
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { findPgBinDir, startPostgres } from '@mm-backup/testkit';
import path from 'node:path';
import { OutputTooLargeError, ProcessError, type BridgeError } from '../../src/core/errors';
import type { BackupInfo } from '../../src/database/pgbackrest/info';
import { lastArchivedSegment, lastArchivedSegmentVia } from '../../src/database/pgbackrest/archive_end';
import { buildArchiveCommand, buildRestoreCommand } from '../../src/database/pgbackrest/archive_command';
import { renderConfig, writeConfigFile } from '../../src/database/pgbackrest/config_file';
import { DrillCluster, removeLeftoverDrills } from '../../src/database/pgbackrest/drill_cluster';
import { PgBackRest, resolvePgBackRest } from '../../src/database/pgbackrest/pgbackrest';
import {
  checkNewHostTarget,
  checkTargetApart,
  cleanNewHostTarget,
  prepareNewHostTarget,
  refuseTablespaces,
} from '../../src/database/pgbackrest/new_host_target';
import { asAccount, lookupAccount, type OsAccount } from '../../src/database/pgbackrest/postgres_account';
import { runProcess } from '../../src/process/run_process';
import { REPLAY_WAL_CAP_BYTES, restoreSpace } from '../../src/database/pgbackrest/restore_space';
import { setAutoConf } from '../../src/database/pgbackrest/restored_settings';

const pg = lookupAccount('postgres') as OsAccount;
let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'pitr-new-host-'));
  chmodSync(root, 0o711); // postgres reaches the directories below, as it reaches /var/lib/postgresql
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const SHA = 'a'.repeat(40);
function segment(dir: string, name: string, mtime: number, suffix = '.zst'): void {
  const log = path.join(dir, name.slice(0, 16));
  mkdirSync(log, { recursive: true });
  const f = path.join(log, `${name}-${SHA}${suffix}`);
  writeFileSync(f, 'x');
  utimesSync(f, mtime, mtime);
}

describe('lastArchivedSegment', () => {
  test('the segment written last, across timelines, by its time; partial and history files are not segments', async () => {
    const dir = path.join(root, 'archive', 'main', '15-1');
    segment(dir, '000000010000000000000003', 1000);
    segment(dir, '000000010000000100000001', 3000); // timeline 1 went on after timeline 2 was abandoned
    segment(dir, '000000020000000000000004', 2000);
    segment(dir, '000000010000000100000002', 9000, '.zst.partial');
    const partial = path.join(dir, '0000000100000001', `000000010000000100000003.partial-${SHA}.zst`);
    writeFileSync(partial, 'x');
    utimesSync(partial, 9000, 9000);
    writeFileSync(path.join(dir, '00000002.history'), 'x');
    expect(await lastArchivedSegment(root, 'main', '15-1')).toEqual({
      segment: '000000010000000100000001',
      timeline: 1,
      at: new Date(3000 * 1000),
    });
  });

  test('a link planted as the newest segment is not followed nor used; nothing there: undefined', async () => {
    const dir = path.join(root, 'archive', 'main', '15-1');
    segment(dir, '000000010000000000000003', 1000);
    symlinkSync('/etc/passwd', path.join(dir, '0000000100000000', `000000010000000000000009-${SHA}.zst`));
    expect(await lastArchivedSegment(root, 'main', '15-1')).toBeUndefined();
    expect(await lastArchivedSegment(root, 'main', '15-2')).toBeUndefined();
    expect(await lastArchivedSegment(root, 'main', '../15-1')).toBeUndefined();
  });

  test('through the real pgbackrest repo-ls (how a bucket is read): the same segment, its time in whole seconds', async () => {
    const dir = path.join(root, 'archive', 'main', '15-1');
    segment(dir, '000000010000000000000003', 1000);
    segment(dir, '000000010000000100000001', 3000.75);
    segment(dir, '000000020000000000000004', 2000);
    segment(dir, '000000030000000000000005', 3000.25); // the same second as timeline 1's last: the higher timeline wins
    segment(dir, '000000010000000100000002', 9000, '.zst.partial');
    writeFileSync(path.join(dir, '00000002.history'), 'x');
    const etc = path.join(root, 'etc');
    await writeConfigFile(
      etc,
      renderConfig({
        stanza: 'main',
        pg: { dataDir: path.join(root, 'pg'), port: 5432 },
        repo: { type: 'posix', path: root },
        processMax: 1,
        archivePushQueueMaxBytes: 1 << 30,
      }),
      pg,
    );
    const cli = new PgBackRest(resolvePgBackRest(), etc, 'main', pg);
    const ls = (d: string) => cli.repoLs(d);
    expect(await lastArchivedSegmentVia(ls, 'main', '15-1')).toEqual({
      segment: '000000030000000000000005',
      timeline: 3,
      at: new Date(3000 * 1000),
    });
    expect(await lastArchivedSegmentVia(ls, 'main', '15-2')).toBeUndefined();
    expect(await lastArchivedSegmentVia(ls, 'main', '../15-1')).toBeUndefined();
  });
});

describe('a time a Date cannot hold, set by whoever writes the repository', () => {
  let shm: string;
  // tmpfs keeps such times (ext4 stops at 2446, which a Date still holds).
  beforeEach(() => {
    shm = mkdtempSync('/dev/shm/pitr-far-time-');
    chmodSync(shm, 0o711);
  });
  afterEach(() => rmSync(shm, { recursive: true, force: true }));

  test('a segment dated in the year 318857: refused, saying which file, locally and through the real repo-ls', async () => {
    const dir = path.join(shm, 'archive', 'main', '15-1');
    segment(dir, '000000010000000000000003', 1000);
    segment(dir, '000000010000000000000004', 1e13);
    await expect(lastArchivedSegment(shm, 'main', '15-1')).rejects.toThrow(
      new RegExp(
        `${dir}/0000000100000000/000000010000000000000004-a+\\.zst has a modification time outside 1970 … 9999`,
      ),
    );
    const etc = path.join(shm, 'etc');
    await writeConfigFile(
      etc,
      renderConfig({
        stanza: 'main',
        pg: { dataDir: path.join(shm, 'pg'), port: 5432 },
        repo: { type: 'posix', path: shm },
        processMax: 1,
        archivePushQueueMaxBytes: 1 << 30,
      }),
      pg,
    );
    const cli = new PgBackRest(resolvePgBackRest(), etc, 'main', pg);
    const err = await lastArchivedSegmentVia((d) => cli.repoLs(d), 'main', '15-1').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProcessError);
    expect((err as Error).message).toMatch(
      /^pgbackrest repo-ls printed JSON of an unexpected shape \(000000010000000000000004-a+\.zst\.time: /,
    );
  });
});

describe('restoreSpace', () => {
  const set = (size: number, start: string | null) =>
    ({
      label: 'x',
      type: 'full',
      timestamp: { start: 0, stop: 0 },
      info: { size },
      archive: { start, stop: start },
    }) as BackupInfo;
  test('the database plus the WAL from the backup to the last archived segment, 16 MiB each, at most the cap', () => {
    expect(restoreSpace(set(1000, '000000010000000000000003'), '000000010000000000000005')).toEqual({
      databaseBytes: 1000,
      walBytes: 3 * 16 * 1024 * 1024,
      need: 1000 + 3 * 16 * 1024 * 1024,
    });
    // Across a log boundary (…00FF → …0100).
    expect(restoreSpace(set(0, '0000000100000000000000FF'), '000000010000000100000000').walBytes).toBe(
      2 * 16 * 1024 * 1024,
    );
    expect(restoreSpace(set(0, '000000010000000000000001'), '000000010000001000000000').walBytes).toBe(
      REPLAY_WAL_CAP_BYTES,
    );
    expect(restoreSpace(set(5, null), undefined)).toEqual({
      databaseBytes: 5,
      walBytes: REPLAY_WAL_CAP_BYTES,
      need: 5 + REPLAY_WAL_CAP_BYTES,
    });
  });
});

describe('the new host target', () => {
  test('a free name or an empty postgres directory is accepted; anything else is refused with nothing changed', async () => {
    expect(await checkNewHostTarget(path.join(root, 'main'), pg)).toEqual({
      dir: path.join(root, 'main'),
      existed: false,
    });
    const empty = path.join(root, 'empty');
    mkdirSync(empty);
    chownSync(empty, pg.uid, pg.gid);
    expect(await checkNewHostTarget(empty, pg)).toEqual({ dir: empty, existed: true });

    await expect(checkNewHostTarget(path.join(root, 'no', 'main'), pg)).rejects.toThrow(/has no parent directory/);
    await expect(checkNewHostTarget(`${root}/x/../main`, pg)).rejects.toThrow(/absolute, normalized/);
    const link = path.join(root, 'link');
    symlinkSync(empty, link);
    await expect(checkNewHostTarget(link, pg)).rejects.toThrow(/is a symbolic link; nothing was changed/);
    const mine = path.join(root, 'mine');
    mkdirSync(mine);
    await expect(checkNewHostTarget(mine, pg)).rejects.toThrow(/belongs to uid 0, not to postgres/);
    writeFileSync(path.join(empty, 'PG_VERSION'), '15\n');
    await expect(checkNewHostTarget(empty, pg)).rejects.toThrow(/is not empty \(PG_VERSION\)/);
    const file = path.join(root, 'file');
    writeFileSync(file, '');
    await expect(checkNewHostTarget(file, pg)).rejects.toThrow(/is not a directory/);
    expect(readdirSync(empty)).toEqual(['PG_VERSION']);
  });

  test('a parent swapped for a link after the check: refused, nothing made or chowned behind the link', async () => {
    // postgres owns /var/lib/postgresql on Debian: it can rename a directory there and put a link in its place.
    const owned = path.join(root, 'postgresql');
    mkdirSync(path.join(owned, '15'), { recursive: true });
    chownSync(owned, pg.uid, pg.gid);
    const elsewhere = path.join(root, 'elsewhere');
    mkdirSync(elsewhere);
    const dir = path.join(owned, '15', 'main');
    const t = await checkNewHostTarget(dir, pg);
    expect(t).toEqual({ dir, existed: false });

    renameSync(path.join(owned, '15'), path.join(owned, '15.old'));
    symlinkSync(elsewhere, path.join(owned, '15'));
    await expect(prepareNewHostTarget(t, pg)).rejects.toThrow(`${path.join(owned, '15')} is a symbolic link: refused`);
    expect(readdirSync(elsewhere)).toEqual([]);
    // Given with the link already there, the check refuses it, nothing changed.
    await expect(checkNewHostTarget(dir, pg)).rejects.toThrow(/has a symbolic link in its path/);

    // The grandparent swapped, and an existing target: the directory behind the link is not chowned.
    rmSync(path.join(owned, '15'));
    renameSync(path.join(owned, '15.old'), path.join(owned, '15'));
    mkdirSync(dir);
    chownSync(dir, pg.uid, pg.gid);
    const kept = await checkNewHostTarget(dir, pg);
    expect(kept.existed).toBe(true);
    mkdirSync(path.join(elsewhere, '15', 'main'), { recursive: true, mode: 0o755 });
    renameSync(owned, `${owned}.old`);
    symlinkSync(elsewhere, owned);
    await expect(prepareNewHostTarget(kept, pg)).rejects.toThrow(`${owned} is a symbolic link: refused`);
    const behind = lstatSync(path.join(elsewhere, '15', 'main'));
    expect([behind.uid, behind.mode & 0o777]).toEqual([0, 0o755]);
  });

  test('a target inside, equal to or around a place the restore keeps (a mirrored tree, the repository) is refused', () => {
    const places = [
      { what: 'the data files', path: '/srv/mm/data' },
      { what: 'the repository', path: '/var/backups/mm/' },
      { what: 'a file put back alone', path: '/etc/ssl/mm/key.pem' },
      { what: 'the root of single files', path: '/' },
    ];
    expect(() => checkTargetApart('/srv/mm/data/pg', places)).toThrow(
      '--pg-data-dir /srv/mm/data/pg lies inside the data files (/srv/mm/data); nothing was changed',
    );
    expect(() => checkTargetApart('/var/backups/mm', places)).toThrow(/is the repository \(\/var\/backups\/mm\)/);
    expect(() => checkTargetApart('/srv/mm', places)).toThrow(/contains the data files/);
    expect(() => checkTargetApart('/etc/ssl', places)).toThrow(/contains a file put back alone/);
    // Neighbours and prefixes of a name are apart; '/' stands for no place.
    for (const ok of ['/srv/mm/data2', '/srv/mm-pg', '/var/lib/postgresql/15/main', '/etc/ssl/mm2']) {
      expect(() => checkTargetApart(ok, places)).not.toThrow();
    }
  });

  test('made postgres 0700; after a failure removed when made, emptied when it was there; a planted link is not followed', async () => {
    const victim = path.join(root, 'victim');
    mkdirSync(victim);
    writeFileSync(path.join(victim, 'keep'), 'root data');

    const made = { dir: path.join(root, 'made'), existed: false };
    await prepareNewHostTarget(made, pg);
    const st = lstatSync(made.dir);
    expect([st.uid, st.mode & 0o777]).toEqual([pg.uid, 0o700]);
    mkdirSync(path.join(made.dir, 'base'));
    writeFileSync(path.join(made.dir, 'base', '1'), 'x');
    symlinkSync(victim, path.join(made.dir, 'pg_wal'));
    chownSync(path.join(made.dir, 'base'), pg.uid, pg.gid);
    chownSync(path.join(made.dir, 'base', '1'), pg.uid, pg.gid);
    expect(await cleanNewHostTarget(made, pg)).toBeUndefined();
    expect(existsSync(made.dir)).toBe(false);

    const kept = { dir: path.join(root, 'kept'), existed: true };
    mkdirSync(kept.dir);
    chownSync(kept.dir, pg.uid, pg.gid);
    await prepareNewHostTarget(kept, pg);
    mkdirSync(path.join(kept.dir, 'global'));
    chownSync(path.join(kept.dir, 'global'), pg.uid, pg.gid);
    symlinkSync(victim, path.join(kept.dir, 'global', 'link'));
    expect(await cleanNewHostTarget(kept, pg)).toBeUndefined();
    expect(readdirSync(kept.dir)).toEqual([]);
    expect(readFileSync(path.join(victim, 'keep'), 'utf8')).toBe('root data');

    // Filled between the check and the step: not restored into.
    writeFileSync(path.join(kept.dir, 'late'), '');
    await expect(prepareNewHostTarget(kept, pg)).rejects.toThrow(/is no longer empty \(late\)/);
  });
});

test('pgbackrest info printing more than 16 MiB: OUTPUT_TOO_LARGE with the limit, not "did not print JSON"', async () => {
  // A stand-in for the binary, run as postgres through the same runner: valid JSON, but only whole.
  const bin = path.join(root, 'pgbackrest');
  writeFileSync(bin, `#!${process.execPath}\nprocess.stdout.write('[' + ' '.repeat(17 * 1024 * 1024) + ']');\n`, {
    mode: 0o755,
  });
  const cli = new PgBackRest(bin, root, 'main', pg);
  const err = (await cli.info().catch((e: unknown) => e)) as BridgeError;
  expect(err).toBeInstanceOf(OutputTooLargeError);
  expect(err.code).toBe('OUTPUT_TOO_LARGE');
  expect(err.message).toMatch(/^pgbackrest info printed more than 16 MiB \(16777216 bytes\)/);
});

describe('a backup holding tablespaces, onto a new host', () => {
  const LABEL = '20261201-101500F';
  /** What pgBackRest 2.45 prints for `info --output=json --set=<label>` (the manifest's databases, links, tablespaces). */
  const infoWithSet = (tablespace: unknown) =>
    JSON.stringify([
      {
        name: 'main',
        status: { code: 0, message: 'ok', lock: { backup: { held: false } } },
        cipher: 'none',
        db: [{ id: 1, version: '15', 'system-id': 7_300_000_000_000_000_000, 'repo-key': 1 }],
        archive: [
          { id: '15-1', min: '000000010000000000000001', max: '000000010000000000000003', database: { id: 1 } },
        ],
        backup: [
          {
            label: LABEL,
            type: 'full',
            prior: null,
            reference: null,
            timestamp: { start: 1764584100, stop: 1764584110 },
            archive: { start: '000000010000000000000002', stop: '000000010000000000000002' },
            info: { size: 31_000_000, delta: 31_000_000, repository: { size: 4_000_000, delta: 4_000_000 } },
            database: { id: 1, 'repo-key': 1 },
            'database-ref': [{ name: 'mattermost', oid: 16384 }],
            link: null,
            tablespace,
          },
        ],
        repo: [{ key: 1, cipher: 'none', status: { code: 0, message: 'ok' } }],
      },
    ]);

  test('a real backup of a cluster with a tablespace (pgBackRest 2.45 as postgres): found and refused; without one: none; the restore drill of it maps the tablespace beside its copy and leaves nothing behind', async () => {
    const etc = path.join(root, 'etc');
    const archive = buildArchiveCommand({ pgbackrest: resolvePgBackRest(), configPath: etc, stanza: 'main' });
    // Archiving on: the drill recovers the backup to its consistent end from the archived WAL.
    const db = await startPostgres({
      name: 'pitr-tablespace',
      settings: { archive_mode: 'on', archive_command: archive },
    });
    try {
      const repo = path.join(root, 'repo');
      const ts = path.join(root, 'ts');
      for (const d of [repo, ts]) {
        mkdirSync(d, { mode: 0o700 });
        chownSync(d, pg.uid, pg.gid);
      }
      await writeConfigFile(
        etc,
        renderConfig({
          stanza: 'main',
          pg: { dataDir: db.dataDir, port: db.port, socketPath: db.socketDir },
          repo: { type: 'posix', path: repo },
          processMax: 1,
          archivePushQueueMaxBytes: 1 << 30,
        }),
        pg,
      );
      const cli = new PgBackRest(resolvePgBackRest(), etc, 'main', pg);
      const pgbackrest = (...args: string[]) =>
        runProcess(cli.bin, [`--config-path=${etc}`, '--stanza=main', ...args], asAccount(pg));
      await pgbackrest('stanza-create');
      const backup = async () => {
        await pgbackrest('--type=full', '--start-fast', 'backup');
        return (await cli.info())?.backup.at(-1)?.label ?? '';
      };
      const plain = await backup();
      expect(await cli.backupTablespaces(plain)).toEqual([]);

      await db.exec('postgres', `CREATE TABLESPACE mmts LOCATION '${ts}'`);
      const oid = (
        (await db.query('postgres', "SELECT oid::int AS o FROM pg_tablespace WHERE spcname = 'mmts'")) as Array<{
          o: number;
        }>
      )[0]!.o;
      await db.exec(
        'postgres',
        'CREATE TABLE tsrows TABLESPACE mmts AS SELECT g AS id FROM generate_series(1, 1234) g',
      );
      const withTs = await backup();
      const held = await cli.backupTablespaces(withTs);
      expect(held).toEqual([{ name: 'mmts', oid }]);
      expect(() => refuseTablespaces(withTs, held)).toThrow(
        `backup ${withTs} holds a tablespace (oid ${oid}): a restore onto a new host does not restore tablespaces; nothing was changed`,
      );

      // The restore drill of it, as deep verify runs it: restore, configure, start, read the table.
      const drills = path.join(root, 'drills');
      mkdirSync(drills, { mode: 0o711 });
      const binDir = findPgBinDir();
      const psql = path.join(binDir, 'psql');
      const signal = new AbortController().signal;
      const drill = async () => {
        const c = await DrillCluster.create(drills, pg, binDir);
        await cli.drillRestore({ set: withTs, pgPath: c.dir, tablespaceDir: c.tablespaceDir, timeline: 0 }, signal);
        await c.configure(buildRestoreCommand({ pgbackrest: cli.bin, configPath: etc, stanza: 'main' }, c.dir));
        await c.start(signal);
        await c.waitPromoted(psql, 60_000, signal);
        return c;
      };
      const copy = await drill();
      expect(readdirSync(drills).sort()).toEqual([path.basename(copy.dir), path.basename(copy.tablespaceDir)]);
      const read = (await copy
        .superuser(psql, 'postgres')
        .json(
          `SELECT json_build_object('n', (SELECT count(*) FROM tsrows), 'at', pg_tablespace_location(${oid}))::text`,
          signal,
        )) as { n: number; at: string };
      expect(read.n).toBe(1234);
      expect(read.at.startsWith(`${copy.tablespaceDir}/`)).toBe(true);
      expect(await copy.destroy()).toBeUndefined();
      expect(readdirSync(drills)).toEqual([]);

      // A drill killed outright leaves its copy running with its tablespaces: the next deep verify's
      // sweep stops it and deletes both, and a tablespace directory whose copy is already gone.
      const killed = await drill();
      const gone = path.join(drills, 'mm-backup-drill-gone00-tablespaces');
      for (const d of [gone, path.join(gone, 'x')]) {
        mkdirSync(d, { mode: 0o700 });
        chownSync(d, pg.uid, pg.gid);
      }
      expect(await removeLeftoverDrills(drills, pg, binDir)).toEqual([]);
      expect(await killed.running()).toBe(false);
      expect(readdirSync(drills)).toEqual([]);

      await db.exec('postgres', 'DROP TABLE tsrows');
      await db.exec('postgres', 'DROP TABLESPACE mmts');
    } finally {
      await db.destroy();
    }
  }, 120_000);

  test('read with info --set as postgres; refused naming the oids, nothing else; none: accepted', async () => {
    // A stand-in for the binary, run as postgres through the same runner: answers only `info --set=<label>`.
    const bin = path.join(root, 'pgbackrest');
    const out = path.join(root, 'info.json');
    writeFileSync(
      bin,
      `#!/bin/sh\ncase " $* " in *" --output=json --set=${LABEL} info "*) exec cat ${out};; esac\necho "unexpected: $*" >&2; exit 9\n`,
      { mode: 0o755 },
    );
    const cli = new PgBackRest(bin, root, 'main', pg);
    writeFileSync(
      out,
      infoWithSet([
        { name: 'ts\u001b[31m', destination: '/srv/pg/ts', oid: 16628 },
        { name: 'b', destination: '/b', oid: 16700 },
      ]),
      { mode: 0o644 },
    );
    const held = await cli.backupTablespaces(LABEL);
    expect(held).toEqual([
      { name: 'ts\u001b[31m', oid: 16628 },
      { name: 'b', oid: 16700 },
    ]);
    let err: unknown;
    try {
      refuseTablespaces(LABEL, held);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'PRECONDITION_FAILED' });
    expect((err as Error).message).toBe(
      `backup ${LABEL} holds 2 tablespaces (oid 16628, 16700): a restore onto a new host does not restore tablespaces; nothing was changed`,
    );

    writeFileSync(out, infoWithSet(null));
    expect(await cli.backupTablespaces(LABEL)).toEqual([]);
    expect(() => refuseTablespaces(LABEL, [])).not.toThrow();
    // Without --set pgBackRest says nothing of tablespaces: not taken as "none".
    writeFileSync(out, infoWithSet(undefined));
    await expect(cli.backupTablespaces(LABEL)).rejects.toThrow(/did not say its tablespaces/);
  });
});

test('setAutoConf replaces the named settings, keeps the rest, owner and mode', async () => {
  const dir = path.join(root, 'data');
  mkdirSync(dir);
  const file = path.join(dir, 'postgresql.auto.conf');
  writeFileSync(
    file,
    "# Do not edit\narchive_mode = 'on'\narchive_command = 'x'\n  port=5433\nrestore_command = 'y'\n",
    {
      mode: 0o600,
    },
  );
  chownSync(file, pg.uid, pg.gid);
  await setAutoConf(dir, { archive_mode: 'off', port: '5432' });
  expect(readFileSync(file, 'utf8')).toBe(
    "# Do not edit\narchive_command = 'x'\nrestore_command = 'y'\narchive_mode = 'off'\nport = '5432'\n",
  );
  const st = lstatSync(file);
  expect([st.uid, st.mode & 0o777]).toEqual([pg.uid, 0o600]);
});

test('a new host config has no socket path until the cluster runs', () => {
  const text = renderConfig({
    stanza: 'main',
    pg: { dataDir: '/var/lib/postgresql/15/main', port: 5432 },
    repo: { type: 'posix', path: '/srv/repo/pgbackrest' },
    processMax: 2,
    archivePushQueueMaxBytes: 1024,
  });
  expect(text).toContain('[main]\npg1-path=/var/lib/postgresql/15/main\npg1-port=5432\n');
  expect(text).not.toContain('pg1-socket-path');
});
