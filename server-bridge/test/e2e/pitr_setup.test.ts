/**
 * Physical mode's set-up from the CLI, with real parts only: a real PostgreSQL 15 cluster run as
 * postgres, the real pgbackrest binary, real pg_ctl restarts, the real archive_command run by
 * PostgreSQL through /bin/sh (the config directory's name holds a space, a quote, `$` and `%`).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '@mm-backup/testkit';
import { runCli, startCli, type CliResult } from '../support/cli';
import { customPostgresService, setupPitr, type PitrEnv } from '../support/pitr_env';

const POSTGRES_UID = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
const MANAGED = ['wal_level', 'archive_mode', 'archive_command', 'archive_timeout'];

async function managed(env: PitrEnv): Promise<Record<string, string>> {
  const s = (await env.snapshot()).settings;
  return Object.fromEntries(MANAGED.map((n) => [n, s[n] as string]));
}

/** Every WAL file pgBackRest has archived for the stanza (archive/<stanza>/<id>/<timeline+log>/…). */
async function archivedWal(env: PitrEnv): Promise<string[]> {
  const base = path.join(env.repo, 'pgbackrest', 'archive', env.stanza);
  if (!existsSync(base)) return [];
  const files: string[] = [];
  for (const id of await readdir(base)) {
    const dir = path.join(base, id);
    if (!(await stat(dir)).isDirectory()) continue;
    for (const sub of await readdir(dir)) {
      const p = path.join(dir, sub);
      if ((await stat(p)).isDirectory()) files.push(...(await readdir(p)));
    }
  }
  return files;
}

/**
 * The job a CLI run announced in its NDJSON: its kind, its steps in order, the steps that
 * finished and how it ended (the same pitr-enable / pitr-disable job POST /v1/jobs runs).
 */
function jobOf(r: CliResult): { kind?: string; steps?: string[]; finished: string[]; status?: string } {
  const started = r.events.find((e) => e.type === 'job.started');
  return {
    kind: started?.kind,
    steps: started?.steps.map((s: { id: string }) => s.id),
    finished: r.events.filter((e) => e.type === 'step.finished').map((e) => e.step),
    status: r.events.find((e) => e.type === 'job.finished')?.status,
  };
}

/** Every argv and environment of every process, sampled while `fn` runs: a secret must be in none. */
async function watchProcesses<T>(secret: string, fn: () => Promise<T>): Promise<{ result: T; seen: string[] }> {
  const seen: string[] = [];
  const state = { running: true };
  const sample = async () => {
    while (state.running) {
      for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
        for (const f of ['cmdline', 'environ']) {
          try {
            const text = readFileSync(`/proc/${pid}/${f}`, 'utf8');
            if (text.includes(secret)) seen.push(`${pid} ${f}: ${text.replace(/\0/g, ' ').slice(0, 200)}`);
          } catch {
            // gone, or a kernel thread
          }
        }
      }
      await new Promise((r) => setTimeout(r, 15));
    }
  };
  const sampler = sample();
  try {
    return { result: await fn(), seen };
  } finally {
    state.running = false;
    await sampler;
  }
}

