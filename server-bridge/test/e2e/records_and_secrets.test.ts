/**
 * What an admin relies on without seeing it: a failed verification is recorded as failed (and so
 * never protects a snapshot from prune), prune keeps the NEWEST verified snapshot, and the
 * database passwords never reach a command line. Real PostgreSQL, the built CLI, real tools:
 * every pg_dump/pg_restore/psql/zstd the CLI starts runs through a shim that records its argv and
 * which secret-bearing variables it got, then execs the real binary; and /proc is sampled for the
 * command line of every process on the machine while the jobs run.
 */
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseDsn } from '../../src/database/dsn';
import { findPgBinDir } from '../../src/database/pg_tools';
import { runCli } from '../support/cli';
import { setupE2E, type E2E } from '../support/e2e_env';
import { corruptObject, putObjectBack } from '../support/object_files';

let env: E2E;
beforeAll(async () => {
  env = await setupE2E('postgres', { size: { posts: 100, attachments: 10, attachmentBytes: 50_000 } });
}, 240_000);
afterAll(async () => {
  await env?.cleanup();
});

const online = { backup: { mode: 'online' } };

async function backupWith(file: string, content: string): Promise<string> {
  await writeFile(path.join(env.sb.installDir, 'data', file), content);
  const b = await env.cli('backup');
  expect(b.code === 0 ? 'exit 0' : b.stderr).toBe('exit 0'); // on failure, shows the output
  return b.summary?.snapshot.id as string;
}

async function verification(id: string): Promise<string> {
  const list = await env.cli('list');
  return list.summary?.snapshots.find((s: { id: string }) => s.id === id)?.verification;
}

/** Flips one byte of the object holding `file` in snapshot `id`; returns the undo. */
async function damage(id: string, file: string): Promise<() => Promise<void>> {
  const m = (await env.cli('show', id)).summary?.manifest;
  const entry = m.components
    .flatMap((c: { entries: Array<{ path: string; sha256?: string }> }) => c.entries)
    .find((e: { path: string }) => e.path.endsWith(file));
  // Its object file, or its slice of a pack (repository.packs).
  const original = await corruptObject(env.repo, entry.sha256, 0);
  return () => putObjectBack(env.repo, entry.sha256, original);
}

test('a failed verification is recorded as failed, replacing an earlier pass', async () => {
  await env.writeConfig(online);
  const id = await backupWith('verify-record.txt', `unique content ${Math.random()}`);
  expect((await env.cli('verify', id)).code).toBe(0);
  expect(await verification(id)).toBe('ok');
  const undo = await damage(id, 'verify-record.txt');
  try {
    const v = await env.cli('verify', id);
    expect(v.code).toBe(4);
    expect(await verification(id)).toBe('FAILED');
    const rec = JSON.parse(await readFile(path.join(env.repo, 'verifications', `${id}.json`), 'utf8'));
    expect(rec).toMatchObject({ snapshotId: id, ok: false });
    expect(rec.issues).toEqual([
      expect.objectContaining({
        path: expect.stringContaining('verify-record.txt'),
        problem: expect.stringContaining('checksum'),
      }),
    ]);
  } finally {
    await undo();
  }
});

test('prune keeps the newest snapshot that passed verification, not an older one, and not one that failed', async () => {
  await env.writeConfig({ ...online, retention: { keepLast: 1, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 } });
  const older = await backupWith('prune-a.txt', `a ${Math.random()}`);
  const newer = await backupWith('prune-b.txt', `b ${Math.random()}`);
  const failed = await backupWith('prune-c.txt', `c ${Math.random()}`);
  const last = await backupWith('prune-d.txt', `d ${Math.random()}`);
  for (const id of [older, newer]) expect((await env.cli('verify', id)).code).toBe(0);
  const undo = await damage(failed, 'prune-c.txt');
  try {
    expect((await env.cli('verify', failed)).code).toBe(4);
  } finally {
    await undo();
  }
  const p = await env.cli('prune');
  expect(p.code).toBe(0);
  const kept = (await env.cli('list')).summary?.snapshots.map((s: { id: string }) => s.id) as string[];
  expect(kept).toContain(newer);
  expect(kept).toContain(last);
  expect(kept).not.toContain(older);
  expect(kept).not.toContain(failed);
});

