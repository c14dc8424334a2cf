/**
 * Online mode under concurrent writes: every fileinfo row in the dump has its file in the snapshot;
 * the backup runs under backup.budget (the CLI process and its children lowered), a restore does not.
 */
import path from 'node:path';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { query } from '../../src/database/sql_client';
import { parseDsn } from '../../src/database/dsn';
import { isUp, setupE2E, type E2E } from '../support/e2e_env';
import { startCli, type CliResult } from '../support/cli';
import { cmdlineOf, descendantsOf, ioClassOf, niceOf } from '../support/priority';

let env: E2E;
beforeAll(async () => {
  env = await setupE2E('postgres', { writer: true });
}, 240_000);
afterAll(async () => {
  await env?.cleanup();
});

test('online backup while Mattermost keeps writing posts and attachments', async () => {
  const target = parseDsn(env.sb.dbUrl);
  const count = async () => Number((await query(target, 'SELECT count(*) AS n FROM fileinfo'))[0]?.n);
  const before = await count();
  let sawDown = false;
  const poll = setInterval(() => {
    void isUp(env.url).then((up) => {
      if (!up) sawDown = true;
    });
  }, 100);
  const r = await env.cli('backup', '--mode', 'online');
  clearInterval(poll);
  expect(r.code).toBe(0);
  expect(sawDown).toBe(false);
  expect(r.summary?.snapshot.mode).toBe('online');
  expect(r.summary?.snapshot.downtime_ms).toBe(0);
  expect(await count()).toBeGreaterThan(before); // the writer really was writing

  // Put the snapshot on a new install + database and check every attachment row against the files.
  const newInstall = path.join(env.root, 'restored', 'mattermost');
  const url = env.db.adminUrl('mm_online_check');
  const urlFile = path.join(env.root, 'url');
  await writeFile(urlFile, url, { mode: 0o600 });
  const res = await env.cli(
    'restore',
    r.summary?.snapshot.id,
    '--yes',
    '--install-dir',
    newInstall,
    '--database-url-file',
    urlFile,
    '--components',
    'database,data,config',
  );
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  const rows = await query(parseDsn(url), 'SELECT path, thumbnailpath FROM fileinfo');
  expect(rows.length).toBeGreaterThan(before);
  const missing = rows
    .flatMap((row) => [row.path, row.thumbnailpath])
    .filter((p): p is string => typeof p === 'string' && p !== '')
    .filter((p) => !existsSync(path.join(newInstall, 'data', p)));
  expect(missing).toEqual([]);
});

/**
 * A pgBinDir whose pg_restore appends "<niceness> <ionice -p>" of itself to `record`, then execs
 * the real one (same process: the niceness and I/O class it was started with); the rest are links.
 */
/**
 * A bin directory of the cluster's tools where each of `tools` first appends "<tool> <niceness>
 * <I/O class>" to `record` (not for a `--version` call), then execs the real one: a child too short
 * for the 20 ms sampler on a loaded machine is recorded all the same (CI missed pg_restore once,
 * pg_dump later).
 */
async function recordingPgBin(record: string, tools: string[]): Promise<string> {
  const bin = path.join(env.root, `recording-pg-bin-${tools.join('-')}`);
  await mkdir(bin, { recursive: true });
  for (const tool of readdirSync(env.db.binDir)) {
    const real = path.join(env.db.binDir, tool);
    if (!tools.includes(tool)) {
      await symlink(real, path.join(bin, tool)).catch(() => undefined);
      continue;
    }
    await writeFile(
      path.join(bin, tool),
      `#!/bin/sh\ncase " $* " in *" --version "*) ;; *) echo "${tool} $(cut -d')' -f2 /proc/$$/stat | cut -d' ' -f18) $(ionice -p $$)" >> '${record}' ;; esac\nexec '${real}' "$@"\n`,
      { mode: 0o755 },
    );
  }
  return bin;
}

interface Watched {
  result: CliResult;
  /** What the CLI process itself ran at, each time it was looked at: every thread's niceness, the main thread's I/O class. */
  cli: Array<{ nices: number[]; io: string }>;
  /** The database and compression children it started, as they ran. */
  children: Array<{ comm: string; nice: number; io: string }>;
}