describe('pitr enable --restart-postgres on a fresh cluster', () => {
  let env: PitrEnv;
  const passphrase = 'pitr-cipher-passphrase-7f3a9c1e5b';
  beforeAll(async () => {
    // wal_level minimal (with no WAL senders, as it requires): enable has to raise it too.
    env = await setupPitr({ settings: { wal_level: 'minimal', max_wal_senders: '0' } });
  }, 120_000);
  afterAll(async () => env?.cleanup());

  test('archives WAL into the repository, with the passphrase only in the 0600 config; disable reverts', async () => {
    const passFile = path.join(env.root, 'cipher-pass');
    await writeFile(passFile, `${passphrase}\n`, { mode: 0o600 });
    await env.writeConfig({ cipherPassFile: passFile });
    const before = await managed(env);
    // With archive_mode off PostgreSQL shows archive_command as '(disabled)'.
    expect(before).toMatchObject({ wal_level: 'minimal', archive_mode: 'off', archive_command: '(disabled)' });

    const { result: r, seen } = await watchProcesses(passphrase, () =>
      env.cli('pitr', 'enable', '--restart-postgres', '--yes'),
    );
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(seen).toEqual([]);
    expect(r.stdout).not.toContain(passphrase);
    // The CLI runs the API's job: its kind and steps, each step finished, under the job lock.
    const steps = ['pitr-check', 'pitr-configure', 'pitr-settings', 'pitr-verify'];
    expect(jobOf(r)).toEqual({ kind: 'pitr-enable', steps, finished: steps, status: 'succeeded' });
    const s = r.summary as Record<string, any>;
    expect(s.checked).toBe(true);
    expect(s.restarted).toBe(true);
    expect(s.pendingRestart).toEqual([]);
    expect(s.changes.map((c: { name: string }) => c.name)).toEqual(MANAGED);
    expect(s.changes.every((c: { applied: boolean }) => c.applied)).toBe(true);

    const now = await managed(env);
    expect(now.wal_level).toBe('replica');
    expect(now.archive_mode).toBe('on');
    expect(now.archive_timeout).toBe('30');
    expect(now.archive_command).toContain('archive-push');
    expect(now.archive_command).not.toContain(passphrase);

    // The config: postgres's, 0600, the only place the passphrase is written.
    const conf = path.join(env.configDir, 'pgbackrest.conf');
    const st = await stat(conf);
    expect({ uid: st.uid, mode: st.mode & 0o777 }).toEqual({ uid: POSTGRES_UID, mode: 0o600 });
    expect(await readFile(conf, 'utf8')).toContain(`repo1-cipher-pass=${passphrase}`);
    expect(await readFile(env.stateFile, 'utf8')).not.toContain(passphrase);
    expect((await stat(path.join(env.repo, 'pgbackrest'))).uid).toBe(POSTGRES_UID);

    // A WAL switch after a write: that very segment appears in the repository.
    await env.db.exec('postgres', 'CREATE TABLE pitr_probe AS SELECT g FROM generate_series(1, 1000) g');
    const [{ seg }] = await env.db.query('postgres', 'SELECT pg_walfile_name(pg_switch_wal()) AS seg');
    const deadline = Date.now() + 60_000;
    while (!(await archivedWal(env)).some((f) => f.startsWith(seg)) && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 250));
    }
    expect((await archivedWal(env)).filter((f) => f.startsWith(seg))).toHaveLength(1);

    // pgBackRest's own view, through pitr status: the stanza is there, encrypted, WAL up to seg at least.
    const st2 = await env.cli('pitr', 'status');
    expect(st2.code).toBe(0);
    const info = st2.summary?.stanza as Record<string, any>;
    expect(info.name).toBe(env.stanza);
    // Code 2 is pgBackRest's "stanza exists, no backup yet": physical backups are a later step.
    expect(info.status).toEqual({ code: 2, message: 'no valid backups' });
    expect(info.cipher).toBe('aes-256-cbc');
    expect(info.archive[0].max >= seg.slice(0, 24)).toBe(true);
    expect(st2.summary?.phase).toBe('enabled');
    expect(st2.summary?.archiver.failed_count).toBe(0);

    const d = await env.cli('pitr', 'disable', '--restart-postgres', '--yes');
    expect({ code: d.code, stderr: d.stderr }).toEqual({ code: 0, stderr: '' });
    expect(jobOf(d)).toEqual({
      kind: 'pitr-disable',
      steps: ['pitr-revert'],
      finished: ['pitr-revert'],
      status: 'succeeded',
    });
    expect(d.summary?.restarted).toBe(true);
    expect(d.summary?.pendingRestart).toBe(false);
    expect(await managed(env)).toEqual(before);
    expect(existsSync(env.stateFile)).toBe(false);
    // The repository stays: the backups and WAL archived so far are the admin's to remove.
    expect((await archivedWal(env)).length).toBeGreaterThan(0);
    expect(d.summary?.kept.repoPath).toBe(path.join(env.repo, 'pgbackrest'));
  }, 240_000);
});

