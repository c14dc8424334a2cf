/**
 * A restore into an EMPTY PostgreSQL database (a new host) loads the dump from a private temp file
 * with `pg_restore --jobs`; into a database that holds anything (in place) it stays one streamed
 * transaction. A parallel load that fails or is aborted leaves the database empty again and no
 * temp file behind. Real PostgreSQL, real pg_restore/psql/zstd (run through a shim that only records
 * how each was started, then execs the real tool), a real repository.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { Client } from 'pg';
import { startPostgres } from '@mm-backup/testkit';
import { compressor } from '../../src/components/compression';
import { restoreDatabaseRecord } from '../../src/components/database_component';
import { parseDsn } from '../../src/database/dsn';
import { defaultRestoreJobs, PostgresEngine } from '../../src/database/postgres';
import type { ComponentRecord } from '../../src/manifest/manifest';
import { objectKey } from '../../src/repository/layout';
import { Repository } from '../../src/repository/repository';
import { LocalStorage } from '../../src/storage/local_storage';
import { caught } from '../support/caught';

let server: Awaited<ReturnType<typeof startPostgres>>;
let work: string;
let tmp: string;
let bin: string;
let runsLog: string;
let repo: Repository;
let record: ComponentRecord;
let truncated: ComponentRecord;
let swappable: ComponentRecord;
let srcContents: Record<string, string>;
const savedTmpdir = process.env.TMPDIR;

// Every kind of object a Mattermost dump (or a plugin's tables) may hold, plus a schema of its own,
// so both the load and the undo of a failed one meet each kind.
const SOURCE = `
  CREATE SCHEMA extra;
  CREATE TABLE extra.notes (id int PRIMARY KEY, body text);
  CREATE TYPE mood AS ENUM ('ok', 'sad');
  CREATE TABLE users (id int PRIMARY KEY, name text UNIQUE);
  CREATE TABLE posts (id bigserial PRIMARY KEY, userid int REFERENCES users (id), message text, mood mood);
  CREATE INDEX posts_message ON posts (message);
  CREATE VIEW recent AS SELECT * FROM posts WHERE id > 299000;
  CREATE FUNCTION add1(int) RETURNS int LANGUAGE sql AS 'SELECT $1 + 1';
  SELECT lo_from_bytea(0, 'a large object');
  INSERT INTO users SELECT g, 'user' || g FROM generate_series(1, 1000) g;
  INSERT INTO posts (userid, message, mood)
    SELECT 1 + g % 1000, repeat(md5(g::text), 3), CASE WHEN g % 2 = 0 THEN 'ok' ELSE 'sad' END::mood
    FROM generate_series(1, 300000) g;
  INSERT INTO extra.notes SELECT g, md5(g::text) FROM generate_series(1, 500) g;
  DO $$ BEGIN FOR i IN 1..20 LOOP
    EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, v text); INSERT INTO t%s SELECT g, md5(g::text) FROM generate_series(1, 100) g', i, i);
  END LOOP; END $$;
`;

beforeAll(async () => {
  server = await startPostgres({ name: 'pjobs' });
  work = await mkdtemp(path.join(os.tmpdir(), 'pjobs-'));
  await server.createDatabase('src');
  await server.exec('src', SOURCE);
  repo = await Repository.open(await LocalStorage.open(path.join(work, 'repo')));
  const src = new PostgresEngine(parseDsn(server.adminUrl('src'), 'postgres'), server.binDir);
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const dumped = await src.dump(out, {});
  const dump = Buffer.concat(chunks);
  record = await storedRecord(dump, dumped.rowCounts);
  // A dump cut short, stored as is: its checksum is right, so it reaches pg_restore, which fails
  // part-way, after the tables exist (the table of contents is at the head of the file).
  truncated = await storedRecord(dump.subarray(0, Math.floor(dump.length * 0.7)), dumped.rowCounts);
  // The same dump stored a second time (zstd level 3: other bytes), for a test to damage.
  swappable = await storedRecord(dump, dumped.rowCounts, 3);
  srcContents = await contents('src');

  // The shim records how each tool was started (argv, whether the password came in PGPASSWORD,
  // the mode of its last argument when that is a file), then runs the real one.
  bin = path.join(work, 'bin');
  runsLog = path.join(work, 'runs.log');
  await mkdir(bin);
  for (const tool of ['pg_dump', 'pg_restore', 'psql']) {
    await writeFile(
      path.join(bin, tool),
      `#!/bin/sh
for last; do :; done
mode=""; [ -f "$last" ] && mode=$(stat -c %a "$last")
pw=none; [ -n "$PGPASSWORD" ] && pw=env
printf '%s\\t%s\\t%s\\t%s\\n' "${tool}" "$*" "$pw" "$mode" >> "${runsLog}"
exec "${server.binDir}/${tool}" "$@"
`,
      { mode: 0o755 },
    );
  }
  // The temp file of a parallel load goes to $TMPDIR: one of this test's own, to be watched.
  tmp = path.join(work, 'tmp');
  await mkdir(tmp);
  process.env.TMPDIR = tmp;
}, 300_000);

afterAll(async () => {
  if (savedTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmpdir;
  await server?.destroy();
  if (work) await rm(work, { recursive: true, force: true });
});

beforeEach(async () => {
  await writeFile(runsLog, '');
});

async function storedRecord(dump: Buffer, rowCounts: Record<string, number>, level = 1): Promise<ComponentRecord> {
  const z = compressor(level);
  z.input.end(dump);
  const zc: Buffer[] = [];
  for await (const c of z.output) zc.push(c as Buffer);
  await z.proc.done;
  const stored = await repo.ingest(Readable.from([Buffer.concat(zc)]));
  return {
    id: 'database',
    title: 'Database',
    status: 'included',
    exclude: [],
    entries: [],
    files: 1,
    bytes: stored.size,
    newBytes: 0,
    filesRead: 0,
    durationMs: 0,
    database: {
      driver: 'postgres',
      target: 'x',
      serverVersion: '15',
      tool: 'pg_dump',
      format: 'pg_custom',
      compression: 'zstd',
      rowCounts,
      object: stored.sha256,
      size: stored.size,
    },
  };
}

/** Every table's rows (md5 of all rows in order), the sequence, the view, the function, the large objects. */
async function contents(db: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const tables = await server.query(
    db,
    `SELECT format('%I.%I', n.nspname, c.relname) AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'`,
  );
  for (const { t } of tables as Array<{ t: string }>) {
    const [row] = (await server.query(
      db,
      `SELECT count(*) || ' ' || coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') AS d FROM ${t} x`,
    )) as Array<{ d: string }>;
    out[t] = row?.d ?? '';
  }
  const [extra] = (await server.query(
    db,
    `SELECT (SELECT last_value FROM posts_id_seq)::text AS seq, (SELECT count(*) FROM recent)::text AS recent,
            add1(41)::text AS fn, (SELECT string_agg(convert_from(lo_get(oid), 'UTF8'), ',') FROM pg_largeobject_metadata) AS lo`,
  )) as Array<Record<string, string>>;
  return { ...out, ...extra };
}

