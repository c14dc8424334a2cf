/**
 * The database (and a separate config-store database): one consistent dump, zstd-compressed,
 * stored as one object, with row counts per table taken in the dump's own snapshot.
 */
import { Transform } from 'node:stream';
import { BridgeError } from '../core/errors';
import type { ComponentRecord, DatabaseInfo } from '../manifest/manifest';
import type { ComponentPlan } from '../discovery/discover';
import type { DatabaseEngine } from '../database/engine';
import { describeTarget } from '../database/dsn';
import { compressor, decompressor } from './compression';
import type { BackupComponent, BackupContext, Estimate, RestoreContext, VerifyContext, VerifyIssue } from './component';

export class DatabaseComponent implements BackupComponent {
  constructor(readonly plan: ComponentPlan, private readonly engine: DatabaseEngine, private readonly level: number) {}

  async estimate(): Promise<Estimate> {
    const bytes = await this.engine.sizeBytes();
    // A compressed dump is far smaller than the live database; its size is a safe upper bound.
    return { files: 1, bytes, changedBytes: bytes };
  }

  async backup(ctx: BackupContext): Promise<ComponentRecord> {
    const t0 = Date.now();
    const total = await this.engine.sizeBytes();
    const serverVersion = await this.engine.serverVersion();
    const z = compressor(this.level, ctx.step.signal);
    let seen = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _e, cb) {
        seen += chunk.length;
        ctx.step.progress(seen, total, 'bytes');
        cb(null, chunk);
      },
    });
    counter.pipe(z.input);
    const [dump, stored] = await Promise.all([
      this.engine.dump(counter, { signal: ctx.step.signal, tables: this.plan.tables, onPinned: ctx.onPinned }),
      ctx.repo.ingest(z.output, { signal: ctx.step.signal }),
      z.proc.done,
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
    ctx.step.log('info', `dumped ${Object.keys(dump.rowCounts).length} tables, ${rows} rows`);
    return {
      id: this.plan.id, title: this.plan.title, status: 'included', exclude: [], entries: [], database,
      files: 1, bytes: stored.size, newBytes: stored.isNew ? stored.size : 0, filesRead: 0, durationMs: Date.now() - t0,
    };
  }
}

/** Replaces the target database's contents with the snapshot's dump, then checks row counts. */
export async function restoreDatabaseRecord(record: ComponentRecord, ctx: RestoreContext): Promise<string> {
  const info = record.database as DatabaseInfo;
  const engine = ctx.engine as DatabaseEngine;
  if (engine.target.driver !== info.driver) {
    throw new BridgeError('PRECONDITION_FAILED', `the snapshot holds a ${info.driver} dump but the target database is ${engine.target.driver}`);
  }
  const source = await ctx.repo.readObject(info.object, { signal: ctx.step.signal });
  const z = decompressor(source, ctx.step.signal);
  const [report] = await Promise.all([engine.restore(z.output, { signal: ctx.step.signal, tables: info.tables }), z.proc.done]);
  const issues = compareCounts(record.id, info.rowCounts, await engine.rowCounts(), !info.tables);
  if (issues.length) {
    const seen = report.tablesAfterLoad ? ` (right after the load the restoring session saw ${report.tablesAfterLoad.length} of the snapshot's ${Object.keys(info.rowCounts).length} tables)` : '';
    throw new BridgeError('VERIFICATION_FAILED', `the restored database does not match the snapshot: ${issues.slice(0, 3).map((i) => i.problem).join('; ')}${seen}`);
  }
  return `${Object.keys(info.rowCounts).length} tables restored into ${describeTarget(engine.target)}`;
}

/** Structure check of the dump (and with `deep`, a real restore into a throwaway database). */
export async function verifyDatabaseRecord(record: ComponentRecord, ctx: VerifyContext): Promise<VerifyIssue[]> {
  const info = record.database as DatabaseInfo;
  const engine = ctx.scratchEngine;
  if (!engine) return [{ component: record.id, problem: 'no database engine available to read the dump' }];
  const source = await ctx.repo.readObject(info.object, { signal: ctx.step.signal });
  const z = decompressor(source, ctx.step.signal);
  const [scan] = await Promise.all([engine.scanDump(z.output, { signal: ctx.step.signal }), z.proc.done.catch((err: Error) => {
    throw new BridgeError('VERIFICATION_FAILED', `the database dump does not decompress: ${err.message}`, { cause: err });
  })]);
  const issues: VerifyIssue[] = scan.problems.map((problem) => ({ component: record.id, problem }));
  issues.push(...compareCounts(record.id, info.rowCounts, scan.rowCounts, false).map((i) => ({ ...i, problem: `dump: ${i.problem}` })));
  if (!ctx.deep || issues.length) return issues;

  const scratchName = `${engine.target.database}_mmb_verify_${Date.now().toString(36)}`;
  await engine.createDatabase(scratchName).catch((err: Error) => {
    throw new BridgeError('PRECONDITION_FAILED', `deep verify could not create a throwaway database: ${err.message}`, {
      cause: err, hint: 'give the database user the right to create databases, or set database.adminUrl (or adminUrlFile) to a DSN that has it',
    });
  });
  try {
    const scratch = engine.withDatabase(scratchName);
    const again = decompressor(await ctx.repo.readObject(info.object, { signal: ctx.step.signal }), ctx.step.signal);
    await Promise.all([scratch.restore(again.output, { signal: ctx.step.signal, tables: info.tables }), again.proc.done]);
    const counts = await scratch.rowCounts();
    issues.push(...compareCounts(record.id, info.rowCounts, counts, !info.tables).map((i) => ({ ...i, problem: `restore drill: ${i.problem}` })));
  } finally {
    await engine.dropDatabase(scratchName);
  }
  return issues;
}

function compareCounts(component: string, expected: Record<string, number>, actual: Record<string, number>, strict: boolean): VerifyIssue[] {
  const issues: VerifyIssue[] = [];
  for (const [table, n] of Object.entries(expected)) {
    const got = actual[table];
    if (got === undefined) issues.push({ component, problem: `table ${table} is missing` });
    else if (got !== n) issues.push({ component, problem: `table ${table} has ${got} rows, the manifest says ${n}` });
  }
  if (strict) {
    for (const table of Object.keys(actual)) {
      if (!(table in expected)) issues.push({ component, problem: `table ${table} is not in the snapshot` });
    }
  }
  return issues;
}
