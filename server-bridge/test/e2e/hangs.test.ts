/**
 * A job that fails mid-pipeline must still end: every child stopped, every database session of
 * ours closed (no lock left for a Mattermost migration to wait on), Mattermost running, and the
 * root cause reported. Real PostgreSQL, a real full filesystem (tmpfs), real signals.
 */
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Client } from 'pg';
import { parseDsn } from '../../src/database/dsn';
import { query } from '../../src/database/sql_client';
import { startCli, type CliResult } from '../support/cli';
import { isUp, setupE2E, type E2E } from '../support/e2e_env';

let env: E2E;
let small: string;
beforeAll(async () => {
  env = await setupE2E('postgres', { size: { attachments: 4, attachmentBytes: 20_000 } });
  // ~6 MB of hex text: about 3 MB once zstd has it, far more than the space the shim leaves.
  await query(
    parseDsn(env.sb.dbUrl),
    `CREATE TABLE bulk_blobs AS SELECT g AS id, string_agg(md5(random()::text), '') AS blob
    FROM generate_series(1, 3000) g, generate_series(1, 64) h GROUP BY g`,
  );
  small = path.join(env.root, 'small-disk');
  await mkdir(small, { recursive: true });
  // A real small filesystem; big enough for the free-space check, filled by the pg_dump shim.
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=160m', 'tmpfs', small], { encoding: 'utf8' });
  if (m.status !== 0) throw new Error(`cannot mount a tmpfs (these tests need root): ${m.stderr}`);
}, 240_000);
afterAll(async () => {
  if (small) spawnSync('umount', ['-l', small]);
  await env?.cleanup();
});

/** Our sessions on the test server: everything we open is named mm-backup…, pg_dump's too. */
async function ourSessions(): Promise<Array<{ application_name: string; state: string }>> {
  return env.db.query(
    'postgres',
    "SELECT application_name, state FROM pg_stat_activity WHERE application_name LIKE 'mm-backup%'",
  );
}

/** Runs the CLI, but never waits more than `seconds`: a hang fails the test instead of the suite. */
async function cliWithin(seconds: number, args: string[]): Promise<CliResult & { hung: boolean }> {
  const run = startCli(['--config', env.cfgFile, '--json', ...args]);
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    run.child.kill('SIGKILL');
  }, seconds * 1000);
  const r = await run.done;
  clearTimeout(timer);
  if (hung) env.startStandin(); // a killed job may have left Mattermost stopped
  return { ...r, hung };
}

/** Shell: counts this tool's runs in `file`, leaving the number in $n. */
const countRun = (file: string) => `n=$(($(cat "${file}" 2>/dev/null || echo 0) + 1)); echo $n > "${file}"`;
/** Shell: waits to be killed (its pipes stay open, as a working tool's do); sleep holds none of them. */
const HOLD = 'while :; do sleep 0.05 </dev/null >/dev/null 2>&1; done';

/** A pgBinDir whose `tool` runs `before` (shell) and then execs the real one. */
async function shimBin(name: string, tool: string, before: string): Promise<string> {
  const bin = path.join(env.root, name);
  await mkdir(bin, { recursive: true });
  for (const t of ['pg_dump', 'pg_restore', 'psql']) {
    if (t !== tool) await symlink(path.join(env.db.binDir, t), path.join(bin, t)).catch(() => undefined);
  }
  await writeFile(path.join(bin, tool), `#!/bin/sh\n${before}\nexec "${env.db.binDir}/${tool}" "$@"\n`, {
    mode: 0o755,
  });
  return bin;
}

test('disk full during the PostgreSQL dump: exits at once, no session left, Mattermost up, "disk full" with figures', async () => {
  const repo = path.join(small, 'repo');
  const filler = path.join(small, 'filler');
  // Fill the small disk just as the dump starts, leaving 256 KiB: the dump hits ENOSPC part-way.
  const bin = await shimBin(
    'full-disk-bin',
    'pg_dump',
    `avail=$(($(stat -f -c '%a * %S' "${small}")))\nhead -c $((avail - 262144)) /dev/zero > "${filler}"`,
  );
  await env.writeConfig({
    repository: { path: repo },
    backup: { exclude: ['app', 'plugins', 'client_plugins', 'logs', 'data'] },
    database: { adminUrl: env.db.adminUrl(env.sb.dbName), pgBinDir: bin },
  });
  try {
    const t0 = Date.now();
    const r = await cliWithin(60, ['backup', '--mode', 'offline']);
    expect(r.hung).toBe(false);
    expect(Date.now() - t0).toBeLessThan(45_000);
    // Exit code and error code with the output, so a failure says which write missed the mapping.
    expect(`exit ${r.code} ${r.summary?.error.code}\n${r.stderr}`).toMatch(/^exit 3 DISK_SPACE\n/);
    expect(r.stderr).toMatch(/repository disk is full/);
    expect(r.stderr).toMatch(/\d+(\.\d+)? (B|KB|MB|GB) free of \d+(\.\d+)? (B|KB|MB|GB)/);
    expect(r.stderr).toMatch(/hint: .*(free space|prune)/);
    expect(r.stderr).not.toMatch(/SIGPIPE|\n\s+at /);
    expect(await ourSessions()).toEqual([]);
    expect(await isUp(env.url)).toBe(true);
    // Nothing half-written is left behind in the repository's staging area.
    expect(await readdir(path.join(repo, 'tmp'))).toEqual([]);
  } finally {
    spawnSync('rm', ['-f', filler]);
    await env.writeConfig();
  }
}, 120_000);

