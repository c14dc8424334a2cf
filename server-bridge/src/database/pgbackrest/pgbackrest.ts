/**
 * Runs pgbackrest as the postgres account with argument arrays and our --config-path only; its
 * secrets are in the 0600 config file, never in argv or the environment.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { PreconditionError, ProcessError } from '../../core/errors';
import { runProcess, type Deadline } from '../../process/run_process';
import { parseInfo, unixSeconds, type StanzaInfo } from './info';
import { asAccount, type OsAccount } from './postgres_account';
import { describeCommand } from './postgres_service';
import { parsePgBackRestVersion, type Version } from './version';

/** Finds the binary: the configured path, else the first `pgbackrest` on PATH; refuses when there is none. */
export function resolvePgBackRest(configured?: string): string {
  const candidates = configured
    ? [configured]
    : (process.env.PATH ?? '/usr/bin:/bin')
        .split(':')
        .filter((d) => d.startsWith('/'))
        .map((d) => path.join(d, 'pgbackrest'));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      if (statSync(c).isFile()) return c;
    } catch {
      // not here
    }
  }
  throw new PreconditionError(
    'PRECONDITION_FAILED',
    configured
      ? `pgBackRest is not installed at ${configured} (pitr.pgbackrestBin)`
      : 'pgBackRest is not installed (no pgbackrest on PATH)',
    { hint: 'install it (apt-get install pgbackrest) on the PostgreSQL host, then run mm-backup pitr enable again' },
  );
}

export type BackupType = 'full' | 'diff' | 'incr';

/** Full backups kept by age: the newest full at least `fullDays` old and everything newer (pgBackRest 2.45 `time`). */
export interface Retention {
  fullDays: number;
}

/**
 * On the command line rather than in pgbackrest.conf, so that pitr.window is read at every run
 * without rewriting the file (and a hand-run `pgbackrest expire` with our config expires nothing).
 */
function retentionArgs(r: Retention): string[] {
  return ['--repo1-retention-full-type=time', `--repo1-retention-full=${r.fullDays}`];
}

/** `2026-12-01 13:31:00.123+00`: a timestamp PostgreSQL reads as recovery_target_time, exactly. */
export function pgTimestamp(d: Date): string {
  return `${d.toISOString().replace('T', ' ').replace('Z', '')}+00`;
}

export type PgBackRestCommand =
  'version' | 'info' | 'stanza-create' | 'check' | 'backup' | 'expire' | 'restore' | 'verify' | 'repo-ls' | 'repo-get';

/**
 * How long each command may take before it is stopped (TimeoutError, code TIMED_OUT). A
 * repository that never answers (a hung mount, a FIFO where a file should be, an S3 endpoint that
 * accepts connections and says nothing) leaves pgBackRest waiting, or retrying for minutes, with
 * no end of its own. Short commands get a fixed time; the ones whose length follows the database
 * (backup, restore, verify, expire) run with detail logging and are stopped only after this long
 * without a line (pgBackRest writes one per file).
 */
export const PGBACKREST_DEADLINES: Record<PgBackRestCommand, { ms: number; idle?: boolean }> = {
  version: { ms: 30_000 },
  // Two small files and a listing of the archive; `pitr status` must not wait longer either.
  info: { ms: 30_000 },
  // check waits for one WAL segment to be archived (pgBackRest's archive-timeout, 60 s).
  'stanza-create': { ms: 300_000 },
  check: { ms: 300_000 },
  backup: { ms: 1_800_000, idle: true },
  expire: { ms: 1_800_000, idle: true },
  restore: { ms: 1_800_000, idle: true },
  verify: { ms: 1_800_000, idle: true },
  // A listing of the archive (names and times: one request per 1000 objects in a bucket), one history file.
  'repo-ls': { ms: 120_000 },
  'repo-get': { ms: 30_000 },
};

/** The commands whose deadline is on silence: they log each file (`detail`) so that progress shows. */
const DETAIL = ['--log-level-console=detail'];

/** One name `repo-ls` listed. */
export interface RepoEntry {
  name: string;
  type: 'file' | 'path' | 'link' | 'special';
  size?: number;
  /** Unix seconds (files only). */
  time?: number;
}

