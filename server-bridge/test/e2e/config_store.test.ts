/** MM_CONFIG pointing at a database config store in another database: discovered, backed up, restored. */
import { appendFile, readFile } from 'node:fs/promises';
import { parseDsn } from '../../src/database/dsn';
import { query } from '../../src/database/sql_client';
import { setupE2E, type E2E } from '../support/e2e_env';

let env: E2E;
let configDb: string;
beforeAll(async () => {
  env = await setupE2E('postgres');
  await env.db.createDatabase('mmconfig', env.sb.dbUser);
  const main = parseDsn(env.sb.dbUrl);
  const store = { ...main, database: 'mmconfig' };
  await query(
    store,
    'CREATE TABLE configurations (id varchar(26) PRIMARY KEY, value text NOT NULL, createat bigint, active boolean, sha varchar(64))',
  );
  await query(
    store,
    'CREATE TABLE configurationfiles (name varchar(64) PRIMARY KEY, data text NOT NULL, createat bigint, updateat bigint)',
  );
  await query(store, 'CREATE TABLE db_config_migrations (version bigint PRIMARY KEY, name varchar NOT NULL)');
  const json = await readFile(env.sb.configPath, 'utf8');
  await query(store, "INSERT INTO configurations VALUES ('aaaaaaaaaaaaaaaaaaaaaaaaaa', $1, 1, true, 'x')", [json]);
  await query(store, "INSERT INTO configurationfiles VALUES ('saml-idp.crt', 'CERT', 1, 1)");
  configDb = `postgres://${encodeURIComponent(main.user)}:${encodeURIComponent(main.password)}@${main.host}:${main.port}/mmconfig?sslmode=disable`;
  await appendFile(env.sb.envFilePath as string, `\nMM_CONFIG=${configDb}\n`);
}, 240_000);
afterAll(async () => {
  await env?.cleanup();
});

test('discover reads the config from the database store and plans the config_store component', async () => {
  const r = await env.cli('discover');
  expect(r.code).toBe(0);
  const report = r.summary?.report;
  expect(report.config_source).toMatch(/^database postgres 127\.0\.0\.1:\d+\/mmconfig$/);
  expect(report.components.find((c: { id: string }) => c.id === 'config_store')).toMatchObject({ status: 'included' });
  expect(JSON.stringify(r.summary)).not.toContain(parseDsn(configDb).password);
});

test('the config store is dumped and restored on its own', async () => {
  const b = await env.cli('backup', '--mode', 'online');
  expect(b.code).toBe(0);
  const store = { ...parseDsn(env.sb.dbUrl), database: 'mmconfig' };
  await query(store, "UPDATE configurations SET value = '{}'");
  await query(store, 'DELETE FROM configurationfiles');
  const r = await env.cli('restore', 'latest', '--yes', '--components', 'config_store');
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect((await query(store, 'SELECT value FROM configurations WHERE active'))[0]?.value).toBe(
    await readFile(env.sb.configPath, 'utf8'),
  );
  expect((await query(store, 'SELECT count(*)::int AS n FROM configurationfiles'))[0]?.n).toBe(1);
});
