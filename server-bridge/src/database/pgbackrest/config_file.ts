/**
 * Our pgbackrest.conf: one file in a directory of its own (passed as --config-path, so neither
 * /etc/pgbackrest.conf nor another conf.d is ever merged in), owned by postgres, 0600, because it
 * holds the cipher passphrase (and, later, S3 keys). The repository is a tagged union so that the
 * off-site S3 variant is one more case of `repoLines`.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../../core/errors';
import type { OsAccount } from './postgres_account';
import { ensureOwnedDir, replaceFile } from './safe_fs';

export const CONFIG_FILE_NAME = 'pgbackrest.conf';

/** A repository in a local (or mounted) directory. */
export interface PosixRepo {
  type: 'posix';
  path: string;
}
/** Where pgBackRest keeps backups and WAL (S3 comes later: another member here and in repoLines). */
export type RepoSpec = PosixRepo;

export interface PgBackRestConfigSpec {
  stanza: string;
  pg: { dataDir: string; port: number; socketPath: string };
  repo: RepoSpec;
  /** aes-256-cbc passphrase; set at stanza-create and never changeable after. */
  cipherPass?: string;
  processMax: number;
  /** Bytes of WAL waiting to be archived before pgBackRest drops it rather than fill pg_wal. */
  archivePushQueueMaxBytes: number;
}

/** The file's text. Values are refused (not escaped) when INI cannot hold them. */
export function renderConfig(spec: PgBackRestConfigSpec): string {
  const global: Array<[string, string]> = [
    ...repoLines(spec.repo),
    ...cipherLines(spec.cipherPass),
    ['compress-type', 'zst'],
    ['process-max', String(spec.processMax)],
    // Synchronous push: each segment is compressed into the local repository and confirmed before
    // PostgreSQL recycles it; no spool directory, and a failure is in pg_stat_archiver at once.
    // The S3 variant should turn archive-async on (latency per request), with spool-path.
    ['archive-async', 'n'],
    ['archive-push-queue-max', String(spec.archivePushQueueMaxBytes)],
    ['log-level-console', 'warn'],
    ['log-level-stderr', 'warn'],
    ['log-level-file', 'info'],
    ['start-fast', 'y'],
  ];
  const stanza: Array<[string, string]> = [
    ['pg1-path', spec.pg.dataDir],
    ['pg1-port', String(spec.pg.port)],
    ['pg1-socket-path', spec.pg.socketPath],
  ];
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(spec.stanza)) {
    throw new ConfigError(`stanza name ${JSON.stringify(spec.stanza)} is not allowed`);
  }
  return [
    '# Written by mm-backup (pitr enable); edits are overwritten. See docs/pitr.md.',
    '[global]',
    ...global.map(line),
    '',
    `[${spec.stanza}]`,
    ...stanza.map(line),
    '',
  ].join('\n');
}

function repoLines(repo: RepoSpec): Array<[string, string]> {
  // One case today; the S3 variant adds its repo1-s3-* lines as a second.
  return [
    ['repo1-type', repo.type],
    ['repo1-path', repo.path],
  ];
}

function cipherLines(pass: string | undefined): Array<[string, string]> {
  if (!pass) return [];
  return [
    ['repo1-cipher-type', 'aes-256-cbc'],
    ['repo1-cipher-pass', pass],
  ];
}

function line([key, value]: [string, string]): string {
  // eslint-disable-next-line no-control-regex -- a control character would end or corrupt the line
  if (/[\x00-\x1f\x7f]/.test(value) || value !== value.trim() || value === '') {
    throw new ConfigError(
      `the pgBackRest setting ${key} cannot hold this value (empty, edge spaces or a control character)`,
    );
  }
  return `${key}=${value}`;
}

/**
 * Writes `text` as <dir>/pgbackrest.conf: the directory created 0700 and both owned by `owner`,
 * the file replaced atomically and 0600 before any secret is in it. The directory is postgres's:
 * the temporary file has a random name made with O_EXCL and is chowned on its handle, so a link
 * planted there (or at pgbackrest.conf) is never followed by root.
 */
export async function writeConfigFile(dir: string, text: string, owner: OsAccount): Promise<string> {
  await mkdir(path.dirname(dir), { recursive: true, mode: 0o755 });
  await ensureOwnedDir(dir, owner, 0o700);
  const file = path.join(dir, CONFIG_FILE_NAME);
  await replaceFile(file, text, { owner, mode: 0o600 });
  return file;
}