const repoLsSchema = z.record(
  z.string(),
  z.object({
    type: z.enum(['file', 'path', 'link', 'special']),
    size: z.number().optional(),
    time: unixSeconds.optional(),
  }),
);

/** `repo-ls --output=json` (2.45: `{"<name>": {"type": …, "size": …, "time": …}, …}`), "." left out. */
export function parseRepoLs(text: string): RepoEntry[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ProcessError('pgbackrest repo-ls did not print JSON', { cause: err });
  }
  const parsed = repoLsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ProcessError(
      `pgbackrest repo-ls printed JSON of an unexpected shape (${issue ? `${issue.path.join('.')}: ${issue.message}` : 'unknown'})`,
    );
  }
  return Object.entries(parsed.data)
    .filter(([name]) => name !== '.')
    .map(([name, e]) => ({ name, ...e }));
}

export class PgBackRest {
  constructor(
    readonly bin: string,
    /** Directory holding our pgbackrest.conf (--config-path). */
    readonly configPath: string,
    readonly stanza: string,
    private readonly account: OsAccount,
    /** Every command runs under its deadline (PGBACKREST_DEADLINES; tests shorten them). */
    private readonly deadlines: Record<PgBackRestCommand, { ms: number; idle?: boolean }> = PGBACKREST_DEADLINES,
  ) {}

  /** `pgbackrest version`, parsed. */
  async version(signal?: AbortSignal): Promise<Version> {
    return parsePgBackRestVersion(
      await runProcess(this.bin, ['version'], asAccount(this.account, { signal, deadline: this.deadline('version') })),
    );
  }

  /** Creates the stanza (idempotent when it exists for this same cluster). */
  async stanzaCreate(signal?: AbortSignal): Promise<void> {
    await this.run('stanza-create', [], signal);
  }

  /** `check`: the configuration, the connection, and one WAL segment switched and archived. */
  async check(signal?: AbortSignal): Promise<void> {
    await this.run('check', [], signal);
  }

  /** Our stanza's info, or undefined when pgBackRest does not list it. */
  async info(signal?: AbortSignal): Promise<StanzaInfo | undefined> {
    const out = await this.run('info', ['--output=json'], signal, [], true);
    return parseInfo(out).find((s) => s.name === this.stanza);
  }

  /** The tablespaces backup `label` holds (`info --set`, which reads its manifest); [] for none. */
  async backupTablespaces(label: string, signal?: AbortSignal): Promise<Array<{ name: string; oid: number }>> {
    const out = await this.run('info', ['--output=json', `--set=${label}`], signal, [], true);
    const set = parseInfo(out)
      .find((s) => s.name === this.stanza)
      ?.backup.find((b) => b.label === label);
    if (!set) throw new ProcessError(`pgbackrest info --set=${label} did not list that backup`);
    if (set.tablespace === undefined) {
      throw new ProcessError(`pgbackrest info --set=${label} did not say its tablespaces`);
    }
    return (set.tablespace ?? []).map((t) => ({ name: t.name, oid: t.oid }));
  }

  /**
   * `backup --type=…`, then pgBackRest's own expire with `retention` (its auto-expire after a
   * successful backup); the signal kills the whole process group (workers included).
   */
  async backup(type: BackupType, retention: Retention, signal?: AbortSignal): Promise<void> {
    await this.run('backup', [`--type=${type}`, ...retentionArgs(retention), ...DETAIL], signal);
  }

  /** `expire` with `retention`: removes backups and WAL that the retention no longer needs. */
  async expire(retention: Retention, signal?: AbortSignal): Promise<void> {
    await this.run('expire', [...retentionArgs(retention), ...DETAIL], signal);
  }

  /**
   * `restore` of backup `set` into the (empty) pg1-path: to time `at` and promoted there, or, with
   * no `at`, to the end of the archived WAL, along the history of `timeline` (the live cluster's:
   * pgBackRest's default, the newest timeline in the archive, may be one a rolled-back restore
   * left behind). A time is given in UTC with its offset written out. With `lsn` (a snapshot's
   * point), recovery stops just before the first WAL record at or after it (exclusive).
   */
  async restore(
    target: { set: string; timeline: number; at?: Date; lsn?: string },
    signal?: AbortSignal,
  ): Promise<void> {
    const args = [`--set=${target.set}`, `--target-timeline=${target.timeline}`, ...DETAIL];
    if (target.lsn) args.push('--type=lsn', `--target=${target.lsn}`, '--target-exclusive', '--target-action=promote');
    else if (target.at) args.push('--type=time', `--target=${pgTimestamp(target.at)}`, '--target-action=promote');
    await this.run('restore', args, signal);
  }