describe('pitr enable without consent to a restart', () => {
  let env: PitrEnv;
  beforeAll(async () => {
    env = await setupPitr();
  }, 120_000);
  afterAll(async () => env?.cleanup());

  test('--dry-run says every check and each setting that would change, and changes nothing', async () => {
    const before = await env.snapshot();
    const r = await env.cli('pitr', 'enable', '--dry-run');
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const s = r.summary as Record<string, any>;
    expect(s.ready).toBe(true);
    expect(s.checks.map((c: { status: string }) => c.status)).toEqual(Array(8).fill('ok'));
    expect(s.changes.find((c: { name: string }) => c.name === 'archive_mode')).toEqual({
      name: 'archive_mode',
      from: 'off',
      to: 'on',
      restart: true,
    });
    expect(s.restartNeeded).toBe(true);
    expect(s.pgbackrestVersion).toMatch(/^\d+\.\d+/);
    // A plan, not a job: nothing started, no lock taken.
    expect(r.events.filter((e) => e.type === 'job.started')).toEqual([]);
    expect(await env.snapshot()).toEqual(before);
    expect(existsSync(env.configDir)).toBe(false);
    expect(existsSync(env.stateFile)).toBe(false);
    const text = await runCli(['--config', env.cfgFile, 'pitr', 'enable', '--dry-run']);
    expect(text.stdout).toMatch(/archive_mode\s+off → on\s+needs a restart/);
  }, 60_000);

  test('applies only what a reload applies, names the command that finishes, and disable undoes it', async () => {
    const before = await env.snapshot();
    const r = await env.cli('pitr', 'enable');
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const s = r.summary as Record<string, any>;
    expect(s.restarted).toBe(false);
    expect(s.checked).toBe(false);
    expect(s.pendingRestart).toEqual(['archive_mode']);
    expect(s.finish).toContain('pitr enable --restart-postgres');
    // archive_mode is neither in effect nor written for a later restart; the reloadable ones are in effect.
    expect(await env.setting('archive_mode')).toBe('off');
    const after = await env.snapshot();
    expect(after.autoConf).not.toMatch(/archive_mode/);
    const [{ cmd }] = await env.db.query(
      'postgres',
      "SELECT setting AS cmd FROM pg_file_settings WHERE name = 'archive_command' AND applied ORDER BY seqno DESC LIMIT 1",
    );
    expect(cmd).toContain('archive-push');
    expect(after.settings.archive_command).toBe('(disabled)');
    expect(after.settings.archive_timeout).toBe('30');
    expect(after.settings.wal_level).toBe(before.settings.wal_level);

    const d = await env.cli('pitr', 'disable');
    expect({ code: d.code, stderr: d.stderr }).toEqual({ code: 0, stderr: '' });
    expect((await env.snapshot()).settings).toEqual(before.settings);
  }, 120_000);
});

describe('bad situations refuse and change nothing', () => {
  let env: PitrEnv;
  beforeAll(async () => {
    env = await setupPitr();
  }, 120_000);
  afterAll(async () => env?.cleanup());

  async function refuses(args: string[], message: RegExp): Promise<void> {
    const before = await env.snapshot();
    const r = await env.cli('pitr', 'enable', ...args);
    expect(r.code).not.toBe(0);
    expect(r.summary?.error?.message).toMatch(message);
    expect(r.summary?.error?.hint).toBeTruthy();
    expect(await env.snapshot()).toEqual(before);
    expect(existsSync(env.configDir)).toBe(false);
    expect(existsSync(path.join(env.repo, 'pgbackrest'))).toBe(false);
    expect(existsSync(env.stateFile)).toBe(false);
    expect(env.db.isRunning()).toBe(true);
  }

  test('pgBackRest is not installed', async () => {
    await env.writeConfig({ pgbackrestBin: path.join(env.root, 'no-such', 'pgbackrest') });
    await refuses(['--restart-postgres', '--yes'], /pgBackRest is not installed/);
  });

  test('pgBackRest is too old for the cluster', async () => {
    // Only one pgBackRest is installed: an older one is a program printing what 2.38 prints.
    const old = path.join(env.root, 'old-pgbackrest');
    await writeFile(old, '#!/bin/sh\necho "pgBackRest 2.38"\n', { mode: 0o755 });
    await chmod(old, 0o755);
    await env.writeConfig({ pgbackrestBin: old });
    await refuses(['--restart-postgres', '--yes'], /pgBackRest 2\.38 is too old for PostgreSQL 15: 2\.45 or newer/);
  });

  test('no access to the data directory (it is not the account pgBackRest runs as)', async () => {
    const foreign = path.join(env.root, 'foreign-data');
    await mkdir(foreign, { mode: 0o700 });
    await writeFile(path.join(foreign, 'PG_VERSION'), '15\n');
    await env.writeConfig({ dataDir: foreign });
    await refuses(['--restart-postgres', '--yes'], /no access to the PostgreSQL data directory .*foreign-data/);
  });

  test('the database is on another host', async () => {
    await env.writeConfig();
    await env.writeDsn('192.0.2.10', env.db.port);
    try {
      await refuses([], /the database is on 192\.0\.2\.10, not on this host/);
    } finally {
      await env.writeDsn('127.0.0.1', env.db.port);
    }
  });

  test('no data directory here serves the DSN (a container, a tunnel)', async () => {
    await env.writeConfig();
    await env.writeDsn('127.0.0.1', await freePort());
    try {
      await refuses([], /no running PostgreSQL on this host listens on port \d+/);
    } finally {
      await env.writeDsn('127.0.0.1', env.db.port);
    }
  });

  test('archive_mode already on with an archive_command of another tool (named; --force needed)', async () => {
    await env.writeConfig();
    const foreign = `test ! -f /srv/wal/%f && cp %p /srv/wal/%f`;
    await env.db.query('postgres', 'ALTER SYSTEM SET archive_mode = on');
    await env.db.query('postgres', `ALTER SYSTEM SET archive_command = '${foreign}'`);
    await env.db.stop();
    await env.db.start();
    expect(await env.setting('archive_mode')).toBe('on');
    await refuses(
      ['--restart-postgres', '--yes'],
      new RegExp(
        `archives WAL elsewhere: archive_mode = on, archive_command = '${foreign.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}'`,
      ),
    );
    // --force (the CLI's only: the API's schema refuses it) travels in the job and replaces it.
    const r = await env.cli('pitr', 'enable', '--force');
    expect({ code: r.code, stderr: r.stderr, error: r.summary?.error }).toEqual({
      code: 0,
      stderr: '',
      error: undefined,
    });
    expect(jobOf(r)).toMatchObject({ kind: 'pitr-enable', status: 'succeeded' });
    expect(r.summary?.checked).toBe(true);
    expect(await env.setting('archive_command')).toContain('archive-push');
  }, 60_000);
});

