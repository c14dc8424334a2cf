/**
 * pgBackRest under a deadline, with real parts only: a real PostgreSQL 15 cluster archiving
 * through the real pgbackrest, whose repository then hangs for real: its backup.info is replaced
 * by a FIFO that nobody writes, so pgBackRest blocks in open(2) as on a dead mount. Every command
 * ends with TimeoutError (TIMED_OUT, the stopped process as its cause, what to do) within its
 * deadline, and no pgbackrest process is left behind.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { TimeoutError } from '../../src/core/errors';
import { PGBACKREST_DEADLINES, PgBackRest } from '../../src/database/pgbackrest/pgbackrest';
import { postgresAccount } from '../../src/database/pgbackrest/postgres_account';
import { LOCK_FILE } from '../../src/repository/layout';
import { caught } from '../support/caught';
import { startCli } from '../support/cli';
import { setupPitr, type PitrEnv } from '../support/pitr_env';

/** pids of pgbackrest processes working on `stanza` (argv holds --stanza=…). */
function pgbackrestPids(stanza: string): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let argv: string[] = [];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    // archive-push runs from PostgreSQL on its own (it never reads backup.info): not ours to count.
    if (
      argv.some((a) => a.endsWith('pgbackrest')) &&
      argv.includes(`--stanza=${stanza}`) &&
      !argv.includes('archive-push')
    ) {
      pids.push(Number(pid));
    }
  }
  return pids;
}

const INFO_S = PGBACKREST_DEADLINES.info.ms / 1000;