  /**
   * `verify` of the whole repository (2.45 has no per-backup verify): its text result with the
   * WAL ranges (DETAIL lines) on stdout. It exits 0 whatever it finds: read the result.
   */
  async verify(signal?: AbortSignal): Promise<string> {
    return this.run(
      'verify',
      ['--output=text', '--verbose', '--log-level-console=detail', '--log-level-stderr=off'],
      signal,
      [],
      true,
    );
  }

  /**
   * The restore drill's restore: backup `set` into the empty `pgPath` (never the live data
   * directory), consistent at the backup's end (`at` undefined) or recovered to `at` along
   * `timeline`, then promoted. archive-mode=off: the copy never archives into the repository;
   * tablespaces are mapped into `tablespaceDir` (never restored to the live cluster's locations),
   * which must lie outside `pgPath`: pgBackRest 2.45 refuses a tablespace inside PGDATA.
   */
  async drillRestore(
    t: { set: string; pgPath: string; tablespaceDir: string; timeline: number; at?: Date },
    signal?: AbortSignal,
  ): Promise<void> {
    const args = [
      `--set=${t.set}`,
      `--pg1-path=${t.pgPath}`,
      '--archive-mode=off',
      `--tablespace-map-all=${t.tablespaceDir}`,
      '--target-action=promote',
      ...DETAIL,
    ];
    if (t.at) args.push('--type=time', `--target=${pgTimestamp(t.at)}`, `--target-timeline=${t.timeline}`);
    else args.push('--type=immediate');
    await this.run('restore', args, signal);
  }

  /**
   * `repo-ls --output=json` of `dir` (relative to the repository's path): each name with its
   * type and, for a file, its size and modification time (Unix seconds; an S3 object's
   * LastModified). Works on any repository type, so a bucket is read as a directory is.
   */
  async repoLs(dir: string, signal?: AbortSignal, opts: { recurse?: boolean } = {}): Promise<RepoEntry[]> {
    const args = ['--output=json', ...(opts.recurse ? ['--recurse'] : [])];
    return parseRepoLs(await this.run('repo-ls', args, signal, [dir], true));
  }

  /** `repo-get` of one file (relative to the repository's path), decrypted by pgBackRest when the repository is. */
  async repoGet(file: string, signal?: AbortSignal): Promise<string> {
    return this.run('repo-get', [], signal, [file], true);
  }

  /** The one place every invocation gets its deadline, its message and what to do. */
  private deadline(command: PgBackRestCommand): Deadline {
    const d = this.deadlines[command];
    return {
      ...d,
      what: `pgbackrest ${command}`,
      hint: `pgBackRest's repository or PostgreSQL did not answer: check that the repository (its disk, mount or bucket) is reachable, e.g. run ${describeCommand([this.bin, `--config-path=${this.configPath}`, `--stanza=${this.stanza}`, 'info'])} as postgres and see where it waits; then run the job again`,
    };
  }

  /**
   * `params`: the command's own parameters (repo-ls's path), which follow the command word.
   * `whole`: the output is read (parsed), so one past the runner's limit fails as too large
   * (OUTPUT_TOO_LARGE) instead of being cut off; a log nobody reads is kept to its start.
   */
  private run(
    command: Exclude<PgBackRestCommand, 'version'>,
    args: string[],
    signal?: AbortSignal,
    params: string[] = [],
    whole = false,
  ): Promise<string> {
    return runProcess(
      this.bin,
      [`--config-path=${this.configPath}`, `--stanza=${this.stanza}`, ...args, command, ...params],
      asAccount(this.account, {
        signal,
        deadline: this.deadline(command),
        stdoutOverflow: whole ? 'fail' : 'truncate',
      }),
    );
  }
}
