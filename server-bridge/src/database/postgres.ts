/**
 * PostgreSQL engine: pg_dump custom format (uncompressed; the caller compresses with zstd, which is
 * faster than pg_dump's own zlib) from an exported snapshot, so row counts match the dump exactly.
 * Restore runs pg_restore's SQL through psql in ONE transaction: a failed restore changes nothing.
 * Into an EMPTY database (a new host) the dump can instead be loaded from a local file by
 * `pg_restore --jobs`; that load is not atomic, so a failed one removes what it created.
 */
import { Client } from 'pg';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { BridgeError, CancelledError } from '../core/errors';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { startProcess, runProcess } from '../process/run_process';
import { StageGroup } from '../process/stage_group';
import type { ProcessBudget } from '../process/budget';
import type { DatabaseEngine, DumpResult, DumpScan, ParallelRestore, RestoreReport } from './engine';
import { describeTarget, type DbTarget } from './dsn';
import { PgCopyCounter } from './dump_scanner';
import { findPgBinDir, pgEnv, pgTool } from './pg_tools';
import { query, queryOne, unreachable } from './sql_client';

/** How the engine runs beyond its target; every field has a default. */
export interface PostgresOptions {
  /** Sessions of a parallel load into an empty database; 1 always loads in one transaction. */
  restoreJobs?: number;
}

/** Sessions of a parallel load when not configured: one per core, at least 2, at most 8. */
export function defaultRestoreJobs(): number {
  // Past 8 the server's disk, not the client, is what limits a load.
  return Math.min(8, Math.max(2, os.availableParallelism()));
}

export class PostgresEngine implements DatabaseEngine {
  private readonly binDir: string | undefined;
  constructor(
    readonly target: DbTarget,
    binDir?: string,
    private readonly options: PostgresOptions = {},
  ) {
    this.binDir = findPgBinDir(binDir);
  }

  withDatabase(name: string): PostgresEngine {
    return new PostgresEngine({ ...this.target, database: name }, this.binDir, this.options);
  }

  async serverVersion(): Promise<string> {
    const row = await queryOne(this.target, 'SHOW server_version');
    return typeof row?.server_version === 'string' ? row.server_version : 'unknown';
  }

  async toolVersion(): Promise<string> {
    return (await runProcess(pgTool(this.binDir, 'pg_dump'), ['--version'])).trim();
  }

  async sizeBytes(): Promise<number> {
    const row = await queryOne(this.target, 'SELECT pg_database_size(current_database())::bigint AS size');
    return Number(row?.size ?? 0);
  }

  async schemaVersion(): Promise<number | undefined> {
    const exists = await queryOne(this.target, "SELECT to_regclass('public.db_migrations') IS NOT NULL AS ok");
    if (!exists?.ok) return undefined;
    const row = await queryOne(this.target, 'SELECT max(version)::bigint AS v FROM public.db_migrations');
    return row?.v == null ? undefined : Number(row.v);
  }

  async rowCounts(): Promise<Record<string, number>> {
    const client = await this.connect();
    try {
      return await countRows(client, await listTables(client));
    } finally {
      await client.end();
    }
  }

