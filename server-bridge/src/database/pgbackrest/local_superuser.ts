/**
 * SQL as the postgres superuser, the way pgBackRest itself connects: psql run as the postgres OS
 * account through the cluster's unix socket (peer authentication on Debian), so no password is
 * needed, stored or passed. Output is read as JSON and checked with zod by the callers.
 */
import { ProcessError } from '../../core/errors';
import { runProcess } from '../../process/run_process';
import { asAccount, type OsAccount } from './postgres_account';

export class LocalSuperuser {
  constructor(
    private readonly psql: string,
    private readonly socketDir: string,
    private readonly port: number,
    private readonly account: OsAccount,
    /** The database connected to (the restore drill reads Mattermost's). */
    private readonly database = 'postgres',
  ) {}

  /** Runs each statement on its own (ALTER SYSTEM refuses a transaction block); returns psql's stdout. */
  async run(statements: string[], signal?: AbortSignal): Promise<string> {
    const args = ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', this.socketDir, '-p', String(this.port)];
    // As a conninfo holding only dbname: a bare name with `=` in it would be read as a conninfo
    // naming another host or port.
    args.push('-U', this.account.name, '-d', `dbname='${this.database.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`);
    for (const s of statements) args.push('-c', s);
    return runProcess(
      this.psql,
      args,
      asAccount(this.account, { signal, env: { PGCONNECT_TIMEOUT: '10', PGAPPNAME: 'mm-backup' } }),
    );
  }

  /** One query whose single value is JSON text. */
  async json(sql: string, signal?: AbortSignal): Promise<unknown> {
    const out = (await this.run([sql], signal)).trim();
    try {
      return JSON.parse(out);
    } catch (err) {
      throw new ProcessError('psql printed something that is not JSON', { cause: err });
    }
  }

  /** Waits until the server accepts a query; false after `timeoutMs`. */
  async waitReady(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.run(['SELECT 1'], signal);
        return true;
      } catch (err) {
        if (signal?.aborted) throw err;
        if (Date.now() > deadline) return false;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
}

/** A SQL string literal in dollar quotes with a tag the value does not contain: no escaping rules to get wrong. */
export function sqlLiteral(value: string): string {
  let tag = 'mmb';
  for (let i = 0; value.includes(`$${tag}$`); i++) tag = `mmb${i}`;
  return `$${tag}$${value}$${tag}$`;
}
