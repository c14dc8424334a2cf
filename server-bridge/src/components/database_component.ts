/**
 * The database (and a separate config-store database): one consistent dump, zstd-compressed,
 * stored as one object, with row counts per table taken in the dump's own snapshot.
 */
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BridgeError } from '../core/errors';
import type { ComponentRecord, DatabaseInfo } from '../manifest/manifest';
import type { DatabaseEngine, ParallelRestore, RestoreReport } from '../database/engine';
import { isDiskFull } from '../storage/disk_full';
import { describeTarget } from '../database/dsn';
import { DatabaseUnreachableError } from '../database/sql_client';
import { isConsequence, StageGroup } from '../process/stage_group';
import { compressor, decompressor } from './compression';
import { throttled } from '../core/rate_limit';
import type { Repository } from '../repository/repository';
import type { StepContext } from '../jobs/runner';
import type { BackupComponent, BackupContext, ComponentPlan, Estimate, VerifyContext, VerifyIssue } from './component';
import { plural } from '../core/units';

/** A database restore: the engine of the database the dump is loaded into. */
export interface DatabaseRestoreContext {
  repo: Repository;
  step: StepContext;
  engine: DatabaseEngine;
}

export class DatabaseComponent implements BackupComponent {
  constructor(
    readonly plan: ComponentPlan,
    private readonly engine: DatabaseEngine,
    private readonly level: number,
  ) {}

  async estimate(): Promise<Estimate> {
    const bytes = await this.engine.sizeBytes();
    // A compressed dump is far smaller than the live database; its size is a safe upper bound.
    return { files: 1, bytes, changedBytes: bytes };
  }

  async backup(ctx: BackupContext): Promise<ComponentRecord> {
    const t0 = Date.now();
    const total = await this.engine.sizeBytes();
    const serverVersion = await this.engine.serverVersion();
    // Dump → counter → zstd → repository: if any stage fails the others are torn down (pg_dump
    // killed, its session closed), or a full disk would leave pg_dump blocked on a full pipe.
    const group = new StageGroup(ctx.step.signal);
    const budget = ctx.budget;
    const z = compressor(this.level, group.signal, budget?.children);
    group.track(z.input);
    group.track(z.output);
    let seen = 0;
    const counter = group.track(
      new Transform({
        transform(chunk: Buffer, _e, cb) {
          seen += chunk.length;
          ctx.step.progress(seen, total, 'bytes');
          cb(null, chunk);
        },
      }),
    );
    const [dump, stored] = await group.all([
      this.engine.dump(counter, {
        signal: group.signal,
        tables: this.plan.tables,
        onPinned: ctx.onPinned,
        budget: budget?.children,
      }),
      ctx.repo.ingest(z.output, { signal: group.signal }),
      z.proc.done,
      // The database server reads the tables at the pace the dump is consumed: pacing the
      // uncompressed dump is what limits its disk reads (we cannot renice its server process).
      budget?.reads
        ? pipeline(counter, group.track(throttled(budget.reads, group.signal)), z.input)
        : pipeline(counter, z.input),
    ]);
    const database: DatabaseInfo = {
      driver: this.engine.target.driver,
      target: describeTarget(this.engine.target),
      serverVersion,
      tool: dump.tool,
      format: dump.format,
      compression: 'zstd',
      tables: this.plan.tables,
      rowCounts: dump.rowCounts,
      object: stored.sha256,
      size: stored.size,
    };
    const rows = Object.values(dump.rowCounts).reduce((a, b) => a + b, 0);
    ctx.step.log('info', `dumped ${plural(Object.keys(dump.rowCounts).length, 'table')}, ${plural(rows, 'row')}`);
    return {
      id: this.plan.id,
      title: this.plan.title,
      status: 'included',
      exclude: [],
      entries: [],
      database,
      files: 1,
      bytes: stored.size,
      newBytes: stored.isNew ? stored.size : 0,
      filesRead: 0,
      durationMs: Date.now() - t0,
    };
  }
}