  async dump(
    out: Writable,
    opts: { signal?: AbortSignal; tables?: string[]; onPinned?: () => void; budget?: ProcessBudget },
  ): Promise<DumpResult> {
    const client = await this.connect();
    let ending: Promise<void> | undefined;
    let stopListening: (() => void) | undefined;
    try {
      // The exported snapshot pins what pg_dump sees; counting rows inside the same transaction
      // gives counts that match the dump even while Mattermost keeps writing (online mode).
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const all = await listTables(client);
      const tables = opts.tables ? all.filter((t) => opts.tables?.includes(t)) : all;
      const snap = (await client.query('SELECT pg_export_snapshot() AS s')).rows[0] as { s: string };
      const args = ['--format=custom', '--compress=0', `--snapshot=${snap.s}`, '--no-password'];
      for (const t of opts.tables ?? []) args.push(`--table=public.${quoteIdent(t)}`);
      // A name of its own lets us see which locks are pg_dump's (see waitForDumpLocks).
      const appName = `mm-backup-dump-${randomBytes(6).toString('hex')}`;
      // pg_dump, the copy of its output and our counting run as one group: if one fails the others
      // stop, so pg_dump never stays blocked on a pipe nobody reads and this session always ends.
      const group = new StageGroup(opts.signal);
      // Counting a big table can take minutes: a torn-down dump ends our session at once instead.
      // Closing the connection is not enough: a backend waiting on a lock does not notice that its
      // client went away until it gets the lock, so it is terminated from another session too.
      const onAbort = (): void => {
        ending = this.terminate(client);
      };
      group.signal.addEventListener('abort', onAbort, { once: true });
      // The job's signal outlives the dump (it aborts when the job ends): once the dump has
      // settled, its end must not open a session to terminate one that is already closed.
      stopListening = () => group.signal.removeEventListener('abort', onAbort);
      const proc = startProcess(pgTool(this.binDir, 'pg_dump'), args, {
        env: { ...pgEnv(this.target), PGAPPNAME: appName },
        signal: group.signal,
        stdout: 'pipe',
        budget: opts.budget,
      });
      const piped = pipeline(proc.stdout as Readable, out, { end: true });
      const counted = (async () => {
        if (opts.onPinned) {
          // Pinned means: snapshot exported AND pg_dump holding its table locks, so that a schema
          // change can only wait for the dump. (Taking those locks here first would not do: see
          // waitForDumpLocks.) A dump that ends or fails before that settles it either way.
          const ended = new AbortController();
          proc.done.finally(() => ended.abort()).catch(() => undefined);
          await Promise.race([
            this.waitForDumpLocks(client, appName, tables, AbortSignal.any([ended.signal, group.signal])),
            proc.done,
          ]);
          // Our count must be as safe as the dump: pg_dump lets go of its locks when it ends, and a
          // rewrite committed then would show our older snapshot an empty table. Nothing can be
          // queued on these tables yet (Mattermost starts only at onPinned), so this never waits.
          if (tables.length) await client.query(`LOCK TABLE ${tables.map(qualify).join(', ')} IN ACCESS SHARE MODE`);
          opts.onPinned();
        }
        return countRows(client, tables);
      })().catch((err: unknown) => {
        // Our own teardown ended the session under the count ("Connection terminated"): that is
        // a consequence of another stage's failure (the disk filling up), never the cause.
        if (group.signal.aborted) throw new CancelledError('row count stopped by the teardown', { cause: err });
        throw err;
      });
      const [rowCounts] = await group.all([counted, piped, proc.done]);
      await client.query('COMMIT');
      return { rowCounts, format: 'pg_custom', tool: await this.toolVersion() };
    } finally {
      stopListening?.();
      await client.end().catch(() => undefined);
      await ending;
    }
  }

  /**
   * Ends `client`'s session for certain: closes the connection and terminates its backend from a
   * short session of our own, then waits (at most 5 s) until the server no longer lists it.
   */
  private async terminate(client: Client): Promise<void> {
    const pid = (client as unknown as { processID?: number | null }).processID;
    await client.end().catch(() => undefined);
    if (!pid) return;
    try {
      await queryOne(this.target, 'SELECT pg_terminate_backend($1)', [pid]);
      for (let i = 0; i < 50; i++) {
        const row = await queryOne(this.target, 'SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1', [
          pid,
        ]);
        if (!row?.n) return;
        await new Promise((r) => setTimeout(r, 100));
      }
    } catch {
      /* the server is gone or refuses: nothing of ours is left to end there */
    }
  }