test('pg_restore killed during a restore: rolled back, the CLI exits, no session left, Mattermost up', async () => {
  const b = await cliWithin(120, ['backup', '--mode', 'online']);
  expect({ code: b.code, stderr: b.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
  const id = b.summary?.snapshot.id as string;
  const pidFile = path.join(env.root, 'pg_restore.pid');
  const count = path.join(env.root, 'pg_restore.count');
  // The first pg_restore (the restore's own; the safety snapshot uses pg_dump) records its pid and
  // holds until it is killed, so the kill always lands while it runs (never on a finished one);
  // the undo's pg_restore, the second, runs through.
  const bin = await shimBin(
    'killable-bin',
    'pg_restore',
    `${countRun(count)}\n[ $n -eq 1 ] && { echo $$ > "${pidFile}"; ${HOLD}; }`,
  );
  await env.writeConfig({ database: { adminUrl: env.db.adminUrl(env.sb.dbName), pgBinDir: bin } });
  try {
    const run = startCli(['--config', env.cfgFile, '--json', 'restore', id, '--yes']);
    let killed = false;
    run.onEvent((e) => {
      if (killed || e.type !== 'step.started' || e.step !== 'restore-database') return;
      killed = true;
      // pg_restore reads a ~3 MB dump; kill it while it runs, with a real signal.
      void (async () => {
        for (let i = 0; i < 200; i++) {
          const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
          if (pid && spawnSync('kill', ['-KILL', String(pid)]).status === 0) return;
          await new Promise((res) => setTimeout(res, 10));
        }
      })();
    });
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      run.child.kill('SIGKILL');
    }, 90_000);
    const r = await run.done;
    clearTimeout(timer);
    if (hung) env.startStandin();
    expect(killed).toBe(true);
    expect(hung).toBe(false);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/pg_restore failed \(killed by SIGKILL\)\. database was put back from safety snapshot/);
    expect(r.events.some((e) => e.type === 'undo.started' && e.step === 'restore-database')).toBe(true);
    expect(await ourSessions()).toEqual([]);
    expect(await isUp(env.url)).toBe(true);
  } finally {
    await env.writeConfig();
  }
}, 240_000);

test('pg_restore killed during a deep verify: the CLI exits, no session left, the scratch database dropped', async () => {
  const b = await cliWithin(120, ['backup', '--mode', 'online']);
  expect(b.code).toBe(0);
  const pidFile = path.join(env.root, 'drill.pid');
  const count = path.join(env.root, 'drill.count');
  // The first pg_restore reads the dump through (no database); the second is the restore drill:
  // it holds until killed (the scratch database is empty, so the drill loads it with pg_restore
  // --jobs from a temp file), so the kill never lands on one that already finished.
  const bin = await shimBin(
    'killable-drill-bin',
    'pg_restore',
    `${countRun(count)}\n[ $n -eq 2 ] && { echo $$ > "${pidFile}"; ${HOLD}; }`,
  );
  await env.writeConfig({ database: { adminUrl: env.db.adminUrl(env.sb.dbName), pgBinDir: bin } });
  try {
    const run = startCli(['--config', env.cfgFile, '--json', 'verify', b.summary?.snapshot.id as string, '--deep']);
    let killed = false;
    // Set by the finally below, while this loop runs.
    const stopper = { stop: false };
    const killer = (async () => {
      while (!killed && !stopper.stop) {
        const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
        if (pid && spawnSync('kill', ['-KILL', String(pid)]).status === 0) killed = true;
        else await new Promise((res) => setTimeout(res, 10));
      }
    })();
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      run.child.kill('SIGKILL');
    }, 60_000);
    const r = await run.done;
    clearTimeout(timer);
    stopper.stop = true;
    await killer;
    expect(killed).toBe(true);
    expect(hung).toBe(false);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/pg_restore failed \(killed by SIGKILL\)/);
    expect(await ourSessions()).toEqual([]);
    expect(await env.db.query('postgres', "SELECT datname FROM pg_database WHERE datname LIKE '%mmb_verify%'")).toEqual(
      [],
    );
    expect(await isUp(env.url)).toBe(true);
  } finally {
    await env.writeConfig();
  }
}, 240_000);

test('pg_dump failing while our row count waits on a lock: the session is ended, the CLI exits at once', async () => {
  // Another session holds a table; counting its rows waits for it, and pg_dump fails meanwhile.
  const holder = new Client({ connectionString: env.db.adminUrl(env.sb.dbName) });
  await holder.connect();
  await holder.query('BEGIN');
  await holder.query('LOCK TABLE public.posts IN ACCESS EXCLUSIVE MODE');
  const bin = await shimBin(
    'failing-dump-bin',
    'pg_dump',
    'echo "pg_dump: error: connection lost (simulated)" >&2; exit 1',
  );
  await env.writeConfig({ database: { adminUrl: env.db.adminUrl(env.sb.dbName), pgBinDir: bin } });
  try {
    const t0 = Date.now();
    const r = await cliWithin(60, ['backup', '--mode', 'online']);
    expect(r.hung).toBe(false);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/pg_dump failed \(exit code 1\): pg_dump: error: connection lost \(simulated\)/);
    expect(await ourSessions()).toEqual([]);
  } finally {
    await holder.query('ROLLBACK').catch(() => undefined);
    await holder.end();
    await env.writeConfig();
  }
}, 120_000);
