/**
 * MySQL/MariaDB engine (Mattermost v10 and older): mysqldump --single-transaction gives one
 * consistent snapshot without locking; row counts come from the dump itself as it streams past.
 */
import { PassThrough, Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BridgeError } from '../core/errors';
import { runProcess, startProcess } from '../process/run_process';
import type { ProcessBudget } from '../process/budget';
import type { DatabaseEngine, DumpResult, DumpScan, RestoreReport } from './engine';
import type { DbTarget } from './dsn';
import { MysqlInsertCounter } from './dump_scanner';
import { StageGroup } from '../process/stage_group';
import { mysqlTool, writeOptionFile } from './mysql_tools';
import { query, queryOne } from './sql_client';

export class MysqlEngine implements DatabaseEngine {
  constructor(readonly target: DbTarget) {}

  withDatabase(name: string): MysqlEngine {
    return new MysqlEngine({ ...this.target, database: name });
  }

  async serverVersion(): Promise<string> {
    const row = await queryOne(this.target, 'SELECT VERSION() AS v');
    return typeof row?.v === 'string' ? row.v : 'unknown';
  }

  async toolVersion(): Promise<string> {
    return (await runProcess(mysqlTool('dump'), ['--version'])).trim();
  }

  async sizeBytes(): Promise<number> {
    const row = await queryOne(
      this.target,
      'SELECT COALESCE(SUM(data_length + index_length), 0) AS size FROM information_schema.tables WHERE table_schema = DATABASE()',
    );
    return Number(row?.size ?? 0);
  }

  async schemaVersion(): Promise<number | undefined> {
    const t = await queryOne(
      this.target,
      "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'db_migrations'",
    );
    if (!t || Number(t.n) === 0) return undefined;
    const row = await queryOne(this.target, 'SELECT MAX(version) AS v FROM db_migrations');
    return row?.v == null ? undefined : Number(row.v);
  }

  async rowCounts(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const t of await this.tables()) {
      const row = await queryOne(this.target, `SELECT COUNT(*) AS n FROM ${quoteIdent(t)}`);
      counts[t] = Number(row?.n ?? 0);
    }
    return counts;
  }

  async dump(
    out: Writable,
    opts: { signal?: AbortSignal; tables?: string[]; budget?: ProcessBudget },
  ): Promise<DumpResult> {
    const opt = await writeOptionFile(this.target);
    try {
      const args = [
        `--defaults-extra-file=${opt.path}`,
        '--single-transaction',
        '--quick',
        '--routines',
        '--triggers',
        '--hex-blob',
        '--default-character-set=utf8mb4',
        '--no-tablespaces',
        '--skip-lock-tables',
        this.target.database,
        ...(opts.tables ?? []),
      ];
      // mysqldump and the copy of its output fail together: neither outlives the other's failure.
      const group = new StageGroup(opts.signal);
      const proc = startProcess(mysqlTool('dump'), args, {
        signal: group.signal,
        stdout: 'pipe',
        budget: opts.budget,
      });
      const counter = new MysqlInsertCounter();
      const tee = new PassThrough();
      tee.pipe(counter);
      await group.all([pipeline(proc.stdout as Readable, tee, out), proc.done]);
      await new Promise<void>((resolve) => (counter.writableFinished ? resolve() : counter.once('finish', resolve)));
      if (!counter.completed) {
        throw new BridgeError('PROCESS_FAILED', 'mysqldump output ended without its "Dump completed" trailer');
      }
      const tables = opts.tables ?? (await this.tables());
      const rowCounts: Record<string, number> = {};
      for (const t of tables) rowCounts[t] = counter.rowCounts[t] ?? 0;
      return { rowCounts, format: 'mysql_sql', tool: await this.toolVersion() };
    } finally {
      await opt.dispose();
    }
  }

  async restore(input: Readable, opts: { signal?: AbortSignal; tables?: string[] }): Promise<RestoreReport> {
    // MySQL DDL commits implicitly, so a restore cannot be one transaction; the caller's safety
    // snapshot is what makes a failed restore reversible.
    const drop = opts.tables ?? (await this.tables());
    if (drop.length) {
      const script = ['SET FOREIGN_KEY_CHECKS=0;', ...drop.map((t) => `DROP TABLE IF EXISTS ${quoteIdent(t)};`)].join(
        '\n',
      );
      await this.runClient(Readable.from([script]), opts.signal);
    }
    // The client exits 0 at end of input whatever that input was, so the dump is followed by a
    // marker query: its answer proves the client executed every statement up to the end.
    const out = await this.runClient(Readable.from(withTrailer(input, END_QUERY)), opts.signal, true);
    const line = out
      .split('\n')
      .reverse()
      .find((l) => l.startsWith(`${END_MARKER}\t`));
    if (line === undefined) {
      throw new BridgeError(
        'PROCESS_FAILED',
        `the ${mysqlTool('client')} client stopped before the end of the dump; the database is only partly restored`,
      );
    }
    const listed = line.split('\t')[1] ?? '';
    return { tablesAfterLoad: listed && listed !== 'NULL' ? listed.split(',') : [] };
  }

  async scanDump(input: Readable, opts: { signal?: AbortSignal }): Promise<DumpScan> {
    const counter = new MysqlInsertCounter();
    await pipeline(input, counter, { signal: opts.signal });
    const problems = counter.completed
      ? []
      : ['the SQL dump is incomplete: it lacks mysqldump\'s "Dump completed" trailer'];
    return { rowCounts: counter.rowCounts, problems };
  }

  async databaseExists(): Promise<boolean> {
    const row = await queryOne(
      { ...this.target, database: '' },
      'SELECT COUNT(*) AS n FROM information_schema.schemata WHERE schema_name = ?',
      [this.target.database],
    );
    return Number(row?.n ?? 0) > 0;
  }

  async createDatabase(name: string): Promise<void> {
    await query(this.target, `CREATE DATABASE ${quoteIdent(name)} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`);
  }

  async dropDatabase(name: string): Promise<void> {
    await query(this.target, `DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
  }

  private async tables(): Promise<string[]> {
    const rows = await query(
      this.target,
      "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY table_name",
    );
    return rows.map((r) => String(r.t));
  }

  private async runClient(input: Readable, signal?: AbortSignal, collect = false): Promise<string> {
    const opt = await writeOptionFile(this.target);
    try {
      const args = [
        `--defaults-extra-file=${opt.path}`,
        '--default-character-set=utf8mb4',
        '--binary-mode',
        '--batch',
        '--skip-column-names',
        this.target.database,
      ];
      const r = await startProcess(mysqlTool('client'), args, {
        signal,
        stdin: input,
        stdout: collect ? 'collect' : 'ignore',
      }).done;
      return r.stdout;
    } finally {
      await opt.dispose();
    }
  }
}

const END_MARKER = 'mm-backup:end-of-dump';
const END_QUERY = `\nSET SESSION group_concat_max_len = 1048576;\nSELECT '${END_MARKER}', (SELECT GROUP_CONCAT(table_name ORDER BY table_name SEPARATOR ',') FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE');\n`;

async function* withTrailer(input: Readable, trailer: string): AsyncGenerator<Buffer> {
  let bytes = 0;
  for await (const chunk of input) {
    bytes += (chunk as Buffer).length;
    yield chunk as Buffer;
  }
  // An empty stream is never a dump; without this the trailer alone would "succeed".
  if (!bytes) throw new BridgeError('PROCESS_FAILED', 'the database dump stream was empty');
  yield Buffer.from(trailer);
}

export function quoteIdent(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}
