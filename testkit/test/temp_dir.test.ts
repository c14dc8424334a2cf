import { spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ensureStandinBuilt, freePort, keepTempDir, makeTempDir, pidAlive, removeTempDir } from '../src';

const distKit = join(__dirname, '../dist/index.js');
beforeAll(async () => {
  await ensureStandinBuilt();
});

test('freePort gives a bindable port', async () => {
  const port = await freePort();
  expect(port).toBeGreaterThan(1024);
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', resolve);
  });
  await new Promise((r) => srv.close(r));
});

test('makeTempDir creates a private dir; removeTempDir removes it; keepTempDir keeps it', async () => {
  const d = await makeTempDir('mmtk-unit');
  expect(statSync(d).mode & 0o777).toBe(0o700);
  expect(d).toMatch(/\/mmtk-unit-[A-Za-z0-9]{6}$/);
  await removeTempDir(d);
  expect(existsSync(d)).toBe(false);
  const k = await makeTempDir('mmtk-keep');
  keepTempDir(k);
  await removeTempDir(k);
});

test('temp dirs are removed at process exit', () => {
  const r = spawnSync(
    process.execPath,
    ['-e', `require(${JSON.stringify(distKit)}).makeTempDir('mmtk-exit').then((d) => console.log(d))`],
    { encoding: 'utf8' },
  );
  expect(r.status).toBe(0);
  const dir = r.stdout.trim();
  expect(dir).toMatch(/mmtk-exit-/);
  expect(existsSync(dir)).toBe(false);
});

async function orphanServer(
  kind: 'startPostgres' | 'startMariadb',
  pidFile: string,
  env: NodeJS.ProcessEnv = process.env,
) {
  return orphanOf(
    `require(${JSON.stringify(distKit)}).${kind}({ name: 'orphan' }).then((s) => {
    const pid = require('fs').readFileSync(${pidFile}, 'utf8').split('\\n')[0];
    console.log(JSON.stringify({ pid: Number(pid), dir: s.baseDir }));
    setInterval(() => {}, 1000);
  })`,
    env,
  );
}

async function eventually(check: () => boolean, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  return check();
}

test('a forgotten PostgreSQL server is killed and its dir removed by the in-process hooks on SIGTERM', async () => {
  // Without the reaper, so this really tests the process's own signal/exit hooks.
  const o = await orphanServer('startPostgres', "s.dataDir + '/postmaster.pid'", {
    ...process.env,
    MMTK_NO_REAPER: '1',
  });
  o.child.kill('SIGTERM');
  expect(await o.exited).toBe('SIGTERM');
  expect(pidAlive(o.pid)).toBe(false);
  expect(existsSync(o.dir)).toBe(false);
});

test('after SIGKILL (no hooks can run) the reaper kills a forgotten MariaDB and removes its dir', async () => {
  const o = await orphanServer('startMariadb', "s.baseDir + '/mysqld.pid'");
  o.child.kill('SIGKILL');
  expect(await o.exited).toBe('SIGKILL');
  expect(await eventually(() => !pidAlive(o.pid) && !existsSync(o.dir))).toBe(true);
});

/** Runs `script` (which prints {pid, dir} of what it started, then idles) in a child process. */
async function orphanOf(script: string, env: NodeJS.ProcessEnv = process.env) {
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'], env });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    child.on('exit', (code) => reject(new Error(`child exited early (${code})`)));
  });
  const { pid, dir } = JSON.parse(line) as { pid: number; dir: string };
  expect(pidAlive(pid)).toBe(true);
  const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, sig) => r(sig)));
  return { pid, dir, child, exited };
}

test('after SIGKILL the reaper kills a forgotten s3rver and removes its dir', async () => {
  const o = await orphanOf(`require(${JSON.stringify(distKit)}).startS3Server().then((s) => {
    console.log(JSON.stringify({ pid: s.pid(), dir: require('path').dirname(s.dir) }));
    setInterval(() => {}, 1000);
  })`);
  expect(existsSync(o.dir)).toBe(true);
  o.child.kill('SIGKILL');
  expect(await o.exited).toBe('SIGKILL');
  expect(await eventually(() => !pidAlive(o.pid) && !existsSync(o.dir))).toBe(true);
});

test('after SIGKILL the reaper kills the stand-in its pid file names, the one running then', async () => {
  // A process with a stand-in's command line (the reaper checks it before it signals a pid read
  // from a file): started, then replaced by a second as a restore's service.start would.
  const state = await makeTempDir('reap-standin-');
  const fakeStandin = () =>
    spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', '/kit/dist/standin/main.js', 'run'], {
      stdio: 'ignore',
      detached: true,
    });
  const first = fakeStandin();
  const o = await orphanOf(`const fs = require('fs');
    const kit = require(${JSON.stringify(distKit)});
    kit.reapStandinAtExit(${JSON.stringify(state)});
    console.log(JSON.stringify({ pid: process.pid, dir: '' }));
    setInterval(() => {}, 1000);`);
  first.kill('SIGKILL');
  const second = fakeStandin();
  try {
    writeFileSync(join(state, 'standin.pid'), `${second.pid}\n`);
    const other = fakeStandin(); // not named in the file: left alone
    try {
      o.child.kill('SIGKILL');
      expect(await o.exited).toBe('SIGKILL');
      expect(await eventually(() => !pidAlive(second.pid as number))).toBe(true);
      expect(pidAlive(other.pid as number)).toBe(true);
    } finally {
      other.kill('SIGKILL');
    }
  } finally {
    second.kill('SIGKILL');
    await removeTempDir(state);
  }
});