interface Run {
  tool: string;
  args: string;
  password: string;
  mode: string;
}

async function runs(): Promise<Run[]> {
  return (await readFile(runsLog, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [tool = '', args = '', password = '', mode = ''] = l.split('\t');
      return { tool, args, password, mode };
    });
}

/** How the tools were started, in a stable order (pg_restore and psql of the streamed path start together). */
function started(ran: Run[]): string[] {
  return ran.map((r) => `${r.tool} ${r.args}`).sort();
}

/** The streamed path: pg_restore's script piped into one psql session. */
const STREAMED = [
  'pg_restore --no-owner --no-privileges --file=-',
  expect.stringMatching(/^psql -X -q --no-password -v ON_ERROR_STOP=1 --file=-$/),
];

function engineFor(db: string, restoreJobs?: number): PostgresEngine {
  return new PostgresEngine(parseDsn(server.adminUrl(db), 'postgres'), bin, { restoreJobs });
}

function stepContext(signal = new AbortController().signal): {
  signal: AbortSignal;
  progress: () => void;
  log: (level: string, message: string) => void;
  logs: string[];
} {
  const logs: string[] = [];
  return { signal, progress: () => undefined, log: (level, message) => logs.push(`${level}: ${message}`), logs };
}

async function leftInTmp(): Promise<string[]> {
  return (await readdir(tmp)).filter((n) => n.startsWith('mm-backup-restore-'));
}

async function restoreSessions(): Promise<number> {
  const [row] = (await server.query(
    'postgres',
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE 'mm-backup-restore-%'",
  )) as Array<{ n: number }>;
  return row?.n ?? -1;
}

