/**
 * The one shell string of the project (and its twin, restore_command): PostgreSQL runs
 * `archive_command` through /bin/sh, so the pgbackrest call it holds cannot be an argument array. Built here only, and tested with hostile
 * values (test/unit/pitr_archive_command.test.ts).
 */
import { ConfigError } from '../../core/errors';

export interface ArchiveCommandSpec {
  /** Absolute path of the pgbackrest binary. */
  pgbackrest: string;
  /** Directory passed as --config-path (our pgbackrest.conf and an empty conf.d). */
  configPath: string;
  stanza: string;
}

/**
 * `'<pgbackrest>' '--config-path=<dir>' '--stanza=<s>' archive-push %p`: every value single-quoted
 * for the shell, `%` doubled (PostgreSQL's own escape, applied before the shell sees the string).
 * Control characters are refused: a newline would end the command (and a setting) early.
 */
export function buildArchiveCommand(spec: ArchiveCommandSpec): string {
  return `${quotedCall(spec, 'archive_command', 'archive-push')} %p`;
}

function quotedCall(spec: ArchiveCommandSpec, setting: string, verb: string, pgPath?: string): string {
  refuseUnsafe('the pgbackrest binary path', spec.pgbackrest);
  if (pgPath !== undefined) refuseUnsafe('the data directory', pgPath);
  refuseUnsafe('pitr.configDir', spec.configPath);
  refuseUnsafe('pitr.stanza', spec.stanza);
  if (!spec.pgbackrest.startsWith('/') || !spec.configPath.startsWith('/')) {
    throw new ConfigError(`${setting} needs absolute paths: PostgreSQL runs it with its own PATH and directory`);
  }
  const args = [spec.pgbackrest, `--config-path=${spec.configPath}`, `--stanza=${spec.stanza}`];
  // archive-get checks that it runs in pg1-path: a cluster restored elsewhere names its own, and
  // fetches synchronously (an S3 repository's spool belongs to the live cluster).
  if (pgPath !== undefined) args.push(`--pg1-path=${pgPath}`, '--archive-async=n');
  args.push(verb);
  return args.map((a) => escapePercent(shellQuote(a))).join(' ');
}

/**
 * restore_command for a restored cluster, quoted the same way: pgBackRest 2.45 writes its own
 * with the config path in double quotes and unescaped for postgresql.conf, so a path holding a
 * quote, `$` or `%` breaks recovery (found by test/e2e/pitr_restore.test.ts). `pgPath`: the data
 * directory of a cluster restored somewhere other than pg1-path (the restore drill's copy).
 */
export function buildRestoreCommand(spec: ArchiveCommandSpec, pgPath?: string): string {
  return `${quotedCall(spec, 'restore_command', 'archive-get', pgPath)} %f %p`;
}

/** A postgresql.conf string value: in single quotes, a quote doubled and a backslash escaped. */
export function confQuote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** POSIX sh single quoting: the only character that needs care inside '…' is ' itself. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** archive_command treats %p, %f and %% specially; a literal % in a path must be written %%. */
function escapePercent(value: string): string {
  return value.replace(/%/g, '%%');
}

function refuseUnsafe(what: string, value: string): void {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (value.length === 0 || /[\x00-\x1f\x7f]/.test(value)) {
    throw new ConfigError(
      `${what} is empty or holds a control character (newline, tab…): it cannot go into archive_command`,
      [],
      {
        details: { what },
      },
    );
  }
}
