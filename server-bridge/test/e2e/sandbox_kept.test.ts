/**
 * `npm run sandbox -- --keep` leaves a live world (tools/src/sandbox): after the demo process has
 * exited, the database, the Mattermost stand-in and the sidecar still run, so the kept config
 * works for `list` and `backup`; `down` stops every process the sandbox started and removes its
 * directories. Real processes throughout: the built demo, the built CLI, PostgreSQL, the stand-in.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { assertNoSpecViolations, pidAlive, standinPid, standinViolations } from '@mm-backup/testkit';
import { runCli } from '../support/cli';

const DEMO = path.resolve(__dirname, '../../../tools/dist/sandbox/demo.js');

interface Kept {
  root: string;
  config: string;
  postgres: { baseDir: string; dataDir: string; port: number };
  standin: { url: string; stateDir: string };
  sidecar: { pid: number; url: string };
}

let tmp: string;
let kept: Kept | undefined;

/** Runs the sandbox tool with its own temp directory, so `down` without arguments sees only this test's sandbox. */
function sandbox(...args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DEMO, ...args], {
      env: { ...process.env, TMPDIR: tmp },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const add = (d: Buffer) => {
      out += d.toString();
    };
    child.stdout.on('data', add);
    child.stderr.on('data', add);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

function postmasterPid(dataDir: string): number | undefined {
  try {
    return Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return undefined;
  }
}

/** Processes whose command line names this test's temp directory (the stand-in, the sidecar, postgres -D). */
async function processesUsing(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(dir) && pidAlive(Number(pid))) found.push(`${pid}: ${cmd.split('\0').join(' ')}`);
  }
  return found;
}

function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sbx-'));
  await chmod(tmp, 0o755); // PostgreSQL runs as its own user when the tests run as root
});

afterAll(async () => {
  // Only if the test failed half-way: take down what is left, then the directory.
  if (kept && existsSync(kept.root)) await sandbox('down', kept.root);
  await rm(tmp, { recursive: true, force: true });
});

test('--keep leaves the database, the stand-in and the sidecar running; list and backup work; down stops them all', async () => {
  const demo = await sandbox('--keep', '--small');
  expect(demo.code === 0 ? 'exit 0' : demo.out.slice(-3000)).toBe('exit 0'); // on failure, shows the output
  const downLine = /npm run sandbox -- down (\S+)/.exec(demo.out);
  expect(downLine).not.toBeNull();
  const root = downLine?.[1] as string;
  kept = JSON.parse(await readFile(path.join(root, 'sandbox.json'), 'utf8')) as Kept;
  expect(kept.root).toBe(root);
  expect(demo.out).toContain(`npx mm-backup --config ${kept.config} list`);
  expect(demo.out).toContain(`npx mm-backup --config ${kept.config} backup`);
  expect(demo.out).toContain(kept.sidecar.url);

  // The demo process has exited: everything it kept still runs.
  const pgPid = postmasterPid(kept.postgres.dataDir) as number;
  const standin = standinPid(kept.standin.stateDir) as number;
  expect([pidAlive(pgPid), pidAlive(standin), pidAlive(kept.sidecar.pid)]).toEqual([true, true, true]);
  expect((await fetch(`${kept.sidecar.url}/healthz`)).status).toBe(200);
  expect((await fetch(`${kept.standin.url}/api/v4/system/ping?get_server_status=true`)).status).toBe(200);

  // The kept config points at that world: list, and an offline backup (stop, copy, start).
  const list = await runCli(['--config', kept.config, '--json', 'list']);
  expect({ code: list.code, stderr: list.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
  const before = (list.summary?.snapshots as unknown[]).length;
  expect(before).toBeGreaterThanOrEqual(2);
  const backup = await runCli(['--config', kept.config, '--json', 'backup']);
  expect({ code: backup.code, stderr: backup.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
  expect(backup.stderr).not.toMatch(/ECONNREFUSED/);
  const after = await runCli(['--config', kept.config, '--json', 'list']);
  expect((after.summary?.snapshots as unknown[]).length).toBe(before + 1);
  expect((await fetch(`${kept.sidecar.url}/healthz`)).status).toBe(200);
  assertNoSpecViolations(standinViolations(kept.standin.stateDir));

  // down without a directory finds the kept sandbox in the temp directory.
  const down = await sandbox('down');
  expect(down.code === 0 ? 'exit 0' : down.out).toBe('exit 0'); // on failure, shows the output
  expect(down.out).toMatch(/sidecar stopped[\s\S]*stand-in stopped[\s\S]*PostgreSQL stopped/);
  expect([pidAlive(pgPid), pidAlive(standin), pidAlive(kept.sidecar.pid)]).toEqual([false, false, false]);
  expect(await processesUsing(tmp)).toEqual([]);
  expect(await readdir(tmp)).toEqual([]);
  const ports = [kept.postgres.port, Number(new URL(kept.sidecar.url).port), Number(new URL(kept.standin.url).port)];
  expect(await Promise.all(ports.map(refusesConnections))).toEqual([true, true, true]);
  expect((await sandbox('down')).out).toContain('no kept sandbox to tear down');
}, 600_000);

test('up keeps a world without the demo; down DIR takes exactly that one down', async () => {
  const up = await sandbox('up', '--small');
  expect(up.code === 0 ? 'exit 0' : up.out.slice(-3000)).toBe('exit 0'); // on failure, shows the output
  const root = /npm run sandbox -- down (\S+)/.exec(up.out)?.[1] as string;
  const state = JSON.parse(await readFile(path.join(root, 'sandbox.json'), 'utf8')) as Kept;
  kept = state;
  expect((await fetch(`${state.sidecar.url}/healthz`)).status).toBe(200);
  const list = await runCli(['--config', state.config, '--json', 'list']);
  expect(list.code).toBe(0);
  expect(list.summary?.snapshots).toEqual([]);

  const down = await sandbox('down', root);
  expect(down.code).toBe(0);
  expect(pidAlive(state.sidecar.pid)).toBe(false);
  expect(await processesUsing(tmp)).toEqual([]);
  expect(await readdir(tmp)).toEqual([]);
}, 300_000);

test('down refuses a directory that is not a kept sandbox, and removes nothing', async () => {
  const r = await sandbox('down', '/etc');
  expect(r.code).toBe(1);
  expect(r.out).toMatch(/the sandbox directory \/etc is not a mm-backup-sandbox-\* directory in .*nothing was removed/);
  expect(existsSync('/etc/hostname') || existsSync('/etc/passwd')).toBe(true);
});