  async restore(input: Readable, opts: { signal?: AbortSignal; tables?: string[] }): Promise<RestoreReport> {
    const env = pgEnv(this.target);
    // If pg_restore or psql fails, the other is stopped too: a killed pg_restore must not leave
    // psql waiting for more script, nor a dead psql leave pg_restore blocked writing to it.
    const group = new StageGroup(opts.signal);
    const restore = startProcess(pgTool(this.binDir, 'pg_restore'), ['--no-owner', '--no-privileges', '--file=-'], {
      env,
      signal: group.signal,
      stdin: input,
      stdout: 'pipe',
    });
    // COMMIT is appended only once pg_restore has read the whole dump successfully: a truncated or
    // corrupt dump ends the script without it, and psql's session rolls everything back.
    const script = group.track(new PassThrough());
    script.write(`BEGIN;\n${opts.tables ? dropTablesSql(opts.tables) : DROP_ALL_SQL}`);
    (restore.stdout as Readable).pipe(script, { end: false });
    const psql = startProcess(
      pgTool(this.binDir, 'psql'),
      ['-X', '-q', '--no-password', '-v', 'ON_ERROR_STOP=1', '--file=-'],
      {
        env,
        signal: group.signal,
        stdin: script,
        stdout: 'ignore',
      },
    );
    // COMMIT goes after the last byte pg_restore wrote: its exit alone does not say that output
    // has passed through to `script` yet, the end of its stdout stream does.
    const drained = finished(restore.stdout as Readable);
    // pg_restore's own failure is the one to report: its stdout ending early only follows from it.
    const fed = Promise.allSettled([restore.done, drained]).then(([exited, ended]) => {
      const failed = [exited, ended].find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (!failed) {
        script.end('COMMIT;\n');
        return;
      }
      script.end();
      throw failed.reason;
    });
    await group.all([fed, psql.done]);
    return {};
  }

  /**
   * Offered when the database is empty: no schema besides public and the system ones, and in
   * public no table, view, sequence, foreign table, routine or type, nor any large object, except
   * what an extension owns. Exactly that is what undoParallelLoad removes, so a failed load leaves
   * the database as it found it. Mattermost's own database (in place) is never empty.
   */
  async parallelRestore(): Promise<ParallelRestore | undefined> {
    const jobs = this.options.restoreJobs ?? defaultRestoreJobs();
    if (jobs < 2) return undefined;
    if ((await this.ownObjects()).length) return undefined;
    return { jobs, restoreFile: (file, opts) => this.loadInParallel(file, jobs, opts) };
  }

  /** Up to 5 objects of the database that make it not empty (see parallelRestore), for messages. */
  async ownObjects(): Promise<string[]> {
    const rows = await query(this.target, `SELECT what FROM (${OWN_OBJECTS}) o ORDER BY ord, what LIMIT 5`);
    return rows.map((r) => String(r.what));
  }

  private async loadInParallel(file: string, jobs: number, opts: { signal?: AbortSignal }): Promise<RestoreReport> {
    // A child started after the abort would not hear of it: it would load everything, then be undone.
    if (opts.signal?.aborted) throw new CancelledError('the restore was cancelled before pg_restore started');
    // Extensions the dump creates are the load's own; those already there are not ours to drop.
    const extensionsBefore = (await query(this.target, 'SELECT extname FROM pg_extension')).map((r) =>
      String(r.extname),
    );
    // A name of its own lets the undo find the load's sessions: killing pg_restore does not stop a
    // CREATE INDEX its session is running, and DROP would wait for it.
    const appName = `mm-backup-restore-${randomBytes(6).toString('hex')}`;
    // --dbname is a conninfo naming only the database (not secret): host, user and password come
    // from the environment like for every other tool; a bare name with "=" would be read as conninfo.
    const args = [
      '--no-owner',
      '--no-privileges',
      '--exit-on-error',
      `--jobs=${jobs}`,
      `--dbname=dbname=${conninfoValue(this.target.database)}`,
      file,
    ];
    try {
      await startProcess(pgTool(this.binDir, 'pg_restore'), args, {
        env: { ...pgEnv(this.target), PGAPPNAME: appName },
        signal: opts.signal,
        stdout: 'ignore',
      }).done;
      return {};
    } catch (err) {
      throw await this.undoParallelLoad(err, appName, extensionsBefore);
    }
  }