/** Replaces the target database's contents with the snapshot's dump, then checks row counts. */
export async function restoreDatabaseRecord(record: ComponentRecord, ctx: DatabaseRestoreContext): Promise<string> {
  const info = record.database as DatabaseInfo;
  const engine = ctx.engine;
  if (engine.target.driver !== info.driver) {
    throw new BridgeError(
      'PRECONDITION_FAILED',
      `the snapshot holds a ${info.driver} dump but the target database is ${engine.target.driver}`,
    );
  }
  const report = await loadDump(engine, ctx, info);
  const issues = compareCounts(record.id, info.rowCounts, await engine.rowCounts(), !info.tables);
  if (issues.length) {
    const seen = report.tablesAfterLoad
      ? ` (right after the load the restoring session saw ${report.tablesAfterLoad.length} of the snapshot's ${plural(Object.keys(info.rowCounts).length, 'table')})`
      : '';
    throw new BridgeError(
      'VERIFICATION_FAILED',
      `the restored database does not match the snapshot: ${issues
        .slice(0, 3)
        .map((i) => i.problem)
        .join('; ')}${seen}`,
    );
  }
  return `${plural(Object.keys(info.rowCounts).length, 'table')} restored into ${describeTarget(engine.target)}`;
}

/** Structure check of the dump (and with `deep`, a real restore into a throwaway database). */
export async function verifyDatabaseRecord(record: ComponentRecord, ctx: VerifyContext): Promise<VerifyIssue[]> {
  const info = record.database as DatabaseInfo;
  const engine = ctx.scratchEngine;
  if (!engine) return [{ component: record.id, problem: 'no database engine available to read the dump' }];
  const group = new StageGroup(ctx.step.signal);
  const z = decompressor(group.track(await ctx.repo.readObject(info.object, { signal: group.signal })), group.signal);
  // zstd's own failure is kept aside: once pg_restore gives up on a bad dump, zstd dies of SIGPIPE,
  // and that is a consequence of the problem the scan reports, not a second one.
  const [scan, unzipError] = await group.all([
    engine.scanDump(z.output, { signal: group.signal }),
    z.proc.done.then(
      () => undefined,
      (err: unknown) => err,
    ),
  ]);
  if (unzipError && (!isConsequence(unzipError) || !scan.problems.length)) {
    throw new BridgeError(
      'VERIFICATION_FAILED',
      `the database dump does not decompress: ${(unzipError as Error).message}`,
      { cause: unzipError },
    );
  }
  const issues: VerifyIssue[] = scan.problems.map((problem) => ({ component: record.id, problem }));
  issues.push(
    ...compareCounts(record.id, info.rowCounts, scan.rowCounts, false).map((i) => ({
      ...i,
      problem: `dump: ${i.problem}`,
    })),
  );
  if (!ctx.deep || issues.length) return issues;

  const scratchName = `${engine.target.database}_mmb_verify_${Date.now().toString(36)}`;
  await engine.createDatabase(scratchName).catch((err: unknown) => {
    // A server that is down is not a missing right: say which, or the hint sends the admin astray.
    if (err instanceof DatabaseUnreachableError) throw err;
    throw new BridgeError(
      'PRECONDITION_FAILED',
      `deep verify could not create a throwaway database: ${err instanceof Error ? err.message : String(err)}`,
      {
        cause: err,
        hint: 'give the database user the right to create databases, or set database.adminUrl (or adminUrlFile) to a DSN that has it',
      },
    );
  });
  try {
    const scratch = engine.withDatabase(scratchName);
    await loadDump(scratch, ctx, info);
    const counts = await scratch.rowCounts();
    issues.push(
      ...compareCounts(record.id, info.rowCounts, counts, !info.tables).map((i) => ({
        ...i,
        problem: `restore drill: ${i.problem}`,
      })),
    );
  } finally {
    await engine.dropDatabase(scratchName);
  }
  return issues;
}

/**
 * Loads the stored dump into `engine`: into an empty database in parallel from a local file when
 * the engine can (see loadFromFile), else streamed through zstd in one transaction.
 */
