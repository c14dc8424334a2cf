/**
 * PostgreSQL left down by a restart of physical mode (both starts failed): the marker beside the
 * signing key, the CLI's exit, status while it is down, and the three retries (the next job, the
 * sidecar's start, its periodic retry) once the cause is fixed. Real parts only: a real
 * PostgreSQL 15 run as postgres, real pg_ctl, the real CLI and `serve` as child processes, and
 * the sidecar's own code in process for the periodic retry (its interval made short).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pino from 'pino';
import { status as statusSchema } from '@mm-backup/api';
import { freePort } from '@mm-backup/testkit';
import { Sidecar } from '../../src/service/sidecar';
import { CLI, startCli, type CliResult } from '../support/cli';
import { customPostgresService, pgCtlAsPostgres, setupPitr, type PitrEnv } from '../support/pitr_env';

async function until<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, ms: number, what: string) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The env's config with a start command that fails while `broken` exists, and the sidecar on `port`. */
async function brokenStart(env: PitrEnv, broken: string, port: number): Promise<void> {
  await env.writeConfig({
    postgresService: await customPostgresService(env.root, env.db, [
      // With `<broken>-link`: postgresql.auto.conf becomes a link, which mm-backup refuses to write through.
      `if [ -e '${broken}-link' ] && [ ! -L "$1/postgresql.auto.conf" ]; then mv "$1/postgresql.auto.conf" "$1/auto.conf.real" && ln -s auto.conf.real "$1/postgresql.auto.conf"; fi`,
      `if [ -e '${broken}' ]; then echo "FATAL: could not map anonymous shared memory" >&2; exit 1; fi`,
    ]),
  });
  const cfg = JSON.parse(await readFile(env.cfgFile, 'utf8'));
  cfg.listen = { host: '127.0.0.1', port };
  await writeFile(env.cfgFile, JSON.stringify(cfg, null, 2), { mode: 0o600 });
}

/** Rewrites the config's stop command (start and status stay as brokenStart wrote them). */
async function setStop(env: PitrEnv, stop: string[]): Promise<void> {
  const cfg = JSON.parse(await readFile(env.cfgFile, 'utf8'));
  cfg.pitr.postgresService.stop = stop;
  await writeFile(env.cfgFile, JSON.stringify(cfg, null, 2), { mode: 0o600 });
}

const markerOf = (env: PitrEnv) => path.join(env.root, 'mm-backup-postgres-down.json');

/** The job `args` starts PostgreSQL again first (its events say so) and leaves it running, the marker gone. */
async function startedAgainBy(env: PitrEnv, ...args: string[]): Promise<CliResult> {
  const r = await env.cli(...args);
  expect(r.events.map((e) => String(e.message ?? '')).join('\n')).toMatch(/was started again; it runs/);
  expect(env.db.isRunning()).toBe(true);
  expect(existsSync(markerOf(env))).toBe(false);
  return r;
}

/** Runs `argv` to its end; unless `check` is false, an exit other than 0 rejects, naming `what`. */
function exited(argv: string[], what: string, check = true): Promise<unknown> {
  return new Promise((res, rej) =>
    spawn(argv[0] as string, argv.slice(1)).once('exit', (c) =>
      c === 0 || !check ? res(c) : rej(new Error(`${what}: ${c}`)),
    ),
  );
}

/** The fast stop pg_ctl does as postgres (the custom service's own stop). */
const normalStopOf = (env: PitrEnv) => pgCtlAsPostgres(env.db, 'stop', '-D', env.db.dataDir, '-m', 'fast', '-w', '-s');

/** Fixed by hand: `<broken>-link` removed and postgresql.auto.conf a file again, its content as before the link. */
async function unlinkAutoConf(env: PitrEnv, broken: string): Promise<void> {
  await rm(`${broken}-link`);
  await rm(path.join(env.db.dataDir, 'postgresql.auto.conf'));
  const real = path.join(env.db.dataDir, 'auto.conf.real');
  await exited(
    ['runuser', '-u', 'postgres', '--', 'mv', real, path.join(env.db.dataDir, 'postgresql.auto.conf')],
    'mv',
  );
}

