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

test('the row count holds when a rewrite commits after pg_dump has let go of its locks', async () => {
  // pg_dump of small tables ends within milliseconds of onPinned; our count in the same snapshot
  // goes on. Here a lock on `alpha` queued in onPinned holds the count back until a migration
  // has rewritten `zulu` and committed: a count that is not itself locked then sees zulu empty.
  await server.createDatabase('rewrite');
  await server.exec(
    'rewrite',
    `CREATE TABLE aaa_big (id int); INSERT INTO aaa_big SELECT generate_series(1, 300000);
     CREATE TABLE alpha (id int); INSERT INTO alpha VALUES (1);
     CREATE TABLE zulu (id int primary key); INSERT INTO zulu SELECT generate_series(1, 1000)`,
  );
  const dbEngine = engine.withDatabase('rewrite');
  const t = parseDsn(server.adminUrl('rewrite'), 'postgres');
  const connect = async () => {
    const c = new Client({
      host: t.socket ?? t.host,
      port: t.port,
      user: t.user,
      password: t.password,
      database: 'rewrite',
    });
    await c.connect();
    return c;
  };
  const [locker, migrator] = await Promise.all([connect(), connect()]);
  try {
    let sequence: Promise<unknown> | undefined;
    const result = await dbEngine.dump(new PassThrough().resume(), {
      onPinned: () => {
        const locked = locker.query('BEGIN; LOCK TABLE alpha IN ACCESS EXCLUSIVE MODE');
        const migrated = migrator.query('ALTER TABLE zulu ADD COLUMN extra float8 DEFAULT random()');
        sequence = Promise.all([locked, migrated]).then(() => locker.query('COMMIT'));
      },
    });
    await sequence;
    expect(result.rowCounts).toEqual({ aaa_big: 300000, alpha: 1, zulu: 1000 });
    expect((await server.query('rewrite', 'SELECT count(extra)::int AS n FROM zulu'))[0].n).toBe(1000);
  } finally {
    await Promise.all([locker.end(), migrator.end()]);
  }
}, 60_000);

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