// --- secrets on command lines -------------------------------------------------------------

const PG_TOOLS = ['pg_dump', 'pg_restore', 'psql', 'zstd'];
const MYSQL_TOOLS = ['mariadb-dump', 'mysqldump', 'mariadb', 'mysql', 'zstd'];
const SECRET_VARS = ['PGPASSWORD', 'PGPASSFILE', 'MYSQL_PWD'];

/**
 * A directory of shims, one per tool found, each writing <log>/<pid>-<tool> (its argv and which
 * secret-bearing variables it got) and exec-ing the real binary. Returns the tools shimmed.
 */
function makeShims(dir: string, logDir: string, tools: string[]): string[] {
  mkdirSync(dir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  const pgBin = findPgBinDir();
  const made: string[] = [];
  for (const tool of tools) {
    const real =
      ['pg_dump', 'pg_restore', 'psql'].includes(tool) && pgBin
        ? path.join(pgBin, tool)
        : spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { encoding: 'utf8' }).stdout.trim();
    if (!real) continue;
    const envChecks = SECRET_VARS.map((v) => `  [ -n "\${${v}:-}" ] && printf 'env %s\\n' ${v}`).join('\n');
    writeFileSync(
      path.join(dir, tool),
      `#!/bin/sh
{
  printf 'tool %s\\n' ${tool}
  for a in "$@"; do printf 'arg %s\\n' "$a"; done
${envChecks}
  true
} > "${logDir}/$$-${tool}"
exec "${real}" "$@"
`,
    );
    chmodSync(path.join(dir, tool), 0o755);
    made.push(tool);
  }
  return made;
}

interface ToolRun {
  tool: string;
  args: string[];
  env: string[];
  text: string;
}

function toolRuns(logDir: string): ToolRun[] {
  return readdirSync(logDir).map((f) => {
    const text = readFileSync(path.join(logDir, f), 'utf8');
    const lines = text.split('\n');
    return {
      tool: lines[0]!.replace(/^tool /, ''),
      args: lines.filter((l) => l.startsWith('arg ')).map((l) => l.slice(4)),
      env: lines.filter((l) => l.startsWith('env ')).map((l) => l.slice(4)),
      text,
    };
  });
}

/** Samples the command line of every process on the machine until stopped. */
function sampleCmdlines(): { stop(): string[] } {
  const seen = new Set<string>();
  const sample = () => {
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        seen.add(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' '));
      } catch {
        /* the process has exited */
      }
    }
  };
  const timer = setInterval(sample, 5);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return [...seen];
    },
  };
}

/** Backs up, deep-verifies and restores with every tool shimmed and /proc sampled; returns what ran. */
async function jobsUnderWatch(
  e: E2E,
  tools: string[],
  opts: { pgBinDir: boolean },
): Promise<{ runs: ToolRun[]; cmdlines: string[]; shimmed: string[] }> {
  const root = path.join(e.root, 'argv-check');
  const shims = path.join(root, 'bin');
  const logs = path.join(root, 'log');
  const shimmed = makeShims(shims, logs, tools);
  await e.writeConfig({
    database: { adminUrl: e.db.adminUrl(e.sb.dbName), ...(opts.pgBinDir ? { pgBinDir: shims } : {}) },
  });
  const cli = (...args: string[]) =>
    runCli(['--config', e.cfgFile, '--json', ...args], { PATH: `${shims}:${process.env.PATH ?? ''}` });
  const sampler = sampleCmdlines();
  let cmdlines: string[];
  try {
    const b = await cli('backup', '--mode', 'offline');
    expect(b.code === 0 ? 'exit 0' : b.stderr).toBe('exit 0'); // on failure, shows the output
    const v = await cli('verify', 'latest', '--deep');
    expect(v.code === 0 ? 'exit 0' : v.stderr).toBe('exit 0'); // on failure, shows the output
    const r = await cli('restore', 'latest', '--yes');
    expect(r.code === 0 ? 'exit 0' : r.stderr).toBe('exit 0'); // on failure, shows the output
  } finally {
    cmdlines = sampler.stop();
  }
  expect(cmdlines.length).toBeGreaterThan(10); // the sampler really ran
  return { runs: toolRuns(logs), cmdlines, shimmed };
}