describe('pgBackRest commands under a deadline', () => {
  let env: PitrEnv;
  let info: string;

  beforeAll(async () => {
    env = await setupPitr();
    const r = await env.cli('pitr', 'enable', '--restart-postgres', '--yes');
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const b = await env.cli('pitr', 'backup', '--type', 'full');
    expect({ code: b.code, stderr: b.stderr }).toEqual({ code: 0, stderr: '' });
    // The repository hangs: backup.info (and its copy, read when the first cannot be) become FIFOs.
    info = path.join(env.repo, 'pgbackrest', 'backup', env.stanza, 'backup.info');
    await rename(info, `${info}.kept`);
    await rename(`${info}.copy`, `${info}.copy.kept`);
    for (const f of [info, `${info}.copy`]) execFileSync('mkfifo', ['-m', '0640', f]);
    execFileSync('chown', ['postgres:postgres', info, `${info}.copy`]);
  }, 300_000);
  afterAll(async () => {
    if (info) {
      await rm(info, { force: true });
      await rm(`${info}.copy`, { force: true });
      await rename(`${info}.kept`, info).catch(() => undefined);
      await rename(`${info}.copy.kept`, `${info}.copy`).catch(() => undefined);
    }
    await env?.cleanup();
  });

  test('pitr backup: its pgbackrest info is stopped at the deadline; exit 1 with what to do; the lock is free', async () => {
    const t0 = Date.now();
    const r = await env.cli('pitr', 'backup');
    const secs = (Date.now() - t0) / 1000;
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`pgbackrest info did not finish within ${INFO_S} s and was stopped`);
    expect(r.stderr).toMatch(/check that the repository \(its disk, mount or bucket\) is reachable/);
    expect(secs).toBeGreaterThanOrEqual(INFO_S);
    expect(secs).toBeLessThan(INFO_S + 25);
    expect(pgbackrestPids(env.stanza)).toEqual([]);
    // The job's lock went with it: the next command runs (and meets the same deadline).
    const st = await env.cli('pitr', 'status');
    expect({ code: st.code, problem: st.summary?.pgbackrestProblem }).toEqual({
      code: 0,
      problem: expect.stringMatching(new RegExp(`did not answer within ${INFO_S} s$`)),
    });
  }, 180_000);

  test('restore --at latest: the plan meets the same deadline, before anything changes', async () => {
    const before = readFileSync(path.join(env.db.dataDir, 'PG_VERSION'), 'utf8');
    const t0 = Date.now();
    const r = await env.cli('restore', '--at', 'latest', '--yes', '--force');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`pgbackrest info did not finish within ${INFO_S} s and was stopped`);
    expect((Date.now() - t0) / 1000).toBeLessThan(INFO_S + 25);
    expect(pgbackrestPids(env.stanza)).toEqual([]);
    expect(readFileSync(path.join(env.db.dataDir, 'PG_VERSION'), 'utf8')).toBe(before);
    expect(await env.setting('archive_mode')).toBe('on');
  }, 180_000);

  test.each(['SIGINT', 'SIGTERM'] as const)(
    'restore --at: %s while its plan waits on pgbackrest: cancelled at once, no pgbackrest left, the lock free, nothing changed',
    async (sig) => {
      const before = readFileSync(path.join(env.db.dataDir, 'PG_VERSION'), 'utf8');
      const t0 = Date.now();
      const run = startCli(['--config', env.cfgFile, '--json', 'restore', '--at', 'latest', '--yes', '--force']);
      try {
        let seen: number[] = [];
        while (Date.now() - t0 < 20_000 && run.child.exitCode === null && !seen.length) {
          seen = pgbackrestPids(env.stanza);
          await new Promise((r) => setTimeout(r, 20));
        }
        expect(seen.length).toBeGreaterThan(0);
        // As Ctrl-C does: the signal reaches the CLI only (pgbackrest runs in a process group of its own).
        run.child.kill(sig);
        const r = await run.done;
        const end = Date.now() + 10_000;
        while (pgbackrestPids(env.stanza).length && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
        expect(pgbackrestPids(env.stanza)).toEqual([]);
        expect({ code: r.code, stderr: r.stderr }).toEqual({
          code: 130,
          stderr: expect.stringContaining(
            `cancelled by ${sig} while the restore was being prepared: nothing was restored`,
          ),
        });
        expect((Date.now() - t0) / 1000).toBeLessThan(INFO_S);
        expect(existsSync(path.join(env.repo, LOCK_FILE))).toBe(false);
        expect(readFileSync(path.join(env.db.dataDir, 'PG_VERSION'), 'utf8')).toBe(before);
        expect(await env.setting('archive_mode')).toBe('on');
      } finally {
        // Without the fix they would block on the FIFO for ever: not left to the next test.
        for (const pid of pgbackrestPids(env.stanza)) process.kill(pid, 'SIGKILL');
      }
    },
    120_000,
  );

  test('a long command (backup) is stopped after its silence deadline: TimeoutError with code, cause and hint', async () => {
    const short = { ...PGBACKREST_DEADLINES, backup: { ms: 3_000, idle: true } };
    const cli = new PgBackRest('/usr/bin/pgbackrest', env.configDir, env.stanza, postgresAccount(), short);
    const t0 = Date.now();
    const err = await caught(cli.backup('incr', { fullDays: 7 }));
    const secs = (Date.now() - t0) / 1000;
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err.code).toBe('TIMED_OUT');
    expect(err.message).toBe('pgbackrest backup wrote nothing for 3 s and was stopped');
    expect(err.hint).toMatch(/as postgres and see where it waits/);
    // pgBackRest ends on SIGTERM with its own code (63, TermError); SIGKILL follows if it cannot.
    expect((err.cause as Error).message).toMatch(
      /^\/usr\/bin\/pgbackrest was stopped \((exit code 63|killed by SIGKILL)\)$/,
    );
    expect(err.details).toMatchObject({ deadlineMs: 3_000, idle: true });
    expect(secs).toBeGreaterThanOrEqual(3);
    expect(secs).toBeLessThan(3 + 10);
    expect(pgbackrestPids(env.stanza)).toEqual([]);
  }, 60_000);

  test('the repository answering again: the same commands work', async () => {
    await rm(info);
    await rm(`${info}.copy`);
    await rename(`${info}.kept`, info);
    await rename(`${info}.copy.kept`, `${info}.copy`);
    const b = await env.cli('pitr', 'backup');
    expect({ code: b.code, stderr: b.stderr, type: b.summary?.backup_type }).toEqual({
      code: 0,
      stderr: '',
      type: 'incr',
    });
  }, 180_000);
});
