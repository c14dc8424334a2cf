/** Online mode under concurrent writes: every fileinfo row in the dump has its file in the snapshot. */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { query } from '../../src/database/sql_client';
import { parseDsn } from '../../src/database/dsn';
import { isUp, setupE2E, type E2E } from '../support/e2e_env';

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
