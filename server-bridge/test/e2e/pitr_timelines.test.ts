/**
 * The recovery window across a timeline switch, with real parts only: a real PostgreSQL 15 cluster
 * archiving through the real pgbackrest into a local repository. A full backup, rows, time T1,
 * rows, a second full backup (on the part of timeline 1 that the restore will abandon), then
 * restore --at T1 in place: PostgreSQL goes on on timeline 2. More rows are written there. The
 * window must follow timeline 2's history: the times between T1 and the new timeline's start are
 * a hole (restore --at one is refused, nothing changed), the abandoned backup is not used, and a
 * segment deleted from timeline 1 before the switch point is a gap that status finds from the
 * repository's listing alone (no deep verify), not hidden by timeline 2 or the abandoned backup.
 * Deep verify judges gaps as status does: one only on the abandoned part of timeline 1 is a note
 * (it passes, drilling the backup on timeline 2's history), one on the history fails or warns with
 * status's own sentence.
 */
import { chmod, lstat, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setupPitrRestore, type PitrRestoreEnv } from '../support/pitr_restore_env';
import { createProbe, dbNow, probeRows, switchWalAndWait } from '../support/pitr_restore_steps';

describe('the recovery window across a timeline switch', () => {
  let env: PitrRestoreEnv;
  let mmdb: string;
  let t1: Date;
  let inHole: Date;
  let b0: { label: string; stopped_at: string };
  let b1: { label: string; stopped_at: string };
  let stanza: string;
  const ok = async (...args: string[]) => {
    const r = await env.cli(...args);
    expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: '' });
    return r.summary as Record<string, any>;
  };
  const switchAndWait = () => switchWalAndWait(env.db, 120_000);
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const archiveDir = () => path.join(env.repo, 'pgbackrest', 'archive', stanza, '15-1');
  /** The segment number (timeline left out) of a 24-hex name. */
  const segNo = (name: string) => parseInt(name.slice(8, 16), 16) * 0x100 + parseInt(name.slice(16, 24), 16);
  /** The 24-hex names of timeline `tli`'s segments in the repository, ascending (no .partial). */
  const segmentsOn = async (tli: number): Promise<string[]> => {
    const hex = tli.toString(16).toUpperCase().padStart(8, '0');
    const out: string[] = [];
    for (const dir of (await readdir(archiveDir())).filter((d) => d.startsWith(hex) && /^[0-9A-F]{16}$/.test(d))) {
      for (const f of await readdir(path.join(archiveDir(), dir))) {
        if (/^[0-9A-F]{24}-[0-9a-f]{40}/.test(f)) out.push(f.slice(0, 24));
      }
    }
    return out.sort();
  };
  /** The repository's file of a segment (any timeline's name), or undefined. */
  const segmentFile = async (name: string): Promise<string | undefined> => {
    const dir = path.join(env.repo, 'pgbackrest', 'archive', stanza, '15-1', name.slice(0, 16));
    const f = (await readdir(dir).catch(() => [] as string[])).find((n) => n.startsWith(`${name}-`));
    return f && path.join(dir, f);
  };

  beforeAll(async () => {
    env = await setupPitrRestore();
    mmdb = env.sb.dbName;
    stanza = `mmr${process.pid}`;
    // Deep verify's drill makes its copy here (postgres must reach it).
    const cfg = JSON.parse(await readFile(env.cfgFile, 'utf8'));
    cfg.pitr.drillDir = path.join(env.root, 'drill');
    await mkdir(cfg.pitr.drillDir);
    await chmod(cfg.pitr.drillDir, 0o711);
    await writeFile(env.cfgFile, JSON.stringify(cfg, null, 2), { mode: 0o600 });
    await ok('pitr', 'enable', '--restart-postgres', '--yes');
    await createProbe(env);
    await ok('pitr', 'backup', '--type', 'full');
    await ok('backup'); // the file snapshot restore --at takes the files from
    // Segments of timeline 1 between the first backup and T1: the history of timeline 2 needs them.
    await env.db.exec(mmdb, 'INSERT INTO probe SELECT generate_series(6, 7)');
    await switchAndWait();
    await env.db.exec(mmdb, 'INSERT INTO probe VALUES (8)');
    await switchAndWait();
    await pause(1000);
    t1 = await dbNow(env);
    await pause(1000);
    await env.db.exec(mmdb, 'INSERT INTO probe SELECT generate_series(9, 12)');
    await pause(1000);
    inHole = await dbNow(env);
    await pause(1000);
    await ok('pitr', 'backup', '--type', 'full'); // on the part of timeline 1 the restore abandons
    // Two more segments on that part: one can go missing with another after it (a gap verify sees).
    for (const n of [100, 101]) {
      await env.db.exec(mmdb, `INSERT INTO probe VALUES (${n})`);
      await switchAndWait();
    }
    await ok('restore', '--at', t1.toISOString(), '--yes');
    expect(await probeRows(env)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    await env.db.exec(mmdb, 'INSERT INTO probe SELECT generate_series(13, 15)');
    await switchAndWait();
  }, 900_000);
  afterAll(async () => env?.cleanup(), 120_000);

  test('status: timeline 2, the hole from T1 to the new timeline, the window from the backup on its history', async () => {
    const s = await ok('pitr', 'status');
    const live = (
      (await env.db.query('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn()) AS s')) as Array<{ s: string }>
    )[0]!.s;
    expect(live.slice(0, 8)).toBe('00000002');
    expect(s.timeline).toBe(2);
    [b0, b1] = s.backups as [{ label: string; stopped_at: string }, { label: string; stopped_at: string }];
    expect(s.backups).toHaveLength(2);
    // The window starts at the first backup (on timeline 2's history); the second, on the abandoned part, is not used.
    expect(s.window.start).toBe(b0.stopped_at);
    expect(s.window.oldest_backup).toBe(b0.label);
    expect(s.window.newest_backup).toBe(b0.label);
    expect(new Date(s.window.end).getTime()).toBeGreaterThan(Date.now() - 120_000);
    expect(s.holes).toHaveLength(1);
    const hole = s.holes[0] as { timeline: number; from: string; to: string };
    expect(hole.timeline).toBe(1);
    // The history file says "before <the first commit after T1>": recovery stopped there, the
    // rows 9-12 (committed about a second after T1, before the time in the hole) are where it starts.
    expect(new Date(hole.from).getTime()).toBeGreaterThan(t1.getTime());
    expect(new Date(hole.from).getTime()).toBeLessThan(inHole.getTime());
    expect(new Date(hole.to).getTime()).toBeGreaterThan(new Date(b1.stopped_at).getTime());
    expect(s.walGap).toBeUndefined();
    const st = await env.cli('status');
    expect(st.stdout).toMatch(/was on timeline 1 after the point a restore left it at/);
  }, 300_000);

  test('restore --at a time in the hole is refused, nothing changed; the abandoned backup is never chosen', async () => {
    const r = await env.cli('restore', '--at', inHole.toISOString(), '--yes');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      new RegExp(
        `${inHole.toISOString()}: .* was on timeline 1 after the point a restore left it at .*nothing was changed`,
      ),
    );
    expect(await probeRows(env)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 13, 14, 15]);
  }, 300_000);

  test('a segment missing only on the abandoned part of timeline 1: deep verify passes with a note, status shows no gap; the drill restores the backup on the live history', async () => {
    const switchNo = segNo((await segmentsOn(2))[0]!);
    const tl1 = await segmentsOn(1);
    // A segment of timeline 1 after the switch point's, with another after it.
    const i = tl1.findIndex((n, k) => segNo(n) > switchNo && k + 1 < tl1.length);
    expect(i).toBeGreaterThan(0);
    const [lastBefore, victim, firstAfter] = [tl1[i - 1]!, tl1[i]!, tl1[i + 1]!];
    await rm((await segmentFile(victim))!);
    expect(await segmentFile(victim)).toBeUndefined();

    const r = await ok('verify', 'latest', '--deep');
    const p = r.physical;
    expect(p.problems).toEqual([]);
    expect(p.warnings.join(' ')).not.toMatch(/WAL gap/);
    // pgbackrest verify sees it (and the record keeps it); the history never reads it.
    expect(p.gaps).toEqual([{ archiveId: '15-1', lastBefore, firstAfter }]);
    expect(p.notes).toEqual([
      expect.stringMatching(
        new RegExp(
          `after segment ${lastBefore} up to ${firstAfter} is missing, on timeline 1 after the point a restore left it`,
        ),
      ),
    ]);
    // The abandoned backup is never drilled: it recovers onto no timeline the cluster is on.
    expect(p.drill).toMatchObject({ backup: b0.label, differences: [] });
    const s = await ok('pitr', 'status');
    expect(s.walGap).toBeUndefined();
    expect(s.window.start).toBe(b0.stopped_at);
    expect(s.window.newest_backup).toBe(b0.label);
  }, 600_000);

  test('a segment of timeline 1 missing before the switch point: a gap found without deep verify, not hidden by the abandoned backup', async () => {
    const b0Stop = (await ok('pitr', 'status')).window.start;
    // The segment after the first backup's last one: timeline 1, before the switch point.
    const info = (await ok('pitr', 'status')).stanza.backup as Array<{ label: string; archive: { stop: string } }>;
    const stop = info.find((b) => b.label === b0.label)!.archive.stop;
    const next = `${stop.slice(0, 16)}${(parseInt(stop.slice(16), 16) + 1).toString(16).toUpperCase().padStart(8, '0')}`;
    const file = await segmentFile(next);
    expect(file).toBeDefined();
    await rm(file!);
    expect(await lstat(file!).catch(() => undefined)).toBeUndefined();
    const s = await ok('pitr', 'status');
    expect(s.walGap).toMatchObject({ broken: true, lastBefore: stop });
    expect(s.walGap.problem).toMatch(/a WAL gap.*Take a full physical backup now/);
    // Broken: nothing after the gap can be restored; the window ends where the first backup does.
    expect(s.window.end).toBe(b0Stop);
    const latest = await env.cli('restore', '--at', 'latest', '--yes');
    expect(latest.code).toBe(3);
    expect(latest.stderr).toMatch(/latest cannot be reached: .*a WAL gap.*nothing was changed/);
    // Deep verify judges it as status does: broken, so it fails with status's own sentence (the
    // abandoned backup after the gap restores nothing on timeline 2). Its drill fails too: the
    // dump it compares with finished after the gap, which recovery cannot cross.
    const failed = await env.cli('verify', 'latest', '--deep');
    expect(failed.code).toBe(4);
    expect(failed.summary?.error.message).toContain(s.walGap.problem);
    expect((await ok('pitr', 'status')).walGap).toMatchObject({ broken: true, problem: s.walGap.problem });

    // A full backup on timeline 2 starts after the gap: the window starts there and is whole again.
    await ok('pitr', 'backup', '--type', 'full');
    const after = await ok('pitr', 'status');
    const b2 = (after.backups as Array<{ label: string; stopped_at: string }>).pop()!;
    expect(after.window.start).toBe(b2.stopped_at);
    expect(after.walGap).toMatchObject({ broken: false });
    expect(new Date(after.window.end).getTime()).toBeGreaterThanOrEqual(new Date(b2.stopped_at).getTime());
    // Deep verify now warns, with status's sentence; the abandoned timeline's gap stays a note.
    const again = (await ok('verify', 'latest', '--deep')).physical;
    expect(again.problems).toEqual([]);
    expect(again.warnings).toContain(after.walGap.problem);
    expect(again.notes).toHaveLength(1);
    expect(again.drill).toMatchObject({ backup: b2.label });
    expect((await ok('pitr', 'status')).walGap).toMatchObject({ broken: false, problem: after.walGap.problem });
  }, 600_000);
});
