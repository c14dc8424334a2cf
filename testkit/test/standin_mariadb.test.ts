import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ensureStandinBuilt,
  generateSandbox,
  makeTempDir,
  readStandinState,
  removeTempDir,
  runStandinCommand,
  standinCommands,
  standinUrl,
  startMariadb,
  type MariadbServer,
  type Sandbox,
} from '../src';

let my: MariadbServer;
let root: string;
let sb: Sandbox;
let cmds: ReturnType<typeof standinCommands>;

beforeAll(async () => {
  await ensureStandinBuilt();
  my = await startMariadb({ name: 'stmy' });
  root = await makeTempDir('mmtk-stmy');
  // The config lives in the database (MM_CONFIG=mysql://… in the env file); the port comes from it.
  sb = await generateSandbox({ root, db: my, configInDatabase: true });
  cmds = standinCommands(join(root, 'state'), sb.installDir, { writer: true, writerIntervalMs: 10 });
});
afterAll(async () => {
  if (cmds) await runStandinCommand(cmds.stop);
  await my?.destroy();
  if (root) await removeTempDir(root);
});

test('a v10 MySQL install: config read from the database store, legacy DSN, PascalCase tables', async () => {
  const r = await runStandinCommand(cmds.start);
  expect(r.code).toBe(0);
  expect(readStandinState(join(root, 'state'))?.port).toBe(sb.port);
  const url = standinUrl(sb.port);
  const old = await fetch(`${url}/api/v4/config/client?format=old`);
  const cfg = await old.json();
  expect(cfg).toMatchObject({ Version: '10.11.4', SiteName: 'Sandbox (database config)', SiteURL: sb.siteUrl });
  expect(old.headers.get('x-version-id')).toMatch(/^10\.11\.4\.10\.11\.4\.[0-9a-f]{32}\.false$/);
  const noFormat = await fetch(`${url}/api/v4/config/client`);
  expect(noFormat.status).toBe(501); // before v11 format=old was mandatory
  expect((await noFormat.json()).id).toBe('api.config.client.old_format.app_error');
  const ping = await fetch(`${url}/api/v4/system/ping?get_server_status=true&use_rest_semantics=true`);
  expect(await ping.json()).toMatchObject({ status: 'OK', database_status: 'OK', filestore_status: 'OK' });
  expect(readFileSync(join(root, 'state', 'standin.log'), 'utf8')).toContain('config from database mysql');
});

test('writer mode writes FileInfo/Posts rows whose files exist; the file store going away is UNHEALTHY', async () => {
  const count = async () =>
    Number((await my.query('mattermost', "SELECT COUNT(*) AS n FROM Posts WHERE Message LIKE 'Writer post #%'"))[0].n);
  const deadline = Date.now() + 10_000;
  while ((await count()) < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect((await runStandinCommand(cmds.stop)).code).toBe(0);
  const rows = await my.query(
    'mattermost',
    "SELECT f.Path AS path FROM FileInfo f JOIN Posts p ON p.Id = f.PostId WHERE p.Message LIKE 'Writer post #%'",
  );
  expect(rows.length).toBeGreaterThanOrEqual(10);
  for (const r of rows) expect(existsSync(join(sb.dataDir, r.path))).toBe(true);

  // Without the writer, make the file store unwritable: a regular file where the data dir should be.
  const noWriter = standinCommands(join(root, 'state'), sb.installDir);
  const { rename, writeFile, rm } = await import('node:fs/promises');
  await rename(sb.dataDir, `${sb.dataDir}.moved`);
  await writeFile(sb.dataDir, 'not a directory');
  try {
    expect((await runStandinCommand(noWriter.start)).code).toBe(0);
    const res = await fetch(`${standinUrl(sb.port)}/api/v4/system/ping?get_server_status=true`);
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({
      status: 'UNHEALTHY',
      database_status: 'OK',
      filestore_status: 'UNHEALTHY',
    });
  } finally {
    await runStandinCommand(noWriter.stop);
    await rm(sb.dataDir);
    await rename(`${sb.dataDir}.moved`, sb.dataDir);
  }
});
