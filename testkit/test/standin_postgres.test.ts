import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  ensureStandinBuilt,
  freePort,
  pidAlive,
  generateSandbox,
  makeTempDir,
  removeTempDir,
  runStandinCommand,
  standinCommands,
  standinPid,
  standinUrl,
  standinStateFiles,
  startPostgres,
  type PgServer,
  type Sandbox,
} from '../src';
import { assertNoSpecViolations, standinViolations } from '../src/standin/violations';

let pg: PgServer;
let root: string;
let sb: Sandbox;
let port: number;
let cmds: ReturnType<typeof standinCommands>;
const state = () => join(root, 'standin');

beforeAll(async () => {
  await ensureStandinBuilt();
  pg = await startPostgres({ name: 'stpg' });
  root = await makeTempDir('mmtk-stpg');
  port = await freePort();
  sb = await generateSandbox({ root, db: pg, port });
  cmds = standinCommands(state(), sb.installDir);
});
afterAll(async () => {
  if (cmds) await runStandinCommand(cmds.stop);
  await pg?.destroy();
  if (root) await removeTempDir(root);
});

const ping = (query = '') => fetch(`${standinUrl(port)}/api/v4/system/ping${query}`);

test('start returns once ping answers; ping looks like Mattermost', async () => {
  expect(cmds.start.slice(0, 3)).toEqual([process.execPath, join(__dirname, '../dist/standin/main.js'), 'start']);
  const r = await runStandinCommand(cmds.start);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  // No polling: start is Type=notify-like, so the server must already answer.
  const res = await ping();
  expect(res.status).toBe(200);
  expect(await res.text()).toBe(
    '{"ActiveSearchBackend":"database","AndroidLatestVersion":"","AndroidMinVersion":"","IosLatestVersion":"","IosMinVersion":"","status":"OK"}',
  );
  expect(res.headers.get('x-request-id')).toMatch(/^[a-z0-9]{26}$/);
  expect(res.headers.get('x-version-id')).toMatch(/^11\.2\.0\.11\.2\.0\.[0-9a-f]{32}\.false$/);
  expect(res.headers.get('content-type')).toBe('application/json');
  expect((await runStandinCommand(cmds.status)).code).toBe(0);
  expect((await runStandinCommand(cmds.start)).code).toBe(0); // already running: still success
});

test('a request that breaks the API description is answered 400 and recorded where tests read it', async () => {
  expect(standinViolations(state())).toEqual([]);
  const res = await fetch(`${standinUrl(port)}/api/v4/posts`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ message: 'no channel_id' }),
  });
  expect(res.status).toBe(400);
  const recorded = standinViolations(state());
  expect(recorded).toEqual([
    expect.objectContaining({ method: 'POST', path: '/api/v4/posts', problem: expect.stringContaining('channel_id') }),
  ]);
  expect(() => assertNoSpecViolations(recorded)).toThrow(
    /recorded 1 API-description violations:\n {2}POST \/api\/v4\/posts: request: .*channel_id/,
  );
  rmSync(standinStateFiles(state()).violations); // this one was on purpose
});

test('get_server_status really checks database and file store', async () => {
  const res = await ping('?get_server_status=true');
  expect(res.status).toBe(200);
  const body = await res.json();
  expect(body).toMatchObject({ status: 'OK', database_status: 'OK', filestore_status: 'OK' });
  expect(res.headers.get('database_status')).toBe('OK');
  expect(res.headers.get('filestore_status')).toBe('OK');
  expect(existsSync(join(sb.dataDir, 'testfile'))).toBe(false);
  expect(await pg.query('mattermost', "SELECT * FROM systems WHERE name LIKE 'health_check_%'")).toEqual([]);
});

test('client config and the 404 error body', async () => {
  const cfg = await (await fetch(`${standinUrl(port)}/api/v4/config/client?format=old`)).json();
  expect(cfg).toMatchObject({ Version: '11.2.0', BuildNumber: '11.2.0', SiteURL: sb.siteUrl, SiteName: 'Sandbox' });
  expect(Object.values(cfg).every((v) => typeof v === 'string')).toBe(true);
  expect((await fetch(`${standinUrl(port)}/api/v4/config/client`)).status).toBe(200); // v11: format optional
  const nf = await fetch(`${standinUrl(port)}/api/v4/nope`);
  expect(nf.status).toBe(404);
  const body = await nf.json();
  expect(body).toEqual({
    id: 'api.context.404.app_error',
    message: expect.any(String),
    detailed_error: '',
    request_id: nf.headers.get('x-request-id'),
    status_code: 404,
  });
});