  /**
   * Removes what a failed parallel load created and returns the error to throw: the load's own
   * (a cancellation stays one) when the database is empty again, else one that says it is not.
   */
  private async undoParallelLoad(failure: unknown, appName: string, extensionsBefore: string[]): Promise<unknown> {
    const db = describeTarget(this.target);
    let left: string[];
    try {
      await this.endSessions(appName);
      const client = await this.connect();
      try {
        await client.query('BEGIN');
        const ext = await client.query('SELECT extname FROM pg_extension WHERE NOT (extname = ANY($1::text[]))', [
          extensionsBefore,
        ]);
        for (const r of ext.rows as Array<{ extname: string }>) {
          await client.query(`DROP EXTENSION IF EXISTS ${quoteIdent(r.extname)} CASCADE`);
        }
        await client.query(UNDO_SQL);
        await client.query('COMMIT');
      } finally {
        await client.end().catch(() => undefined);
      }
      left = await this.ownObjects();
    } catch (err) {
      return new BridgeError(
        'PROCESS_FAILED',
        `${errorMessage(failure)}; removing what the parallel load had created failed too (${errorMessage(err)}): ${db} holds part of the dump`,
        { cause: failure, hint: `drop and recreate the database ${this.target.database} (empty), then restore again` },
      );
    }
    if (left.length) {
      return new BridgeError(
        'PROCESS_FAILED',
        `${errorMessage(failure)}; after removing what the parallel load had created, ${db} still holds ${left.join(', ')}`,
        { cause: failure, hint: `drop and recreate the database ${this.target.database} (empty), then restore again` },
      );
    }
    if (failure instanceof BridgeError && failure.code === 'CANCELLED') return failure;
    return new BridgeError(
      failure instanceof BridgeError ? failure.code : 'PROCESS_FAILED',
      `${errorMessage(failure)}; the parallel load was undone and ${db} is empty again`,
      { cause: failure, hint: failure instanceof BridgeError ? failure.hint : undefined },
    );
  }

