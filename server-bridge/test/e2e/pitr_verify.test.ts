/**
 * Deep verify in physical mode, with real parts only: a real PostgreSQL 15 cluster archiving
 * through the real pgbackrest, a sandbox Mattermost, file snapshots by `mm-backup backup`. Deep
 * verify runs `pgbackrest verify` and a restore drill of the latest physical backup into a scratch
 * directory; the copy must be gone afterwards (also after a real SIGTERM to the CLI while the copy
 * recovers) and must never archive into the repository; a damaged backup file and a deleted WAL
 * segment (a gap) fail the job with what to do.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LOCK_FILE } from '../../src/repository/layout';
import { startCli } from '../support/cli';
import { setupPitrRestore, type PitrRestoreEnv } from '../support/pitr_restore_env';

/** pids of postgres processes whose working directory (a postmaster's data directory) is under `root`. */
function postgresUnder(root: string): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'postgres') continue;
      if (readlinkSync(`/proc/${pid}/cwd`).startsWith(`${root}/`)) pids.push(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

async function until<T>(fn: () => Promise<T | undefined> | T | undefined, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every file of pgBackRest's WAL archive (relative names), sorted. */
function archiveFiles(repo: string, stanza: string): string[] {
  const base = path.join(repo, 'pgbackrest', 'archive', stanza);
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(dir, e.name), path.join(rel, e.name));
      else out.push(path.join(rel, e.name));
    }
  };
  walk(base, '');
  return out.sort();
}

