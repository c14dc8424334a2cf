import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';
import { pidAlive, startPostgres, stopPostgresAt, type PgServer } from '../src';

describe('startPostgres', () => {
  let pg: PgServer | undefined;
  afterAll(async () => {
    await pg?.destroy();
  });

  it('starts a cluster on a free port that accepts scram password logins', async () => {
    pg = await startPostgres({ name: 'pgtest' });
    expect(pg.kind).toBe('postgres');
    expect(pg.host).toBe('127.0.0.1');
    expect(pg.port).not.toBe(5432);
    expect(pg.isRunning()).toBe(true);
    const rows = await pg.query('postgres', 'SELECT current_setting($1) AS v', ['fsync']);
    expect(rows[0].v).toBe('off');
    const hba = await pg.query(
      'postgres',
      "SELECT auth_method FROM pg_hba_file_rules WHERE type = 'host' AND database = '{all}'",
    );
    expect(hba.map((r) => r.auth_method)).toContain('scram-sha-256');
    expect(pg.adminUrl('x')).toBe(`postgres://postgres:${pg.superuserPassword}@127.0.0.1:${pg.port}/x?sslmode=disable`);
  });

  it('creates roles and databases, and rejects wrong passwords', async () => {
    const s = pg!;
    await s.createRole('mmuser', 'pw-1', { createdb: true });
    expect(await s.roleExists('mmuser')).toBe(true);
    expect(await s.roleExists('nobody')).toBe(false);
    await s.createDatabase('mattermost', 'mmuser');
    const c = new Client({ host: '127.0.0.1', port: s.port, user: 'mmuser', password: 'pw-1', database: 'mattermost' });
    await c.connect();
    await c.query('CREATE TABLE t (id int primary key, msg text)');
    await c.query("INSERT INTO t VALUES (1, 'héllo 👋')");
    await c.end();
    expect(await s.query('mattermost', 'SELECT msg FROM t')).toEqual([{ msg: 'héllo 👋' }]);
    const owner = await s.query(
      'postgres',
      "SELECT pg_get_userbyid(datdba) AS o FROM pg_database WHERE datname = 'mattermost'",
    );
    expect(owner[0].o).toBe('mmuser');
    const bad = new Client({
      host: '127.0.0.1',
      port: s.port,
      user: 'mmuser',
      password: 'wrong',
      database: 'mattermost',
    });
    await expect(bad.connect()).rejects.toThrow(/password authentication failed/);
    await s.setPassword('mmuser', 'pw-2');
    const good = new Client({
      host: '127.0.0.1',
      port: s.port,
      user: 'mmuser',
      password: 'pw-2',
      database: 'mattermost',
    });
    await good.connect();
    await good.end();
    await s.dropDatabase('mattermost');
    expect(await s.query('postgres', "SELECT 1 FROM pg_database WHERE datname = 'mattermost'")).toEqual([]);
    await s.exec('postgres', 'CREATE DATABASE scratch; ');
    await s.dropDatabase('scratch');
  });

  it('stops (connection refused), starts again on the same port, keeps data', async () => {
    const s = pg!;
    await s.createDatabase('keep');
    await s.exec('keep', 'CREATE TABLE k (v int); INSERT INTO k VALUES (42);');
    const port = s.port;
    await s.stop();
    expect(s.isRunning()).toBe(false);
    await expect(s.query('keep', 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/);
    await s.stop(); // no-op
    await s.start();
    expect(s.port).toBe(port);
    expect(await s.query('keep', 'SELECT v FROM k')).toEqual([{ v: 42 }]);
    expect(s.clientEnv().PGPASSWORD).toBe(s.superuserPassword);
    expect(existsSync(`${s.binDir}/pg_dump`)).toBe(true);
  });

  it('destroy removes the temp dir', async () => {
    const s = pg!;
    const dir = s.baseDir;
    await s.destroy();
    expect(existsSync(dir)).toBe(false);
    await s.destroy(); // idempotent
    pg = undefined;
  });
});

describe('a kept cluster (keep: true)', () => {
  let base: string | undefined;
  afterAll(async () => {
    if (base) await rm(base, { recursive: true, force: true });
  });

  it('outlives the process that started it; stopPostgresAt stops it from another process', async () => {
    // The starting process exits right away: no exit hook and no reaper may take the cluster with it.
    const script = `require(${JSON.stringify(path.join(__dirname, '..', 'dist'))}).startPostgres({ name: 'kept', keep: true }).then((pg) => { process.stdout.write(JSON.stringify({ baseDir: pg.baseDir, dataDir: pg.dataDir, port: pg.port, password: pg.superuserPassword })); process.exit(0); })`;
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 120_000 });
    const kept = JSON.parse(out) as { baseDir: string; dataDir: string; port: number; password: string };
    base = kept.baseDir;
    await new Promise((r) => setTimeout(r, 1500)); // what a reaper would do, it would have done by now
    const c = new Client({ host: '127.0.0.1', port: kept.port, user: 'postgres', password: kept.password });
    await c.connect();
    expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await c.end();
    const pid = Number(readFileSync(path.join(kept.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    expect(pidAlive(pid)).toBe(true);

    expect(await stopPostgresAt(kept.dataDir)).toBe(true);
    expect(pidAlive(pid)).toBe(false);
    expect(await stopPostgresAt(kept.dataDir)).toBe(false); // nothing running any more
    expect(existsSync(kept.dataDir)).toBe(true); // stopping removes nothing
  });
});