/** pg_restore processes still alive that read a file under our temp dir. */
function pgRestoresAlive(): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmd.includes('pg_restore') && cmd.includes(tmp)) found.push(`${pid}: ${cmd}`);
    } catch {
      /* gone meanwhile */
    }
  }
  return found;
}

test('into an empty database: pg_restore --jobs from a 0600 temp file, every row restored, the file removed', async () => {
  await server.createDatabase('fresh');
  const engine = engineFor('fresh');
  const step = stepContext();
  // Sessions of the load, sampled while it runs: more than one at a time is a parallel load.
  const watcher = new Client({ connectionString: server.adminUrl('postgres') });
  await watcher.connect();
  let most = 0;
  // Cleared by the finally below, while the loop runs.
  const sampling = { on: true };
  const sampled = (async () => {
    while (sampling.on) {
      const r = await watcher.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE 'mm-backup-restore-%'",
      );
      most = Math.max(most, (r.rows[0] as { n: number }).n);
      await new Promise((res) => setTimeout(res, 5));
    }
  })();
  try {
    await restoreDatabaseRecord(record, { repo, step, engine });
  } finally {
    sampling.on = false;
    await sampled;
    await watcher.end();
  }
  expect(await contents('fresh')).toEqual(srcContents);
  const ran = await runs();
  expect(ran.map((r) => r.tool)).toEqual(['pg_restore']);
  const [load] = ran;
  expect(load?.args).toContain(`--jobs=${defaultRestoreJobs()}`);
  expect(load?.args).toMatch(/--no-owner --no-privileges --exit-on-error .*--dbname=dbname='fresh' \S+database\.dump$/);
  expect(load?.args).toContain(tmp);
  expect(load?.args).not.toContain(server.superuserPassword);
  expect(load?.password).toBe('env');
  expect(load?.mode).toBe('600');
  expect(most).toBeGreaterThanOrEqual(2);
  expect(step.logs.join('\n')).toMatch(/the target database is empty: loading the dump with \d+ parallel sessions/);
  expect(await leftInTmp()).toEqual([]);
  expect(defaultRestoreJobs()).toBeGreaterThanOrEqual(2);
  expect(defaultRestoreJobs()).toBeLessThanOrEqual(8);
}, 180_000);

test('restoreJobs sets the sessions; 1 keeps the single streamed transaction even into an empty database', async () => {
  await server.createDatabase('three');
  await restoreDatabaseRecord(record, { repo, step: stepContext(), engine: engineFor('three', 3) });
  expect((await runs()).map((r) => r.args.match(/--jobs=\d+/)?.[0])).toEqual(['--jobs=3']);
  expect(await contents('three')).toEqual(srcContents);

  await writeFile(runsLog, '');
  await server.createDatabase('one');
  await restoreDatabaseRecord(record, { repo, step: stepContext(), engine: engineFor('one', 1) });
  expect(started(await runs())).toEqual(STREAMED);
  expect(await contents('one')).toEqual(srcContents);
}, 180_000);

test('into a database that holds anything (in place): one transaction, and a dump that breaks changes nothing', async () => {
  await server.createDatabase('live');
  await server.exec('live', "CREATE TABLE leftover (x text); INSERT INTO leftover VALUES ('kept')");
  const engine = engineFor('live');
  expect(await engine.ownObjects()).toEqual(['table leftover']);
  const err = await caught(restoreDatabaseRecord(truncated, { repo, step: stepContext(), engine }));
  expect(err.message).toMatch(/pg_restore/);
  expect(started(await runs())).toEqual(STREAMED);
  // Rolled back whole: the table the restore dropped first is still there, nothing of the dump is.
  expect(await engine.ownObjects()).toEqual(['table leftover']);
  expect(await server.query('live', 'SELECT x FROM leftover')).toEqual([{ x: 'kept' }]);

  // Whole, it replaces the contents (the same path, committed).
  await writeFile(runsLog, '');
  await restoreDatabaseRecord(record, { repo, step: stepContext(), engine });
  expect(started(await runs())).toEqual(STREAMED);
  expect(await contents('live')).toEqual(srcContents);
}, 180_000);