describe('a pitr-state.json planted in the repository (where older versions kept the state)', () => {
  let env: PitrEnv;
  beforeAll(async () => {
    env = await setupPitr();
    await mkdir(env.repo, { recursive: true, mode: 0o700 });
  }, 120_000);
  afterAll(async () => env?.cleanup());

  const plant = (changed: Record<string, unknown>) =>
    writeFile(
      path.join(env.repo, 'pitr-state.json'),
      JSON.stringify({
        version: 1,
        phase: 'enabled',
        stanza: env.stanza,
        configDir: env.configDir,
        repoPath: path.join(env.repo, 'pgbackrest'),
        dataDir: env.db.dataDir,
        changed,
        updatedAt: new Date().toISOString(),
      }),
    );

  test('with a command of its own as archive_command "before": disable and enable refuse; it never reaches ALTER SYSTEM', async () => {
    const canary = path.join(env.root, 'PWNED');
    await plant({ archive_command: { before: `touch '${canary}'`, value: 'true' } });
    const before = await env.snapshot();
    for (const args of [['disable', '--restart-postgres', '--yes'], ['disable'], ['enable', '--yes']]) {
      const r = await env.cli('pitr', ...args);
      expect(r.code).not.toBe(0);
      expect(r.summary?.error?.message).toMatch(
        /pitr-state\.json .*is not trusted: its archive_command before is a command mm-backup would not write; nothing of it was used/,
      );
      expect(r.summary?.error?.hint).toMatch(/delete .*pitr-state\.json/);
    }
    expect(await env.snapshot()).toEqual(before);
    expect(await env.setting('archive_command')).not.toContain('touch');
    await env.db.exec('postgres', 'SELECT pg_switch_wal()');
    expect(existsSync(canary)).toBe(false);
    expect(existsSync(env.stateFile)).toBe(false);
    expect(existsSync(env.configDir)).toBe(false);
  }, 60_000);

  test('one that can only hold what mm-backup writes is moved beside the signing key and used', async () => {
    await env.db.query('postgres', "ALTER SYSTEM SET archive_timeout = '30'");
    await env.db.query('postgres', 'SELECT pg_reload_conf()');
    await plant({ archive_timeout: { before: null, value: '30' } });
    const d = await env.cli('pitr', 'disable');
    expect({ code: d.code, stderr: d.stderr }).toEqual({ code: 0, stderr: '' });
    expect(d.summary?.reverted).toEqual([{ name: 'archive_timeout', to: null }]);
    expect(await env.setting('archive_timeout')).toBe('0');
    expect(existsSync(path.join(env.repo, 'pitr-state.json'))).toBe(false);
    expect(existsSync(env.stateFile)).toBe(false); // nothing pending: disable forgot it
  }, 60_000);
});

