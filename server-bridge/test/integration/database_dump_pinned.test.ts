/**
 * The pinned PostgreSQL dump behind the early restart of offline backups: once `onPinned` has
 * fired, Mattermost may write and even migrate, and the dump still holds the data as it was.
 */
import { PassThrough, Readable } from 'node:stream';
import { Client } from 'pg';
import { openEngine } from '../../src/database/open_engine';
import { parseDsn } from '../../src/database/dsn';
import type { DatabaseEngine } from '../../src/database/engine';
import { startPostgres, type PgServer } from '@mm-backup/testkit';

let server: PgServer;
let engine: DatabaseEngine;

beforeAll(async () => {
  server = await startPostgres({ name: 'pinned' });
  await server.createDatabase('src');
  engine = openEngine(parseDsn(server.adminUrl('src'), 'postgres'));
  await server.exec('src', 'CREATE TABLE alpha (id int primary key, v text); CREATE TABLE beta (id int primary key)');
  await server.exec(
    'src',
    "INSERT INTO alpha SELECT g, 'row ' || g FROM generate_series(1, 5000) g; INSERT INTO beta VALUES (1), (2)",
  );
}, 180_000);
afterAll(async () => {
  await server?.destroy();
});

test('writes and a table-rewriting migration made right after onPinned stay out of the dump', async () => {
  const t = parseDsn(server.adminUrl('src'), 'postgres');
  const app = new Client({
    host: t.socket ?? t.host,
    port: t.port,
    user: t.user,
    password: t.password,
    database: t.database,
  });
  await app.connect();
  try {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    let migration: Promise<unknown> | undefined;
    let inserted: Promise<unknown> | undefined;
    const result = await engine.dump(out, {
      onPinned: () => {
        // What a restarted Mattermost might do at once: write, and run a migration that rewrites
        // a table. A rewrite is not MVCC-safe: had it run before pg_dump locked the table, the
        // dump's older snapshot would see the new copy of alpha as empty.
        inserted = app.query('INSERT INTO beta VALUES (3)');
        migration = app.query('ALTER TABLE alpha ADD COLUMN extra float8 DEFAULT random()');
      },
    });
    expect(inserted).toBeDefined();
    await Promise.all([inserted, migration]);
    expect(result.rowCounts).toEqual({ alpha: 5000, beta: 2 });

    await server.createDatabase('copy');
    const target = engine.withDatabase('copy');
    await target.restore(Readable.from([Buffer.concat(chunks)]), {});
    expect(await target.rowCounts()).toEqual({ alpha: 5000, beta: 2 });
    const columns =
      "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) AS c FROM information_schema.columns WHERE table_name = 'alpha'";
    expect((await server.query('copy', columns))[0].c).toBe('id,v');
    // The live database did get both changes, once the dump had let go of its locks.
    expect((await server.query('src', columns))[0].c).toBe('id,v,extra');
    expect((await server.query('src', 'SELECT count(*)::int AS n FROM beta'))[0].n).toBe(3);
  } finally {
    await app.end();
  }
});

test('a table the dump cannot read fails before the snapshot is pinned, not after', async () => {
  await server.createRole('app', 'app-password');
  await server.exec('src', 'GRANT SELECT ON alpha, beta TO app; CREATE TABLE secret (x int)');
  const appEngine = openEngine({
    ...parseDsn(server.adminUrl('src'), 'postgres'),
    user: 'app',
    password: 'app-password',
  });
  let pinned = false;
  await expect(
    appEngine.dump(new PassThrough().resume(), {
      onPinned: () => {
        pinned = true;
      },
    }),
  ).rejects.toThrow(/permission denied/);
  expect(pinned).toBe(false);
});