/** Runs the CLI with `args`, looking at it and at its children every 20 ms while it runs. */
async function watchCli(...args: string[]): Promise<Watched> {
  const run = startCli(['--config', env.cfgFile, '--json', ...args]);
  const pid = run.child.pid as number;
  const cli: Watched['cli'] = [];
  const children = new Map<number, Watched['children'][number]>();
  const look = () => {
    try {
      const tasks = readdirSync(`/proc/${pid}/task`).map(Number);
      cli.push({ nices: tasks.map((t) => niceOf(pid, t)), io: ioClassOf(pid) });
    } catch {
      return; // it has exited
    }
    for (const c of descendantsOf(pid)) {
      if (children.has(c.pid) || !['pg_dump', 'pg_restore', 'psql', 'zstd'].includes(c.comm)) continue;
      // `pg_dump --version` asks for the tool string; an empty argv is a child already gone.
      const argv = cmdlineOf(c.pid);
      if (!argv.length || argv.includes('--version')) continue;
      try {
        children.set(c.pid, { comm: c.comm, nice: niceOf(c.pid), io: ioClassOf(c.pid) });
      } catch {
        /* ended between the listing and the look */
      }
    }
  };
  const timer = setInterval(look, 20);
  const result = await run.done;
  clearInterval(timer);
  return { result, cli, children: [...children.values()] };
}

test('an online backup runs under backup.budget, the CLI process included; a restore runs at full speed', async () => {
  const ours = { nice: niceOf(process.pid), io: ioClassOf(process.pid) };
  // A read cap slow enough for the dump to be seen running, far above what the test data needs.
  const dumpRecord = path.join(env.root, 'pg-dump-priority');
  await env.writeConfig({
    backup: { budget: { nice: 6, ioClass: 'best-effort', ioLevel: 5, readMBps: 0.5 } },
    database: { adminUrl: env.db.adminUrl(env.sb.dbName), pgBinDir: await recordingPgBin(dumpRecord, ['pg_dump']) },
  });
  try {
    const b = await watchCli('backup', '--mode', 'online');
    expect(b.result.code).toBe(0);
    const log = b.result.events.filter((e) => e.type === 'log').map((e) => e.message as string);
    expect(log).toContain('online backup budget: niceness 6, I/O class best-effort 5, reads at most 0.5 MB/s');
    // Once its preflight has run, every thread of the CLI process is lowered (the API-less CLI may be).
    expect(b.cli.some((l) => l.nices.every((n) => n === 6) && l.io === 'best-effort: prio 5')).toBe(true);
    const dumps = (await readFile(dumpRecord, 'utf8')).trim().split('\n');
    expect(dumps.length).toBeGreaterThan(0);
    for (const line of dumps) expect(line).toBe('pg_dump 6 best-effort: prio 5');
    for (const c of b.children) expect(c).toEqual({ comm: c.comm, nice: 6, io: 'best-effort: prio 5' });

    const url = env.db.adminUrl('mm_budget_check');
    const urlFile = path.join(env.root, 'budget-url');
    await writeFile(urlFile, url, { mode: 0o600 });
    // pg_restore notes the niceness and I/O class it starts with: the sampler below can miss a
    // child that short on a loaded machine (CI did), this record cannot.
    const restoreRecord = path.join(env.root, 'pg-restore-priority');
    await env.writeConfig({
      backup: { budget: { nice: 6, ioClass: 'best-effort', ioLevel: 5, readMBps: 0.5 } },
      database: {
        adminUrl: env.db.adminUrl(env.sb.dbName),
        pgBinDir: await recordingPgBin(restoreRecord, ['pg_restore']),
      },
    });
    const r = await watchCli(
      'restore',
      b.result.summary?.snapshot.id,
      '--yes',
      '--install-dir',
      path.join(env.root, 'restored-budget', 'mattermost'),
      '--database-url-file',
      urlFile,
      '--components',
      'database,config',
    );
    expect(r.result.code).toBe(0);
    const started = (await readFile(restoreRecord, 'utf8')).trim().split('\n');
    expect(started.length).toBeGreaterThan(0);
    for (const line of started) expect(line).toBe(`pg_restore ${ours.nice} ${ours.io}`);
    for (const c of r.children) expect(c).toEqual({ comm: c.comm, nice: ours.nice, io: ours.io });
    for (const l of r.cli) expect(l).toEqual({ nices: l.nices.map(() => ours.nice), io: ours.io });
  } finally {
    await env.writeConfig();
  }
});
