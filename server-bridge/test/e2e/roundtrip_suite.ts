/** The round trip both database drivers must pass: offline backup, damage, restore; and onto a new server. */
import { appendFile, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseDsn } from '../../src/database/dsn';
import { query } from '../../src/database/sql_client';
import { describeTree } from '../support/tree_snapshot';
import { tableDigests } from '../support/db_rows';
import { isUp, setupE2E, type E2E } from '../support/e2e_env';

export function roundtripSuite(driver: 'postgres' | 'mysql'): void {
  let env: E2E;
  beforeAll(async () => {
    env = await setupE2E(driver);
  }, 240_000);
  afterAll(async () => {
    await env?.cleanup();
  });

  const posts = () => (driver === 'postgres' ? 'posts' : 'Posts');
  const users = () => (driver === 'postgres' ? 'users' : 'Users');
  // data/testfile: the file-store health check's scratch file, transient like its database row.
  const tree = () => describeTree(env.sb.installDir, ['data/testfile'], { dirMtimes: false });

  let snapshotId = '';
  let treeBefore: Record<string, string>;
  let rowsBefore: Record<string, string>;

  test('offline backup: Mattermost really goes down, comes back healthy, and the snapshot is listed', async () => {
    treeBefore = await tree();
    rowsBefore = await tableDigests(env.sb.dbUrl);
    let sawDown = false;
    const poll = setInterval(() => {
      void isUp(env.url).then((up) => {
        if (!up) sawDown = true;
      });
    }, 100);
    const r = await env.cli('backup');
    clearInterval(poll);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(sawDown).toBe(true);
    expect(await isUp(env.url)).toBe(true);
    const snap = r.summary?.snapshot;
    expect(snap.mode).toBe('offline');
    expect(snap.downtime_ms).toBeGreaterThan(0);
    expect(snap.files_read).toBe(snap.files - 1); // every file read once; the dump is not a file read
    snapshotId = snap.id;
    const list = await env.cli('list');
    expect(list.summary?.snapshots.map((s: { id: string }) => s.id)).toEqual([snapshotId]);
    const show = await env.cli('show', snapshotId);
    const m = show.summary?.manifest;
    const ids = m.components
      .filter((c: { status: string }) => c.status === 'included')
      .map((c: { id: string }) => c.id);
    expect(ids).toEqual(
      expect.arrayContaining(['database', 'config', 'app', 'data', 'plugins', 'client_plugins', 'logs', 'tls']),
    );
    expect(m.mattermost.schemaVersion).toBeGreaterThan(100);
    const dbc = m.components.find((c: { id: string }) => c.id === 'database');
    expect(dbc.database.rowCounts[posts()]).toBe(env.sb.counts[posts()]);
    // No secret in the manifest.
    expect(JSON.stringify(m)).not.toContain(env.sb.dbPassword);
  });

  test('a second backup of the unchanged install reads no file contents again', async () => {
    const r = await env.cli('backup');
    expect(r.code).toBe(0);
    expect(r.summary?.snapshot.files_read).toBe(0);
    // Only the new dump can be new data (identical dumps dedup to nothing).
    const show = await env.cli('show', r.summary?.snapshot.id);
    const trees = show.summary?.manifest.components.filter(
      (c: { database?: unknown; status: string }) => !c.database && c.status === 'included',
    );
    expect(trees.every((c: { newBytes: number }) => c.newBytes === 0)).toBe(true);
  });

  test('restore in place puts back every file and every row after changes and deletions', async () => {
    const target = parseDsn(env.sb.dbUrl);
    await query(
      target,
      `DELETE FROM ${posts()} WHERE id IN (SELECT id FROM (SELECT id FROM ${posts()} ORDER BY id LIMIT 25) x)`,
    );
    await query(target, `UPDATE ${users()} SET username = CONCAT(username, '_changed')`);
    await query(target, 'CREATE TABLE added_after_backup (x int)');
    const dataFiles = Object.keys(treeBefore).filter((p) => p.startsWith('data/') && treeBefore[p]?.startsWith('file'));
    await rm(path.join(env.sb.installDir, dataFiles[0] as string));
    await appendFile(path.join(env.sb.installDir, dataFiles[1] as string), 'corrupted');
    await writeFile(path.join(env.sb.installDir, 'config', 'config.json'), '{"broken": true}');
    await writeFile(path.join(env.sb.installDir, 'data', 'new-upload.bin'), 'added after the backup');
    await rm(path.join(env.sb.installDir, 'plugins'), { recursive: true });

    const r = await env.cli('restore', snapshotId, '--yes');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.summary?.safety_snapshot).toMatch(/^\d{8}T/);
    expect(await isUp(env.url)).toBe(true);
    expect(await tableDigests(env.sb.dbUrl)).toEqual(rowsBefore);
    expect(await tree()).toEqual(treeBefore);
  });

  test('restore onto a new install dir and a new database reproduces the server there', async () => {
    const newInstall = path.join(env.root, 'new-host', 'mattermost');
    const newDb = 'mm_new_host';
    const url = env.db.adminUrl(newDb);
    const r = await env.cli(
      'restore',
      snapshotId,
      '--yes',
      '--install-dir',
      newInstall,
      '--database-url-file',
      await secretFile(env.root, url),
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await tableDigests(url)).toEqual(rowsBefore);
    const strip = (t: Record<string, string>) => {
      const c = { ...t };
      delete c['config/config.json'];
      return c;
    };
    expect(strip(await describeTree(newInstall, ['data/testfile'], { dirMtimes: false }))).toEqual(strip(treeBefore));
    const cfg = JSON.parse(await readFile(path.join(newInstall, 'config', 'config.json'), 'utf8'));
    const pointed = parseDsn(cfg.SqlSettings.DataSource, driver);
    expect(pointed.database).toBe(newDb);
    // The original server was not touched.
    expect(await isUp(env.url)).toBe(true);
  });
}

async function secretFile(dir: string, content: string): Promise<string> {
  const f = path.join(dir, `db-url-${Date.now()}`);
  await writeFile(f, content, { mode: 0o600 });
  return f;
}