test('a parallel load that fails part-way is undone: the database is empty again, no temp file', async () => {
  await server.createDatabase('broken');
  const engine = engineFor('broken');
  const err = await caught(restoreDatabaseRecord(truncated, { repo, step: stepContext(), engine }));
  expect(err).toMatchObject({ code: 'PROCESS_FAILED' });
  expect(err.message).toMatch(
    /pg_restore failed .*; the parallel load was undone and postgres .*\/broken is empty again/s,
  );
  expect((await runs()).map((r) => r.args.match(/--jobs=\d+/)?.[0])).toEqual([`--jobs=${defaultRestoreJobs()}`]);
  expect(await engine.ownObjects()).toEqual([]);
  expect(await server.query('broken', 'SELECT count(*)::int AS n FROM pg_extension')).toEqual([{ n: 1 }]); // plpgsql
  expect(await leftInTmp()).toEqual([]);
  expect(await restoreSessions()).toBe(0);
  // Empty again means a second attempt is a parallel load again, and succeeds.
  await restoreDatabaseRecord(record, { repo, step: stepContext(), engine });
  expect(await contents('broken')).toEqual(srcContents);
}, 180_000);

test('a dump whose checksum does not match is refused before the database is touched', async () => {
  await server.createDatabase('swapped');
  const engine = engineFor('swapped');
  // The object's file now holds other bytes (a dump cut short) than its name says.
  const file = path.join(work, 'repo', objectKey(swappable.database?.object ?? ''));
  await rm(file);
  await writeFile(file, await readFile(path.join(work, 'repo', objectKey(truncated.database?.object ?? ''))));
  const err = await caught(restoreDatabaseRecord(swappable, { repo, step: stepContext(), engine }));
  expect(err).toMatchObject({ code: 'VERIFICATION_FAILED' });
  expect(err.message).toMatch(/does not match its checksum/);
  expect(await runs()).toEqual([]); // pg_restore never started
  expect(await engine.ownObjects()).toEqual([]);
  expect(await leftInTmp()).toEqual([]);
}, 180_000);

test('a parallel load aborted while it runs: pg_restore killed, the load undone, no temp file, no session', async () => {
  await server.createDatabase('aborted');
  const engine = engineFor('aborted');
  const controller = new AbortController();
  const loading = caught(restoreDatabaseRecord(record, { repo, step: stepContext(controller.signal), engine }));
  // Hold the load deterministically half-way: once pg_restore has created `posts`, take a lock on
  // it; the load's next step on that table (its data, its index, its foreign key) waits for us.
  const holder = new Client({ connectionString: server.adminUrl('aborted') });
  await holder.connect();
  try {
    for (;;) {
      const r = await holder.query("SELECT to_regclass('public.posts') IS NOT NULL AS ok");
      if ((r.rows[0] as { ok: boolean }).ok) break;
      await new Promise((res) => setTimeout(res, 5));
    }
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE posts IN ACCESS EXCLUSIVE MODE');
    const me = (await holder.query('SELECT pg_backend_pid() AS pid')).rows[0] as { pid: number };
    for (;;) {
      const r = await server.query(
        'postgres',
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE 'mm-backup-restore-%' AND $1 = ANY(pg_blocking_pids(pid))",
        [me.pid],
      );
      if ((r[0] as { n: number }).n > 0) break;
      await new Promise((res) => setTimeout(res, 5));
    }
    expect(pgRestoresAlive().length).toBeGreaterThan(0);
    controller.abort();
    await holder.query('ROLLBACK');
  } finally {
    await holder.end();
  }
  const err = await loading;
  expect(err).toMatchObject({ code: 'CANCELLED' });
  expect(pgRestoresAlive()).toEqual([]);
  expect(await restoreSessions()).toBe(0);
  expect(await engine.ownObjects()).toEqual([]);
  expect(await leftInTmp()).toEqual([]);
}, 180_000);

test('no temp dir can be made: the dump is streamed in one transaction instead, with a warning', async () => {
  await server.createDatabase('notmp');
  const step = stepContext();
  process.env.TMPDIR = path.join(work, 'no-such-dir');
  try {
    await restoreDatabaseRecord(record, { repo, step, engine: engineFor('notmp') });
  } finally {
    process.env.TMPDIR = tmp;
  }
  expect(started(await runs())).toEqual(STREAMED);
  expect(step.logs.join('\n')).toMatch(
    /warn: cannot make a temp dir in .*no-such-dir .*loading the dump in one stream/,
  );
  expect(await contents('notmp')).toEqual(srcContents);
}, 180_000);