  /** Ends the sessions named `appName` (a killed client's server sessions may still be working). */
  private async endSessions(appName: string): Promise<void> {
    const sql = `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`;
    for (let attempt = 0; attempt < 300; attempt++) {
      const row = await queryOne(this.target, sql, [appName]);
      if (!row || row.n === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new BridgeError('PROCESS_FAILED', `the sessions of the parallel load (${appName}) did not end within 30 s`);
  }

  async scanDump(input: Readable, opts: { signal?: AbortSignal }): Promise<DumpScan> {
    const counter = new PgCopyCounter();
    const group = new StageGroup(opts.signal);
    const proc = startProcess(pgTool(this.binDir, 'pg_restore'), ['--file=-'], {
      signal: group.signal,
      stdin: input,
      stdout: 'pipe',
    });
    try {
      await group.all([pipeline(proc.stdout as Readable, counter), proc.done]);
      return { rowCounts: counter.rowCounts, problems: [] };
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      return { rowCounts: counter.rowCounts, problems: [`pg_restore cannot read the dump: ${(err as Error).message}`] };
    }
  }

  async databaseExists(): Promise<boolean> {
    const admin = { ...this.target, database: 'postgres' };
    const row = await queryOne(admin, 'SELECT 1 AS ok FROM pg_database WHERE datname = $1', [this.target.database]);
    return !!row;
  }

  async createDatabase(name: string): Promise<void> {
    await query({ ...this.target, database: this.target.database }, `CREATE DATABASE ${quoteIdent(name)}`);
  }

  async dropDatabase(name: string): Promise<void> {
    // A session of a just-killed psql may take a moment to end on the server, and DROP refuses
    // while it lasts ("being accessed by other users"); WITH (FORCE) would need PostgreSQL 13.
    for (let attempt = 1; ; attempt++) {
      try {
        await query({ ...this.target, database: this.target.database }, `DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
        return;
      } catch (err) {
        if (attempt >= 50 || !/is being accessed by other users/.test((err as Error).message)) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /**
   * Resolves once pg_dump holds its own lock on every table it dumps (or `stop` is aborted).
   * Until then Mattermost must not start: a migration that rewrites a table before pg_dump locks
   * it leaves the dump's older snapshot an empty table. Had we locked the tables ourselves, that
   * migration's queued ACCESS EXCLUSIVE would queue pg_dump's ACCESS SHARE behind it: deadlock.
   */
  private async waitForDumpLocks(client: Client, appName: string, tables: string[], stop: AbortSignal): Promise<void> {
    // Tables that belong to an extension are not dumped, so pg_dump never locks them.
    const res = await client.query(
      `SELECT array_agg(c.oid) AS oids FROM unnest($1::text[]) AS t(name) JOIN pg_class c ON c.oid = t.name::regclass
       WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`,
      [tables.map(qualify)],
    );
    const oids = (res.rows[0] as { oids: number[] | null }).oids ?? [];
    if (!oids.length) return;
    // Another session: pg_stat_activity is read once per transaction, and ours stays open.
    const watcher = await this.connect();
    try {
      while (!stop.aborted) {
        const r = await watcher.query(
          `SELECT count(DISTINCT l.relation)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
           WHERE a.application_name = $1 AND l.locktype = 'relation' AND l.granted AND l.relation = ANY($2::oid[])`,
          [appName, oids],
        );
        if ((r.rows[0] as { n: number }).n >= oids.length) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await watcher.end().catch(() => undefined);
    }
  }

  private async connect(): Promise<Client> {
    const t = this.target;
    // Named, like every session of ours, so an admin (and the tests) can tell them apart.
    const client = new Client({
      host: t.socket ?? t.host,
      port: t.port,
      user: t.user,
      password: t.password,
      database: t.database,
      connectionTimeoutMillis: 10000,
      application_name: 'mm-backup',
    });
    // A server that ends an idle session emits 'error' on the client; unhandled, it would end the process.
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (err) {
      const down = unreachable(t, err);
      if (down) throw down;
      throw new BridgeError('PROCESS_FAILED', `cannot connect to ${describeTarget(t)}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return client;
  }
}

async function listTables(client: Client): Promise<string[]> {
  // pg_catalog, not information_schema: the latter hides tables this user may not read, which
  // pg_dump would then fail on after the snapshot was pinned instead of while Mattermost is stopped.
  const res = await client.query(
    `SELECT n.nspname AS table_schema, c.relname AS table_name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r','p') AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg\\_%'
     ORDER BY 1, 2`,
  );
  return (res.rows as Array<{ table_schema: string; table_name: string }>).map((r) =>
    r.table_schema === 'public' ? r.table_name : `${r.table_schema}.${r.table_name}`,
  );
}

async function countRows(client: Client, tables: string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const t of tables) {
    const res = await client.query(`SELECT count(*)::bigint AS n FROM ${qualify(t)}`);
    counts[t] = Number((res.rows[0] as { n: string }).n);
  }
  return counts;
}

/** A listTables() name as SQL: "schema"."table", public when unqualified. */
function qualify(t: string): string {
  return t.includes('.') ? t.split('.').map(quoteIdent).join('.') : `public.${quoteIdent(t)}`;
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function dropTablesSql(tables: string[]): string {
  return tables.map((t) => `DROP TABLE IF EXISTS public.${quoteIdent(t)} CASCADE;\n`).join('');
}

// Empties the database before the dump's objects are recreated, so tables added after the
// backup (newer migrations, plugins) do not survive the restore. Runs inside psql's transaction.
const DROP_ALL_SQL = `
DO $mmbackup$
DECLARE r record;
BEGIN
  FOR r IN SELECT nspname FROM pg_namespace
           WHERE nspname NOT IN ('public','information_schema') AND nspname NOT LIKE 'pg\\_%'
             AND nspowner = (SELECT oid FROM pg_roles WHERE rolname = current_user) LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', r.nspname);
  END LOOP;
  FOR r IN SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind IN ('r','p','v','m','S','f') LOOP
    EXECUTE format('DROP %s IF EXISTS public.%I CASCADE',
      CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                     WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, r.relname);
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS sig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           LEFT JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
           WHERE n.nspname = 'public' AND d.objid IS NULL LOOP
    EXECUTE format('DROP ROUTINE IF EXISTS %s CASCADE', r.sig);
  END LOOP;
  FOR r IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
           LEFT JOIN pg_depend d ON d.objid = t.oid AND d.deptype = 'e'
           WHERE n.nspname = 'public' AND t.typtype IN ('e','d','c','r') AND d.objid IS NULL
             AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c') LOOP
    EXECUTE format('DROP TYPE IF EXISTS public.%I CASCADE', r.typname);
  END LOOP;
END
$mmbackup$;
`;

/** A libpq conninfo value, quoted: backslash and single quote escaped by a backslash. */
function conninfoValue(v: string): string {
  return `'${v.replace(/[\\']/g, '\\$&')}'`;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** `NOT EXISTS` an extension owning the object `oid` of catalog `catalog`. */
function notFromExtension(catalog: string, oid: string): string {
  return `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '${catalog}'::regclass AND d.objid = ${oid} AND d.deptype = 'e')`;
}

// Everything that makes a database not empty (see parallelRestore), each with the statement that
// removes it: one list, so the emptiness rule and the undo of a failed parallel load cannot drift.
// A restore with --no-owner creates all of it as the restoring user, who may therefore drop it.
const OWN_OBJECTS = `
  SELECT 1 AS ord, 'schema ' || quote_ident(n.nspname) AS what, format('DROP SCHEMA IF EXISTS %I CASCADE', n.nspname) AS undo
    FROM pg_namespace n
   WHERE n.nspname NOT IN ('public', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
     AND ${notFromExtension('pg_namespace', 'n.oid')}
  UNION ALL
  SELECT 2, 'table ' || quote_ident(c.relname),
         format('DROP %s IF EXISTS public.%I CASCADE',
           CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                          WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, c.relname)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND ${notFromExtension('pg_class', 'c.oid')}
  UNION ALL
  SELECT 3, 'routine ' || p.oid::regprocedure::text, format('DROP ROUTINE IF EXISTS %s CASCADE', p.oid::regprocedure)
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
   WHERE n.nspname = 'public' AND ${notFromExtension('pg_proc', 'p.oid')}
  UNION ALL
  SELECT 4, 'type ' || quote_ident(t.typname), format('DROP TYPE IF EXISTS public.%I CASCADE', t.typname)
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
   WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'c', 'r')
     AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
     AND ${notFromExtension('pg_type', 't.oid')}
  UNION ALL
  SELECT 5, 'large object ' || m.oid, format('SELECT lo_unlink(%s)', m.oid) FROM pg_largeobject_metadata m
`;

// Drops, in one statement, every object OWN_OBJECTS lists. The list is read once, up front: what a
// cascade has removed by the time its turn comes is skipped by IF EXISTS.
const UNDO_SQL = `
DO $mmbackup$
DECLARE r record;
BEGIN
  FOR r IN SELECT undo FROM (${OWN_OBJECTS}) o ORDER BY ord LOOP
    EXECUTE r.undo;
  END LOOP;
END
$mmbackup$;
`;