async function loadDump(
  engine: DatabaseEngine,
  ctx: { repo: Repository; step: StepContext },
  info: DatabaseInfo,
): Promise<RestoreReport> {
  const parallel = await engine.parallelRestore?.();
  if (parallel) {
    const report = await loadFromFile(parallel, ctx, info);
    if (report) return report;
  }
  return streamDump(engine, ctx, info, ctx.step.signal);
}

/**
 * Where the dump file of a parallel load goes: $TMPDIR when set, else /var/tmp, which is on disk
 * where /tmp may be memory (tmpfs, the default on Debian 13) and a dump can be many GB.
 */
function restoreTempRoot(): string {
  if (process.env.TMPDIR) return process.env.TMPDIR;
  return existsSync('/var/tmp') ? '/var/tmp' : os.tmpdir();
}

/**
 * Decompresses the stored dump into a private temp file (0600 in a 0700 dir; its checksum checked
 * once all of it has been read, before the database is touched), then has `parallel` load it. The
 * file is removed whatever happens. Resolves undefined when no file can be made or it does not fit
 * on its disk: nothing was changed then, and the caller streams the dump instead.
 */
async function loadFromFile(
  parallel: ParallelRestore,
  ctx: { repo: Repository; step: StepContext },
  info: DatabaseInfo,
): Promise<RestoreReport | undefined> {
  const signal = ctx.step.signal;
  const root = restoreTempRoot();
  let dir: string;
  try {
    dir = await mkdtemp(path.join(root, 'mm-backup-restore-'));
  } catch (err) {
    ctx.step.log(
      'warn',
      `cannot make a temp dir in ${root} (${(err as Error).message}): loading the dump in one stream`,
    );
    return undefined;
  }
  try {
    const file = path.join(dir, 'database.dump');
    const group = new StageGroup(signal);
    const dump = await ctx.repo.readObjectChecked(info.object, { signal: group.signal });
    const z = decompressor(group.track(dump.stream), group.signal);
    try {
      await group.all([
        pipeline(z.output, createWriteStream(file, { mode: 0o600, flags: 'wx' }), { signal: group.signal }),
        z.proc.done,
      ]);
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      ctx.step.log('warn', `the dump does not fit in ${root} (disk full): loading it in one stream instead`);
      return undefined;
    }
    // Nothing has touched the database yet: a dump swapped since preflight is refused here.
    dump.check();
    ctx.step.log(
      'info',
      `the target database is empty: loading the dump with ${parallel.jobs} parallel sessions from ${file}`,
    );
    return await parallel.restoreFile(file, { signal });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Streams the stored dump through zstd into `engine`; a failure anywhere stops every stage. */
async function streamDump(
  engine: DatabaseEngine,
  ctx: { repo: Repository },
  info: DatabaseInfo,
  signal: AbortSignal,
): Promise<RestoreReport> {
  const group = new StageGroup(signal);
  // The dump is too big to check before it is loaded: a dump swapped since preflight checked it
  // fails the step once read (and the restore is undone from its safety snapshot).
  const dump = await ctx.repo.readObjectChecked(info.object, { signal: group.signal });
  const z = decompressor(group.track(dump.stream), group.signal);
  group.track(z.output);
  const [report] = await group.all([
    engine.restore(z.output, { signal: group.signal, tables: info.tables }),
    z.proc.done,
  ]);
  dump.check();
  return report;
}

function compareCounts(
  component: string,
  expected: Record<string, number>,
  actual: Record<string, number>,
  strict: boolean,
): VerifyIssue[] {
  const issues: VerifyIssue[] = [];
  for (const [table, n] of Object.entries(expected)) {
    const got = actual[table];
    if (got === undefined) {
      issues.push({ component, problem: `table ${table} is missing` });
    } else if (got !== n) {
      issues.push({ component, problem: `table ${table} has ${plural(got, 'row')}, the manifest says ${n}` });
    }
  }
  if (strict) {
    for (const table of Object.keys(actual)) {
      if (!(table in expected)) issues.push({ component, problem: `table ${table} is not in the snapshot` });
    }
  }
  return issues;
}