describe('deep verify in physical mode: pgbackrest verify and the restore drill', () => {
  let env: PitrRestoreEnv;
  let mmdb: string;
  let stanza: string;
  let drillRoot: string;
  let slowMarker: string;
  let snapshotId: string;
  /** Before the backup command started and after it ended: the snapshot's finishedAt lies between. */
  const snapshotAround = [0, 0];
  const ok = async (...args: string[]) => {
    const r = await env.cli(...args);
    expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: '' });
    return r.summary as Record<string, any>;
  };
  const liveTimeline = async () =>
    (
      (await env.db.query('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn()) AS w')) as Array<{ w: string }>
    )[0]!.w.slice(0, 8);
  /** Waits until segment `w` (or a later one) is archived. */
  const archivedPast = (w: string) =>
    until(
      async () => {
        const [a] = (await env.db.query('postgres', 'SELECT last_archived_wal FROM pg_stat_archiver')) as Array<{
          last_archived_wal: string | null;
        }>;
        return a?.last_archived_wal && a.last_archived_wal.slice(0, 24) >= w ? true : undefined;
      },
      60_000,
      `segment ${w} to be archived`,
    );
  const expectNoCopy = async () => {
    await until(() => (postgresUnder(drillRoot).length === 0 ? true : undefined), 15_000, 'the copy to stop');
    expect(readdirSync(drillRoot)).toEqual([]);
  };

  beforeAll(async () => {
    env = await setupPitrRestore();
    mmdb = env.sb.dbName;
    const cfg = JSON.parse(await readFile(env.cfgFile, 'utf8'));
    stanza = cfg.pitr.stanza;
    drillRoot = path.join(env.root, 'drill');
    await mkdir(drillRoot);
    await chmod(drillRoot, 0o711);
    // pgbackrest through a wrapper that, while the marker exists, makes archive-get slow: the
    // drill's copy then recovers for seconds, long enough to be cancelled while it runs.
    slowMarker = path.join(env.root, 'slow-archive-get');
    const wrapper = path.join(env.root, 'pgbackrest-slow');
    await writeFile(
      wrapper,
      [
        '#!/bin/sh',
        'for last; do :; done',
        `if [ "$last" = archive-get ] && [ -e '${slowMarker}' ]; then sleep 2; fi`,
        `exec '${cfg.pitr.pgbackrestBin}' "$@"`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    cfg.pitr.drillDir = drillRoot;
    cfg.pitr.pgbackrestBin = wrapper;
    await writeFile(env.cfgFile, JSON.stringify(cfg, null, 2), { mode: 0o600 });
    await ok('pitr', 'enable', '--restart-postgres', '--yes');
    await ok('pitr', 'backup');
    // A logical snapshot (a dump: in physical mode a backup holds a reference otherwise) after the
    // physical backup: the drill recovers to its end and compares.
    snapshotAround[0] = Date.now();
    snapshotId = (await ok('backup', '--logical')).snapshot.id;
    snapshotAround[1] = Date.now();
  }, 300_000);
  afterAll(async () => env?.cleanup());

  test("deep verify runs pgbackrest verify and the drill; counts match the newest dump's; the copy is gone and never archived", async () => {
    const tl = await liveTimeline();
    // The newest snapshot holds a reference, not a dump (physical mode): the drill compares with
    // the newest signed snapshot that holds one, the logical snapshot taken before it.
    const refSnapshot = (await ok('backup')).snapshot.id;
    const before = archiveFiles(env.repo, stanza);
    const r = await ok('verify', 'latest', '--deep');
    expect(r.snapshot_id).toBe(refSnapshot);
    const p = r.physical;
    expect(p.problems).toEqual([]);
    expect(p.verify).toMatchObject({ status: 'ok', backups_checked: 1 });
    expect(p.verify.wal_checked).toBeGreaterThan(0);
    expect(p.verify.wal_valid).toBe(p.verify.wal_checked);
    expect(p.gaps).toEqual([]);
    const { v } = (
      (await env.db.query(mmdb, 'SELECT max(version)::int AS v FROM db_migrations')) as Array<{ v: number }>
    )[0]!;
    expect(p.drill).toMatchObject({
      compared_with: snapshotId,
      not_compared: null,
      differences: [],
      schema_version: v,
      archive_mode: 'off',
    });
    // Recovered to the moment the snapshot finished.
    expect(Date.parse(p.drill.target)).toBeGreaterThan(snapshotAround[0]!);
    expect(Date.parse(p.drill.target)).toBeLessThan(snapshotAround[1]!);
    const { n } = (
      (await env.db.query(
        mmdb,
        "SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE c.relkind IN ('r','p') AND s.nspname = 'public'",
      )) as Array<{ n: number }>
    )[0]!;
    expect(p.drill.tables).toBe(n);
    expect(p.drill.rows).toBeGreaterThan(60);
    await expectNoCopy();
    // The copy was promoted onto a new timeline with archiving off: nothing of it reached the
    // repository (no history file, no segment of another timeline), only the live cluster's WAL.
    const added = archiveFiles(env.repo, stanza).filter((f) => !before.includes(f));
    expect(added.length).toBeGreaterThan(0); // the drill's WAL switch on the live cluster
    for (const f of added) expect(path.basename(f).slice(0, 8)).toBe(tl);
    expect(added.filter((f) => f.endsWith('.history'))).toEqual([]);
    const st = await ok('status');
    expect(st.pitr.wal_gap).toBeUndefined();
  }, 300_000);

  test('SIGTERM while the copy recovers: the CLI is cancelled, the copy is stopped and deleted, the lock released', async () => {
    await writeFile(slowMarker, '');
    try {
      const run = startCli(['--config', env.cfgFile, '--json', 'verify', 'latest', '--deep']);
      let seen: number[] = [];
      const watch = (async () => {
        const end = Date.now() + 240_000;
        while (Date.now() < end && run.child.exitCode === null) {
          seen = postgresUnder(drillRoot);
          if (seen.length) {
            run.child.kill('SIGTERM');
            return;
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      const r = await run.done;
      await watch;
      expect(seen.length).toBeGreaterThan(0);
      expect(r.code).toBe(130);
      expect(r.stderr).toMatch(/cancelled by SIGTERM/);
      await expectNoCopy();
      expect(existsSync(path.join(env.repo, LOCK_FILE))).toBe(false);
    } finally {
      await rm(slowMarker, { force: true });
    }
  }, 300_000);

  test('a drill killed outright (SIGKILL) leaves its copy running; the next deep verify stops and deletes it', async () => {
    await writeFile(slowMarker, '');
    let leftover: number[] = [];
    try {
      const run = startCli(['--config', env.cfgFile, '--json', 'verify', 'latest', '--deep']);
      leftover = await until(
        () => {
          const p = postgresUnder(drillRoot);
          return p.length ? p : undefined;
        },
        240_000,
        "the drill's copy to start",
      );
      run.child.kill('SIGKILL');
      await run.done;
    } finally {
      await rm(slowMarker, { force: true });
    }
    // Nothing stops a copy whose job was killed: it is still there.
    expect(postgresUnder(drillRoot).length).toBeGreaterThan(0);
    // The copy and the directory its tablespaces would be mapped to (beside it: pgBackRest refuses one inside).
    const left = readdirSync(drillRoot).sort();
    expect(left).toHaveLength(2);
    expect(left[1]).toBe(`${left[0]}-tablespaces`);
    const r = await ok('verify', 'latest', '--deep');
    expect(r.physical.problems).toEqual([]);
    await expectNoCopy();
    for (const pid of leftover) expect(existsSync(`/proc/${pid}`)).toBe(false);
  }, 300_000);

  test('a damaged file in a physical backup fails deep verify (exit 4), naming the backup and what to do', async () => {
    const label = ((await ok('pitr', 'status')).backups as Array<{ label: string }>).pop()!.label;
    const file = path.join(env.repo, 'pgbackrest', 'backup', stanza, label, 'pg_data', 'PG_VERSION.zst');
    const good = await readFile(file);
    await writeFile(file, 'not what pgBackRest wrote');
    let r;
    try {
      r = await env.cli('verify', 'latest', '--deep');
    } finally {
      await writeFile(file, good);
    }
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(
      new RegExp(`backup ${label} is invalid: 1 of \\d+ files damaged \\(1 with a wrong checksum\\).*PG_VERSION`),
    );
    expect(r.stderr).toMatch(/mm-backup pitr backup --type full/);
    await expectNoCopy();
  }, 300_000);

  test('a WAL segment deleted from the repository is a gap: deep verify fails, status shows it; a full backup after it mends the window', async () => {
    const full = (await ok('pitr', 'status')).stanza.backup.pop();
    expect(full.archive.stop).toMatch(/^[0-9A-F]{24}$/);
    // Three more segments, each with a commit, archived.
    for (let i = 0; i < 3; i++) {
      await env.db.exec(mmdb, `CREATE TABLE IF NOT EXISTS gapprobe (n int); INSERT INTO gapprobe VALUES (${i})`);
      const { w } = (
        (await env.db.query('postgres', 'SELECT pg_walfile_name(pg_switch_wal()) AS w')) as Array<{
          w: string;
        }>
      )[0]!;
      await archivedPast(w);
    }
    const segments = archiveFiles(env.repo, stanza).filter((f) => /^[0-9A-F]{24}-/.test(path.basename(f)));
    const victim = segments[segments.length - 2]!;
    const name = path.basename(victim).slice(0, 24);
    expect(name > full.archive.stop).toBe(true);
    await unlink(path.join(env.repo, 'pgbackrest', 'archive', stanza, victim));

    const r = await env.cli('verify', 'latest', '--deep');
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(
      /WAL after segment [0-9A-F]{24} up to [0-9A-F]{24} is missing from the archive \(a WAL gap\)/,
    );
    expect(r.stderr).toMatch(/no backup was taken after it.*mm-backup pitr backup --type full/);
    await expectNoCopy();
    const gap = (await ok('status')).pitr.wal_gap;
    expect(gap).toMatchObject({
      first_after: segments[segments.length - 1]!.split('/').pop()!.slice(0, 24),
      broken: true,
    });
    expect(gap.last_before < name && name < gap.first_after).toBe(true);
    // restore --at across the gap is refused before anything changes.
    const dataDir = (await stat(env.db.dataDir)).ino;
    const refused = await env.cli('restore', '--at', 'latest', '--yes');
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/latest cannot be reached: WAL after segment .*\(a WAL gap\).*nothing was changed/);
    expect((await stat(env.db.dataDir)).ino).toBe(dataDir);

    // A full backup after the gap: the window starts at it, and the gap is a warning only.
    const after = await ok('pitr', 'backup', '--type', 'full');
    const st = (await ok('status')).pitr;
    expect(st.window.start).toBe(after.stopped_at);
    expect(st.wal_gap).toMatchObject({ broken: false });
    const again = await ok('verify', 'latest', '--deep');
    expect(again.physical.problems).toEqual([]);
    expect(again.physical.warnings.join(' ')).toMatch(/a WAL gap.*the recovery window starts at/);
    // The logical snapshot is older than this backup: the drill restores it to its end, no comparison.
    expect(again.physical.drill).toMatchObject({ backup: after.label, target: 'immediate', compared_with: null });
    await expectNoCopy();
  }, 400_000);
});