function expectNoSecretIn(runs: ToolRun[], cmdlines: string[], secrets: string[]): void {
  for (const secret of secrets) {
    expect(secret.length).toBeGreaterThan(3);
    // Named with the secret masked: a failure report must not print it either.
    const mask = (t: string) => t.split(secret).join('<password>');
    expect(runs.filter((r) => r.text.includes(secret)).map((r) => mask(`${r.tool} ${r.args.join(' ')}`))).toEqual([]);
    expect(cmdlines.filter((c) => c.includes(secret)).map(mask)).toEqual([]);
  }
}

test('PostgreSQL: no database password reaches any command line; the tools get it from their environment', async () => {
  const { runs, cmdlines } = await jobsUnderWatch(env, PG_TOOLS, { pgBinDir: true });
  // Every kind of child ran through the shims: the check below saw the real command lines.
  expect(new Set(runs.map((r) => r.tool))).toEqual(new Set(PG_TOOLS));
  expectNoSecretIn(runs, cmdlines, [
    parseDsn(env.sb.dbUrl).password,
    parseDsn(env.db.adminUrl(env.sb.dbName)).password,
  ]);
  // The PostgreSQL tools that connect got the password from their environment.
  const connecting = runs.filter((x) => (x.tool === 'pg_dump' || x.tool === 'psql') && !x.args.includes('--version'));
  expect(connecting.length).toBeGreaterThanOrEqual(3); // the dump, the drill's psql, the restore's psql
  for (const r of connecting) {
    expect({
      tool: r.tool,
      args: r.args,
      secretFrom: r.env.filter((e) => e === 'PGPASSWORD' || e === 'PGPASSFILE'),
    }).toEqual({ tool: r.tool, args: r.args, secretFrom: [expect.any(String)] });
  }
}, 300_000);

describe('MariaDB', () => {
  let menv: E2E;
  beforeAll(async () => {
    menv = await setupE2E('mysql', { size: { posts: 100, attachments: 10, attachmentBytes: 50_000 } });
  }, 240_000);
  afterAll(async () => {
    await menv?.cleanup();
  });

  test('no database password reaches any command line; the clients read it from a defaults file', async () => {
    const { runs, cmdlines, shimmed } = await jobsUnderWatch(menv, MYSQL_TOOLS, { pgBinDir: false });
    const used = new Set(runs.map((r) => r.tool));
    expect(used.has('zstd')).toBe(true);
    const dumps = runs.filter(
      (r) => (r.tool === 'mariadb-dump' || r.tool === 'mysqldump') && !r.args.includes('--version'),
    );
    const clients = runs.filter((r) => (r.tool === 'mariadb' || r.tool === 'mysql') && !r.args.includes('--version'));
    expect({ shimmed, dumps: dumps.length > 0, clients: clients.length > 0 }).toEqual({
      shimmed,
      dumps: true,
      clients: true,
    });
    expectNoSecretIn(runs, cmdlines, [
      parseDsn(menv.sb.dbUrl, 'mysql').password,
      parseDsn(menv.db.adminUrl(menv.sb.dbName), 'mysql').password,
    ]);
    for (const r of [...dumps, ...clients]) {
      expect({
        tool: r.tool,
        secretFrom: r.args.filter((a) => a.startsWith('--defaults-extra-file=') || a.startsWith('--defaults-file='))
          .length,
      }).toEqual({ tool: r.tool, secretFrom: 1 });
    }
  }, 300_000);
});