test('database down: UNHEALTHY with 500, or 200 with use_rest_semantics; healthy again after restart', async () => {
  await pg.stop();
  try {
    const res = await ping('?get_server_status=true');
    expect(res.status).toBe(500);
    const body = await res.json();
    expect(body).toMatchObject({ status: 'UNHEALTHY', database_status: 'UNHEALTHY', filestore_status: 'OK' });
    expect(res.headers.get('database_status')).toBe('UNHEALTHY');
    expect(res.headers.get('status')).toBe('UNHEALTHY');
    const rest = await ping('?get_server_status=true&use_rest_semantics=true');
    expect(rest.status).toBe(200);
    expect((await rest.json()).status).toBe('UNHEALTHY');
    expect((await ping()).status).toBe(200); // plain ping does not look at backends
  } finally {
    await pg.start();
  }
  expect((await (await ping('?get_server_status=true')).json()).status).toBe('OK');
});

test('stop: process gone, connection refused, status 3; stop again is fine', async () => {
  const pid = standinPid(state());
  expect(pid).toBeDefined();
  const r = await runStandinCommand(cmds.stop);
  expect(r.code).toBe(0);
  expect(pidAlive(pid!)).toBe(false); // gone (a not-yet-reaped zombie counts as gone)
  await expect(ping()).rejects.toThrow(/fetch failed/);
  await ping().catch((e: unknown) =>
    expect(String(((e as Error).cause as NodeJS.ErrnoException).code)).toBe('ECONNREFUSED'),
  );
  expect((await runStandinCommand(cmds.status)).code).toBe(3);
  expect((await runStandinCommand(cmds.stop)).code).toBe(0);
});

test('start fails (exit 1, log tail on stderr) when the database is down', async () => {
  await pg.stop();
  try {
    const quick = standinCommands(state(), sb.installDir, { dbWaitMs: 500 });
    const r = await runStandinCommand(quick.start);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/startup failed: cannot start: .*ECONNREFUSED/);
    expect(standinPid(state())).toBeUndefined();
  } finally {
    await pg.start();
  }
});

test('writer mode: posts with attachments whose files exist; stops cleanly on SIGTERM', async () => {
  const w = standinCommands(state(), sb.installDir, { writer: true, writerIntervalMs: 10 });
  expect((await runStandinCommand(w.start)).code).toBe(0);
  const count = async () =>
    Number((await pg.query('mattermost', "SELECT count(*) AS n FROM posts WHERE message LIKE 'Writer post #%'"))[0].n);
  const deadline = Date.now() + 10_000;
  while ((await count()) < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  // A database outage only pauses the writer.
  await pg.stop();
  await new Promise((r) => setTimeout(r, 300));
  await pg.start();
  const afterOutage = await count();
  while ((await count()) < afterOutage + 10 && Date.now() < deadline + 10_000) {
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(await count()).toBeGreaterThanOrEqual(afterOutage + 10);
  expect((await runStandinCommand(w.stop)).code).toBe(0);
  const n = await count();
  expect(n).toBeGreaterThanOrEqual(20);
  await new Promise((r) => setTimeout(r, 200));
  expect(await count()).toBe(n); // really stopped
  const files = await pg.query(
    'mattermost',
    `SELECT f.path, f.thumbnailpath, f.previewpath, f.size, p.fileids, f.id
    FROM fileinfo f JOIN posts p ON p.id = f.postid WHERE p.message LIKE 'Writer post #%'`,
  );
  expect(files.length).toBe(n);
  for (const f of files) {
    expect(statSync(join(sb.dataDir, f.path)).size).toBe(Number(f.size));
    expect(existsSync(join(sb.dataDir, f.thumbnailpath))).toBe(true);
    expect(existsSync(join(sb.dataDir, f.previewpath))).toBe(true);
    expect(JSON.parse(f.fileids)).toEqual([f.id]);
  }
});