/** `pitr enable --restart-postgres` whose two starts both fail: PostgreSQL is left down. */
async function leaveDown(env: PitrEnv, broken: string) {
  await writeFile(broken, '');
  const r = await env.cli('pitr', 'enable', '--restart-postgres', '--yes');
  expect(env.db.isRunning()).toBe(false);
  return r;
}

interface Serve {
  child: ChildProcess;
  output(): string;
  exited: Promise<unknown>;
}

function startServe(env: PitrEnv): Serve {
  const child = spawn(process.execPath, [CLI, '--config', env.cfgFile, 'serve'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const add = (d: Buffer) => {
    out += d.toString();
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return { child, output: () => out, exited: new Promise((r) => child.once('exit', r)) };
}

async function metric(port: number): Promise<string | undefined> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
  if (!res?.ok) return undefined;
  return /^mm_backup_postgres_left_down (\d)$/m.exec(await res.text())?.[1];
}

describe('PostgreSQL left down by a failed restart', () => {
  let env: PitrEnv;
  let port: number;
  let broken: string;
  const serves: Serve[] = [];
  beforeAll(async () => {
    env = await setupPitr();
    port = await freePort();
    broken = path.join(env.root, 'postgres-broken');
    await brokenStart(env, broken, port);
  }, 120_000);
  afterEach(async () => {
    for (const s of serves.splice(0)) {
      if (s.child.exitCode === null) s.child.kill('SIGTERM');
      await s.exited;
    }
  });
  afterAll(async () => env?.cleanup());

  test('is recorded (0600), said with the start command; status shows it; the next job starts it once fixed', async () => {
    const r = await leaveDown(env, broken);
    expect(r.code).toBe(1);
    expect(r.summary?.error?.message).toMatch(
      /PostgreSQL IS DOWN: it did not start with the new settings \(.*could not map anonymous shared memory.*\), nor after they were reverted/s,
    );
    expect(r.summary?.error?.hint).toContain(`${path.join(env.root, 'start-postgres.sh')} ${env.db.dataDir}`);
    expect(r.summary?.error?.hint).toContain('docs/pitr.md, "PostgreSQL left down"');
    const st = await stat(markerOf(env));
    expect(st.mode & 0o777).toBe(0o600);
    const marker = JSON.parse(await readFile(markerOf(env), 'utf8'));
    expect(marker).toEqual({
      since: expect.any(String),
      reason: expect.stringMatching(/nor after they were reverted/),
      autoStart: true,
    });
    // The lock went with the job: only the marker remembers.
    expect(existsSync(path.join(env.repo, 'lock.json'))).toBe(false);

    // status fails while it is down (exit 1, ok false), with one summary only.
    const s = await env.cli('status');
    expect(s.code).toBe(1);
    expect(s.events.filter((e) => e.type === 'summary')).toHaveLength(1);
    expect(s.summary).toMatchObject({
      ok: false,
      exit_code: 1,
      error: { code: 'PROCESS_FAILED', message: expect.stringMatching(/PostgreSQL was left DOWN by mm-backup since/) },
    });
    expect(s.stderr).toMatch(/^error: .*PostgreSQL was left DOWN/m);
    expect(s.summary?.postgres_down).toMatchObject({
      since: marker.since,
      auto_start: true,
      start_command: expect.stringContaining('start-postgres.sh'),
    });
    expect(s.summary?.postgres_down.message).toMatch(
      /PostgreSQL was left DOWN by mm-backup since .*: .*To do: read PostgreSQL's log/s,
    );

    // The next job, cause not fixed: it tries, fails, is refused, and the marker stays.
    const refused = await env.cli('pitr', 'enable', '--restart-postgres', '--yes');
    expect(refused.code).toBe(1);
    expect(refused.summary?.error?.message).toMatch(
      /PostgreSQL IS DOWN since .*Starting it again failed: .*could not map anonymous shared memory/s,
    );
    expect(env.db.isRunning()).toBe(false);
    expect(JSON.parse(await readFile(markerOf(env), 'utf8')).since).toBe(marker.since);

    // Fixed: the next job starts PostgreSQL first, removes the marker, then does its own work.
    await rm(broken);
    const again = await env.cli('pitr', 'enable', '--restart-postgres', '--yes');
    const said = again.events.map((e) => String(e.message ?? '')).join('\n');
    expect(said).toMatch(/PostgreSQL was down since .* and was started again; it runs/);
    expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: '' });
    expect(env.db.isRunning()).toBe(true);
    expect(existsSync(markerOf(env))).toBe(false);
    const fine = await env.cli('status');
    expect(fine.summary).toMatchObject({ ok: true, postgres_down: null });
    expect(fine.code).toBe(0);
  }, 300_000);

  test("the sidecar's start retries it: still down (metrics 1), then started once fixed (metrics 0)", async () => {
    // Leave it down again: disable's restart fails both times.
    await writeFile(broken, '');
    const d = await env.cli('pitr', 'disable', '--restart-postgres', '--yes');
    expect(d.summary?.error?.message).toMatch(/PostgreSQL IS DOWN/);
    expect(env.db.isRunning()).toBe(false);
    expect(existsSync(markerOf(env))).toBe(true);

    const first = startServe(env);
    serves.push(first);
    expect(await until(() => metric(port), 30_000, 'metrics')).toBe('1');
    await until(() => /PostgreSQL IS DOWN since/.test(first.output()), 60_000, 'the start-up retry to fail');
    expect(env.db.isRunning()).toBe(false);
    first.child.kill('SIGTERM');
    await first.exited;

    await rm(broken);
    const second = startServe(env);
    serves.push(second);
    await until(() => env.db.isRunning(), 60_000, 'the start-up retry to start PostgreSQL');
    expect(await until(async () => (await metric(port)) === '0' && '0', 30_000, 'metrics 0')).toBe('0');
    expect(existsSync(markerOf(env))).toBe(false);
    expect(second.output()).toMatch(/PostgreSQL was down since .* and was started again/);
  }, 300_000);

  test("the sidecar's periodic retry starts it once fixed; GET /v1/status's answer shows it meanwhile", async () => {
    // Physical mode is still enabled (the failed disable put its settings back in the state).
    await writeFile(broken, '');
    const d = await env.cli('pitr', 'disable', '--restart-postgres', '--yes');
    expect(d.summary?.error?.message).toMatch(/PostgreSQL IS DOWN/);
    const cfg = JSON.parse(await readFile(env.cfgFile, 'utf8'));
    cfg.listen.port = 0;
    await writeFile(env.cfgFile, JSON.stringify(cfg, null, 2), { mode: 0o600 });
    const sidecar = await Sidecar.open(env.cfgFile, { log: pino({ level: 'silent' }), postgresRetryMs: 1000 });
    try {
      await sidecar.listen();
      await sidecar.started();
      const down = statusSchema.parse(await sidecar.status());
      expect(down.postgres_down).toMatchObject({
        auto_start: true,
        start_command: expect.stringContaining('start-postgres.sh'),
        last_retry: { outcome: 'down', message: expect.stringMatching(/could not map anonymous shared memory/) },
      });
      expect(down.postgres_down?.message).toMatch(/docs\/pitr\.md, "PostgreSQL left down"/);
      expect(await sidecar.metrics()).toMatch(/^mm_backup_postgres_left_down 1$/m);
      await new Promise((r) => setTimeout(r, 2500)); // periodic retries while broken: still down
      expect(env.db.isRunning()).toBe(false);

      await rm(broken);
      await until(() => env.db.isRunning(), 60_000, 'the periodic retry to start PostgreSQL');
      await until(() => !existsSync(markerOf(env)), 30_000, 'the marker to go');
      expect(statusSchema.parse(await sidecar.status()).postgres_down).toBeNull();
      expect(await sidecar.metrics()).toMatch(/^mm_backup_postgres_left_down 0$/m);
    } finally {
      await sidecar.close();
    }
  }, 300_000);

  test('a stop that ends early with PostgreSQL down and a start that fails: recorded the same way, retried by the next job', async () => {
    expect(env.db.isRunning()).toBe(true);
    const normalStop = normalStopOf(env);
    const stop = path.join(env.root, 'stop-then-fail.sh');
    await writeFile(stop, ['#!/bin/sh', normalStop.map((a) => `'${a}'`).join(' '), 'exit 1', ''].join('\n'), {
      mode: 0o755,
    });
    await setStop(env, [stop]);
    await writeFile(broken, '');
    const r = await env.cli('pitr', 'disable', '--restart-postgres', '--yes');
    expect(r.code).toBe(1);
    expect(r.summary?.error?.message).toMatch(
      /PostgreSQL IS DOWN: its stop ended early .* and it did not start again/s,
    );
    expect(env.db.isRunning()).toBe(false);
    expect(JSON.parse(await readFile(markerOf(env), 'utf8')).reason).toMatch(/its stop ended early/);

    await setStop(env, normalStop);
    await rm(broken);
    await startedAgainBy(env, 'pitr', 'enable', '--yes');
  }, 300_000);

  test('a job killed while PostgreSQL is stopped, whose repair cannot start it: recorded, the job refused, retried once fixed', async () => {
    expect(env.db.isRunning()).toBe(true);
    const normalStop = normalStopOf(env);
    const stopped = path.join(env.root, 'stopped-for-kill');
    const hanging = path.join(env.root, 'stop-then-hang.sh');
    await writeFile(
      hanging,
      [
        '#!/bin/sh',
        normalStop.map((a) => `'${a}'`).join(' ') + ' || exit 1',
        `touch '${stopped}'`,
        'sleep 30',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    await setStop(env, [hanging]);
    const run = startCli(['--config', env.cfgFile, '--json', 'pitr', 'disable', '--restart-postgres', '--yes']);
    await until(() => existsSync(stopped), 60_000, 'the stop');
    run.child.kill('SIGKILL');
    await run.done;
    expect(env.db.isRunning()).toBe(false);
    expect(existsSync(markerOf(env))).toBe(false); // only the (stale) lock says so now

    await setStop(env, normalStop);
    await writeFile(broken, '');
    const refused = await env.cli('pitr', 'enable', '--yes');
    expect(refused.code).toBe(1);
    expect(refused.summary?.error?.message).toMatch(
      /PostgreSQL IS DOWN since .*an interrupted pitr-disable had stopped it/s,
    );
    expect(JSON.parse(await readFile(markerOf(env), 'utf8')).reason).toMatch(
      /an interrupted pitr-disable had stopped it/,
    );
    expect(existsSync(path.join(env.repo, 'lock.json'))).toBe(false);

    await rm(broken);
    await startedAgainBy(env, 'pitr', 'enable', '--yes');
  }, 300_000);

  test('a hostile or garbled marker crashes nothing and never starts anything: it is shown, and removed once PostgreSQL runs', async () => {
    expect(env.db.isRunning()).toBe(true);
    const file = markerOf(env);
    const elsewhere = path.join(env.root, 'elsewhere');
    await mkdir(elsewhere);
    const run = (...a: string[]) => env.cli(...a);
    // PostgreSQL running: each kind is shown by status, then removed by the next job's retry.
    for (const plant of [
      () => writeFile(file, '{not json', { mode: 0o600 }),
      () => writeFile(file, 'x'.repeat(100_000), { mode: 0o600 }),
      () => symlink('/etc/passwd', file),
      () =>
        writeFile(
          file,
          JSON.stringify({ since: new Date().toISOString(), reason: 'r', autoStart: true, dataDir: elsewhere }),
        ),
    ]) {
      await plant();
      const s = await run('status');
      expect(s.code).toBe(1); // shown as down: something is there to look at
      expect(s.summary?.ok).toBe(false);
      expect(s.summary?.postgres_down).toMatchObject({ since: null, auto_start: false });
      const j = await run('pitr', 'enable', '--yes');
      expect(j.code).toBe(0);
      expect(existsSync(file)).toBe(false);
    }
    expect(existsSync('/etc/passwd')).toBe(true);

    // PostgreSQL stopped by hand and a marker naming another cluster: nothing is started.
    await exited(normalStopOf(env), 'pg_ctl stop');
    await writeFile(
      file,
      JSON.stringify({ since: new Date().toISOString(), reason: 'r', autoStart: true, dataDir: elsewhere }),
    );
    const j = await run('pitr', 'enable', '--yes');
    expect(j.code).toBe(1);
    expect(j.summary?.error?.message).toMatch(
      /PostgreSQL IS DOWN: .*does not have the expected form.*Not started: it is not started automatically/s,
    );
    expect(env.db.isRunning()).toBe(false);
    expect(existsSync(file)).toBe(true);

    // A directory in its place: still no crash, the job refused the same way.
    await rm(file);
    await mkdir(file);
    const k = await run('pitr', 'enable', '--yes');
    expect(k.code).toBe(1);
    expect(k.summary?.error?.message).toMatch(/is not a regular file/);
    const st = await run('status');
    expect({ code: st.code, ok: st.summary?.ok }).toEqual({ code: 1, ok: false });
    expect(st.summary?.postgres_down?.reason).toMatch(/is not a regular file/);
    await rm(file, { recursive: true });
    await exited(
      pgCtlAsPostgres(env.db, 'start', '-D', env.db.dataDir, '-l', env.db.logFile, '-w', '-s'),
      'pg_ctl start',
      false,
    );
    expect(env.db.isRunning()).toBe(true);
  }, 300_000);

  test('a start that fails and settings that cannot be put back: PostgreSQL is still started again, or recorded as down', async () => {
    expect(env.db.isRunning()).toBe(true);
    await writeFile(broken, '');
    await writeFile(`${broken}-link`, '');
    const r = await env.cli('pitr', 'enable', '--restart-postgres', '--yes');
    expect(r.code).toBe(1);
    expect(env.db.isRunning()).toBe(false);
    expect(r.summary?.error?.message).toMatch(/PostgreSQL IS DOWN: .*postgresql\.auto\.conf could not be put back/s);
    expect(JSON.parse(await readFile(markerOf(env), 'utf8'))).toMatchObject({
      reason: expect.stringMatching(/could not be put back.*is a symbolic link/s),
      autoStart: true,
    });

    // Fixed by hand (the link and the start): the next job starts it and removes the marker.
    await unlinkAutoConf(env, broken);
    await rm(broken);
    const again = await env.cli('status');
    expect(again.summary?.postgres_down).toMatchObject({ auto_start: true });
    await startedAgainBy(env, 'pitr', 'enable', '--yes');
  }, 300_000);

  test('while it is down, jobs that need only the repository run (verify, prune); backup and deep verify are refused', async () => {
    expect(env.db.isRunning()).toBe(true);
    // Physical mode's state names the cluster the retry starts (enabled already after the tests above).
    expect((await env.cli('pitr', 'enable', '--yes')).code).toBe(0);
    const b = await env.cli('backup', '--mode', 'online');
    expect({ code: b.code, error: b.summary?.error }).toEqual({ code: 0, error: undefined });
    const snap = String(b.summary?.snapshot?.id ?? b.summary?.id);
    // Left down: stopped, recorded as a failed restart would, and its start still failing.
    await exited(normalStopOf(env), 'pg_ctl stop');
    await writeFile(broken, '');
    const since = new Date().toISOString();
    await writeFile(markerOf(env), JSON.stringify({ since, reason: 'its restart failed', autoStart: true }), {
      mode: 0o600,
    });

    const refused = await env.cli('backup', '--mode', 'online');
    expect(refused.code).toBe(1);
    expect(refused.summary?.error?.message).toMatch(/PostgreSQL IS DOWN since .*its restart failed/s);
    const deep = await env.cli('verify', snap, '--deep');
    expect(deep.code).toBe(1);
    expect(deep.summary?.error?.message).toMatch(/PostgreSQL IS DOWN since/);

    const v = await env.cli('verify', snap);
    expect({ code: v.code, error: v.summary?.error }).toEqual({ code: 0, error: undefined });
    expect(v.events.map((e) => String(e.message ?? '')).join('\n')).toMatch(
      /PostgreSQL IS DOWN since[\s\S]*does not use the database: it goes on/,
    );
    const p = await env.cli('prune');
    expect({ code: p.code, error: p.summary?.error }).toEqual({ code: 0, error: undefined });
    expect(env.db.isRunning()).toBe(false);
    expect(JSON.parse(await readFile(markerOf(env), 'utf8')).since).toBe(since);
    expect((await env.cli('status')).code).toBe(1);

    // The sidecar's jobs (POST /v1/jobs, the schedule) are sorted the same way.
    const cfg = JSON.parse(await readFile(env.cfgFile, 'utf8'));
    cfg.listen.port = 0;
    await writeFile(env.cfgFile, JSON.stringify(cfg, null, 2), { mode: 0o600 });
    const sidecar = await Sidecar.open(env.cfgFile, { log: pino({ level: 'silent' }), postgresRetryMs: 3_600_000 });
    try {
      await sidecar.listen();
      await sidecar.started();
      const run = async (req: { kind: 'verify' | 'backup'; snapshotId?: string; deep?: boolean }) => {
        const rec = await sidecar.jobs.start({ ...req, trigger: 'api' });
        await sidecar.jobs.idle();
        return (await sidecar.jobs.get(rec.id))!;
      };
      expect(await run({ kind: 'verify', snapshotId: snap })).toMatchObject({ status: 'succeeded' });
      const sb = await run({ kind: 'backup' });
      expect(sb).toMatchObject({ status: 'failed', error: { message: expect.stringMatching(/PostgreSQL IS DOWN/) } });
      const sd = await run({ kind: 'verify', snapshotId: snap, deep: true });
      expect(sd).toMatchObject({ status: 'failed', error: { message: expect.stringMatching(/PostgreSQL IS DOWN/) } });
    } finally {
      await sidecar.close();
    }
    expect(env.db.isRunning()).toBe(false);

    // Fixed: the next job, whichever, starts it and removes the marker.
    await rm(broken);
    expect((await startedAgainBy(env, 'prune')).code).toBe(0);
    expect((await env.cli('status')).code).toBe(0);
  }, 300_000);
});

describe('a first enable whose restart fails and whose settings cannot be put back', () => {
  let env: PitrEnv;
  let broken: string;
  beforeAll(async () => {
    env = await setupPitr();
    broken = path.join(env.root, 'postgres-broken');
    await brokenStart(env, broken, await freePort());
  }, 120_000);
  afterAll(async () => env?.cleanup());

  test('the state keeps the settings postgresql.auto.conf still holds, so that disable undoes them', async () => {
    await writeFile(broken, '');
    await writeFile(`${broken}-link`, '');
    const r = await env.cli('pitr', 'enable', '--restart-postgres', '--yes');
    expect(r.summary?.error?.message).toMatch(/PostgreSQL IS DOWN: .*could not be put back/s);
    expect(env.db.isRunning()).toBe(false);
    const state = JSON.parse(await readFile(env.stateFile, 'utf8'));
    expect(Object.keys(state.changed)).toEqual(expect.arrayContaining(['archive_mode', 'archive_command']));

    // Fixed by hand; disable's retry starts PostgreSQL, then it puts the settings back.
    await unlinkAutoConf(env, broken);
    await rm(broken);
    const d = await env.cli('pitr', 'disable', '--restart-postgres', '--yes');
    const said = d.events.map((e) => String(e.message ?? '')).join('\n');
    expect(said).toMatch(/was started again; it runs/);
    expect(said).not.toMatch(/nothing to undo/);
    expect(d.code).toBe(0);
    expect(env.db.isRunning()).toBe(true);
    expect(await readFile(path.join(env.db.dataDir, 'postgresql.auto.conf'), 'utf8')).not.toMatch(/archive_mode/);
  }, 300_000);

  test("a marker left when physical mode's state is gone says to remove it by hand (no retry can look)", async () => {
    expect(existsSync(env.stateFile)).toBe(false); // disable removed it
    expect(env.db.isRunning()).toBe(true);
    const marker = path.join(env.root, 'mm-backup-postgres-down.json');
    await writeFile(marker, JSON.stringify({ since: new Date().toISOString(), reason: 'r', autoStart: true }), {
      mode: 0o600,
    });
    const j = await env.cli('pitr', 'enable', '--yes');
    expect(j.code).toBe(1);
    expect(j.summary?.error?.message).toContain(`cannot look whether it runs: once it does, remove ${marker} by hand`);
    expect((await env.cli('status')).summary?.postgres_down.message).toContain(`remove ${marker} by hand`);
    await rm(marker);
    expect((await env.cli('pitr', 'enable', '--yes')).code).toBe(0);
  }, 300_000);
});
