/**
 * Physical backups and the recovery window from the CLI, with real parts only: a real PostgreSQL
 * 15 cluster archiving through the real pgbackrest, backups run by `mm-backup pitr backup` under
 * the job lock. To see the window's time retention expire something, pgbackrest's `expire` runs
 * under faketime with its clock moved forward by days (a wrapper named as pitr.pgbackrestBin):
 * pgBackRest 2.45 judges a backup's age by the expire's own clock.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { JobLock } from '../../src/jobs/lock';
import { LOCK_FILE } from '../../src/repository/layout';
import { runCli, startCli } from '../support/cli';
import { setupPitr, type PitrEnv } from '../support/pitr_env';

/** A process's argv, or [] once it has exited (its /proc entry goes at any moment). */
function argvOf(pid: number | string): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/** pids of pgbackrest processes working on `stanza` (argv holds --stanza=…). */
function pgbackrestPids(stanza: string): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    const argv = argvOf(pid);
    if (argv.some((a) => a.endsWith('pgbackrest')) && argv.includes(`--stanza=${stanza}`)) pids.push(Number(pid));
  }
  return pids;
}

async function until<T>(fn: () => Promise<T | undefined> | T | undefined, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('pitr backup and the recovery window', () => {
  let env: PitrEnv;
  let offsetFile: string;
  const pitrStatus = async () => {
    const r = await env.cli('pitr', 'status');
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    return r.summary as Record<string, any>;
  };
  const backup = async (...args: string[]) => {
    const r = await env.cli('pitr', 'backup', ...args);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    return r.summary as Record<string, any>;
  };

  beforeAll(async () => {
    env = await setupPitr();
    offsetFile = path.join(env.root, 'expire-clock-offset');
    const wrapper = path.join(env.root, 'pgbackrest-wrapper');
    await writeFile(
      wrapper,
      [
        '#!/bin/sh',
        '# pgbackrest; its expire runs on a clock moved by the offset in the file beside (tests only)',
        'for last; do :; done',
        `off=$(cat '${offsetFile}' 2>/dev/null)`,
        'if [ "$last" = expire ] && [ -n "$off" ]; then exec faketime -f "$off" /usr/bin/pgbackrest "$@"; fi',
        'exec /usr/bin/pgbackrest "$@"',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    await env.writeConfig({ window: '7d', fullEveryDays: 7, pgbackrestBin: wrapper });
    const r = await env.cli('pitr', 'enable', '--restart-postgres', '--yes');
    expect({ code: r.code, stderr: r.stderr, checked: r.summary?.checked }).toEqual({
      code: 0,
      stderr: '',
      checked: true,
    });
    // Enough data that a full backup takes a moment (the cancellation test catches it running).
    await env.db.exec(
      'postgres',
      'CREATE TABLE bulk AS SELECT g, md5(g::text) AS h FROM generate_series(1, 1500000) g',
    );
  }, 180_000);
  afterAll(async () => env?.cleanup());

  test('refused while another job holds the lock; nothing is backed up', async () => {
    const { lock } = await JobLock.acquire(env.repo, 'another-job', 'backup');
    try {
      const r = await env.cli('pitr', 'backup');
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/another-job/);
    } finally {
      await lock.release();
    }
    const st = await pitrStatus();
    expect(st.backups).toEqual([]);
    expect(st.window).toBeNull();
  });

  test('a full then an incremental backup: the window spans them and reaches a row written after a WAL switch', async () => {
    const full = await backup();
    expect(full).toMatchObject({ backup_type: 'full', reason: 'no full backup yet', expired: [] });
    const incr = await backup();
    expect(incr).toMatchObject({ backup_type: 'incr', expired: [], retention_full_days: 7 });
    expect(String(incr.reason)).toMatch(/younger than 7 days/);

    await env.db.exec('postgres', 'CREATE TABLE probe (at timestamptz)');
    const [{ at }] = await env.db.query('postgres', 'INSERT INTO probe VALUES (clock_timestamp()) RETURNING at');
    const rowAt = new Date(at as string | Date).getTime();
    await env.db.query('postgres', 'SELECT pg_switch_wal()');
    const st = await until(
      async () => {
        const s = await pitrStatus();
        return s.window && Date.parse(s.window.end) >= rowAt ? s : undefined;
      },
      60_000,
      'the window to reach the probe row',
    );
    expect(st.backups.map((b: { label: string; type: string }) => [b.label, b.type])).toEqual([
      [full.label, 'full'],
      [incr.label, 'incr'],
    ]);
    // The window starts where the full is consistent (its stop): a target before that cannot be reached.
    expect(Date.parse(st.window.start)).toBeGreaterThanOrEqual(Date.parse(full.started_at));
    expect(st.window.start).toBe(full.stopped_at);
    expect(Date.parse(st.window.end)).toBeGreaterThanOrEqual(Date.parse(incr.stopped_at));
    expect(st.archive).toMatchObject({ state: 'ok', failed_count: 0, problem: null, waiting_segments: 0 });

    // mm-backup status shows the same window, in --json and for people.
    const status = await env.cli('status');
    expect(status.code).toBe(0);
    const p = status.summary?.pitr as Record<string, any>;
    expect(p.window.start).toBe(st.window.start);
    expect(Date.parse(p.window.end)).toBeGreaterThanOrEqual(rowAt);
    expect(p.backups.map((b: { label: string }) => b.label)).toEqual([full.label, incr.label]);
    const text = await runCli(['--config', env.cfgFile, 'status']);
    expect(text.stdout).toContain(`Recovery window: ${st.window.start} … `);
    expect(text.stdout).toMatch(/WAL archive: ok, last segment \d+ s ago, 0 failures/);
  }, 240_000);

  test('the window end moves forward as WAL is archived', async () => {
    const first = (await pitrStatus()).window.end as string;
    await new Promise((r) => setTimeout(r, 1100));
    await env.db.exec('postgres', 'INSERT INTO probe VALUES (clock_timestamp())');
    await env.db.query('postgres', 'SELECT pg_switch_wal()');
    const later = await until(
      async () => {
        const w = (await pitrStatus()).window;
        return Date.parse(w.end) > Date.parse(first) ? (w.end as string) : undefined;
      },
      60_000,
      'the window end to move',
    );
    expect(Date.parse(later)).toBeGreaterThan(Date.parse(first));
  }, 120_000);

  test('expiry by pitr.window (7d) ten days on: the newest full at least 7 days old stays, older backups and WAL go', async () => {
    const was = await pitrStatus();
    const before = was.backups as Array<{ label: string; type: string }>;
    expect(before.map((b) => b.type)).toEqual(['full', 'incr']);
    const minBefore = was.stanza.archive[0].min as string;
    const second = await backup('--type', 'full');
    // Five days later (the expire's clock) nothing is 7 days old: a count of one full would
    // already drop the first; the window needs it.
    await writeFile(offsetFile, '+5d');
    let five: Record<string, any>;
    try {
      five = await backup('--type', 'incr');
    } finally {
      await writeFile(offsetFile, '');
    }
    expect(five).toMatchObject({ expired: [] });
    expect((await pitrStatus()).window.start).toBe(was.window.start);
    // Ten days later (the expire's clock): every backup is 10 days old. Keeping only the newest
    // would leave the window shorter than 7 days; the newest full of at least 7 days is kept.
    await writeFile(offsetFile, '+10d');
    let r: Record<string, any>;
    try {
      r = await backup('--type', 'incr');
    } finally {
      await writeFile(offsetFile, '');
    }
    expect(r).toMatchObject({ backup_type: 'incr', expired: before.map((b) => b.label) });
    const st = await pitrStatus();
    expect(st.backups.map((b: { label: string }) => b.label)).toEqual([second.label, five.label, r.label]);
    expect(st.window.start).toBe(second.stopped_at);
    // WAL from before the kept full went with the expired backups; WAL it needs stayed.
    const min = st.stanza.archive[0].min as string;
    expect(min > minBefore).toBe(true);
    expect(min <= second.wal_start).toBe(true);
  }, 240_000);

  test('SIGTERM while pgbackrest copies: the CLI is cancelled, pgbackrest and its workers are gone, the lock is released', async () => {
    const run = startCli(['--config', env.cfgFile, '--json', 'pitr', 'backup', '--type', 'full']);
    let seen: number[] = [];
    const watch = (async () => {
      const end = Date.now() + 60_000;
      while (Date.now() < end && run.child.exitCode === null) {
        seen = pgbackrestPids(env.stanza).filter((pid) => argvOf(pid).includes('backup'));
        if (seen.length) {
          run.child.kill('SIGTERM');
          return;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const r = await run.done;
    await watch;
    expect(seen.length).toBeGreaterThan(0);
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/cancelled by SIGTERM/);
    await until(() => (pgbackrestPids(env.stanza).length === 0 ? true : undefined), 10_000, 'pgbackrest to exit');
    expect(existsSync(path.join(env.repo, LOCK_FILE))).toBe(false);
    // The next backup runs (pgBackRest clears what the cancelled one left).
    expect(await backup('--type', 'incr')).toMatchObject({ backup_type: 'incr' });
  }, 180_000);
});