describe('a start that fails after the settings change', () => {
  let env: PitrEnv;
  beforeAll(async () => {
    env = await setupPitr();
  }, 120_000);
  afterAll(async () => env?.cleanup());

  test('is rolled back: the old settings, PostgreSQL running again, the error saying so', async () => {
    // A start command that refuses while archive_mode is in postgresql.auto.conf, as a server
    // that cannot start with the new settings would: only the rollback can bring it back.
    await env.writeConfig({
      postgresService: await customPostgresService(env.root, env.db, [
        'if grep -q "^archive_mode" "$1/postgresql.auto.conf"; then echo "FATAL: cannot start with archive_mode" >&2; exit 1; fi',
      ]),
    });
    const before = await env.snapshot();
    const r = await env.cli('pitr', 'enable', '--restart-postgres', '--yes');
    expect(r.code).not.toBe(0);
    expect(r.summary?.error?.message).toMatch(
      /did not start with the new settings .*cannot start with archive_mode.*; they were reverted and PostgreSQL runs again as before/s,
    );
    expect(env.db.isRunning()).toBe(true);
    const after = await env.snapshot();
    expect(after.autoConf).toBe(before.autoConf);
    expect(after.settings).toEqual(before.settings);
    // The state no longer claims settings that were reverted: disable has nothing of them to undo.
    const state = JSON.parse(await readFile(env.stateFile, 'utf8'));
    expect(state.changed).toEqual({});
    const d = await env.cli('pitr', 'disable');
    expect(d.code).toBe(0);
    expect((await env.snapshot()).settings).toEqual(before.settings);
  }, 180_000);
});

describe('a pitr enable killed while PostgreSQL is stopped for its restart', () => {
  let env: PitrEnv;
  beforeAll(async () => {
    env = await setupPitr();
  }, 120_000);
  afterAll(async () => env?.cleanup());

  /** A stop that stops the server, says so in the file `stopped` and then hangs: the CLI is stopped right there. */
  const hangingStop = async (stopped: string) => {
    const stop = path.join(env.root, 'stop-postgres.sh');
    await writeFile(
      stop,
      [
        '#!/bin/sh',
        'runuser -u postgres -- "$1/pg_ctl" stop -D "$2" -m fast -w -s || exit 1',
        `touch '${stopped}'`,
        'sleep 20',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const pgCtl = (...a: string[]) => ['runuser', '-u', 'postgres', '--', path.join(env.db.binDir, 'pg_ctl'), ...a];
    const service = (stopCmd: string[]) => ({
      postgresService: {
        preset: 'custom',
        stop: stopCmd,
        start: pgCtl('start', '-D', env.db.dataDir, '-l', env.db.logFile, '-w', '-s'),
        status: pgCtl('status', '-D', env.db.dataDir, '-s'),
      },
    });
    await env.writeConfig(service([stop, env.db.binDir, env.db.dataDir]));
    const run = startCli(['--config', env.cfgFile, '--json', 'pitr', 'enable', '--restart-postgres', '--yes']);
    for (let i = 0; i < 600 && !existsSync(stopped); i++) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(stopped)).toBe(true);
    expect(env.db.isRunning()).toBe(false);
    return { run, service, pgCtl };
  };

  test('Ctrl-C then: PostgreSQL is started again with its old settings before the command ends', async () => {
    const before = await env.snapshot();
    const { run } = await hangingStop(path.join(env.root, 'stopped-int'));
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code).not.toBe(0);
    expect(env.db.isRunning()).toBe(true);
    // The job ends as cancelled; its log says what was done about PostgreSQL.
    expect(r.summary?.error?.message).toMatch(/cancelled by SIGINT/);
    const said = r.events.map((e) => String(e.message ?? '')).join('\n');
    expect(said).toMatch(/the stop ended early but PostgreSQL is down: starting it with its old settings/);
    const after = await env.snapshot();
    expect(after.autoConf).toBe(before.autoConf);
    expect(after.settings).toEqual(before.settings);
  }, 240_000);

  test('killed then: the next job starts PostgreSQL again first, says so, and enable then finishes', async () => {
    const { run, service, pgCtl } = await hangingStop(path.join(env.root, 'stopped-kill'));
    run.child.kill('SIGKILL');
    await run.done;
    expect(env.db.isRunning()).toBe(false);

    // The admin runs it again (a normal stop this time): the stale lock's repair starts PostgreSQL first.
    await env.writeConfig(service(pgCtl('stop', '-D', env.db.dataDir, '-m', 'fast', '-w', '-s')));
    const again = await env.cli('pitr', 'enable', '--restart-postgres', '--yes');
    const said = again.events.map((e) => String(e.message ?? '')).join('\n');
    expect(said).toMatch(/had stopped PostgreSQL: starting it/);
    expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: '' });
    expect(env.db.isRunning()).toBe(true);
    expect((await managed(env)).archive_mode).toBe('on');
  }, 240_000);
});

test('the pitr commands exist in the CLI help', () => {
  const r = spawnSync(process.execPath, [path.resolve(__dirname, '../../bin/mm-backup.js'), 'pitr', '--help'], {
    encoding: 'utf8',
  });
  expect(r.stdout).toMatch(/enable[\s\S]*disable[\s\S]*status/);
});
