/**
 * Our pgbackrest.conf: one file in a directory of its own (passed as --config-path, so neither
 * /etc/pgbackrest.conf nor another conf.d is ever merged in), owned by postgres, 0600, because it
 * holds the cipher passphrase and, for an S3 repository, the S3 keys: PostgreSQL runs
 * archive_command as postgres, so pgBackRest can read them from nowhere else (docs/pitr.md).
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
/**
 * A repository in an S3-compatible bucket. pgBackRest's S3 client always speaks TLS; `caFile`
 * verifies a private or self-signed endpoint. WAL is pushed asynchronously through `spoolPath`.
 */
export interface S3Repo {
  type: 's3';
  /** repo1-path: '/' and the key prefix. */
  path: string;
  bucket: string;
  region: string;
  /** Host name (or address) of the endpoint, and its port. */
  endpoint: string;
  port: number;
  /** path: https://endpoint/bucket/key (S3-compatible servers); host: https://bucket.endpoint/key (AWS). */
  uriStyle: 'path' | 'host';
  /** Access keys written into the file; absent: the instance role (repo1-s3-key-type=auto). */
  keys?: { accessKeyId: string; secretAccessKey: string };
  caFile?: string;
  spoolPath: string;
}
/** Where pgBackRest keeps backups and WAL. */
export type RepoSpec = PosixRepo | S3Repo;

export interface PgBackRestConfigSpec {
  stanza: string;
  /** socketPath: absent on a new host before its first start (a restore never connects). */
  pg: { dataDir: string; port: number; socketPath?: string };
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
    ...archiveModeLines(spec.repo),
    ['archive-push-queue-max', String(spec.archivePushQueueMaxBytes)],
    ['log-level-console', 'warn'],
    ['log-level-stderr', 'warn'],
    ['log-level-file', 'info'],
    ['start-fast', 'y'],
  ];
  const stanza: Array<[string, string]> = [
    ['pg1-path', spec.pg.dataDir],
    ['pg1-port', String(spec.pg.port)],
  ];
  if (spec.pg.socketPath !== undefined) stanza.push(['pg1-socket-path', spec.pg.socketPath]);
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
  if (repo.type === 'posix') {
    return [
      ['repo1-type', 'posix'],
      ['repo1-path', repo.path],
    ];
  }
  if (!Number.isInteger(repo.port) || repo.port < 1 || repo.port > 65535) {
    throw new ConfigError(`the S3 endpoint's port ${repo.port} is not a TCP port`);
  }
  return [
    ['repo1-type', 's3'],
    ['repo1-path', repo.path],
    ['repo1-s3-bucket', repo.bucket],
    ['repo1-s3-region', repo.region],
    ['repo1-s3-endpoint', repo.endpoint],
    ['repo1-storage-port', String(repo.port)],
    ['repo1-s3-uri-style', repo.uriStyle],
    ...(repo.keys
      ? ([
          ['repo1-s3-key-type', 'shared'],
          ['repo1-s3-key', repo.keys.accessKeyId],
          ['repo1-s3-key-secret', repo.keys.secretAccessKey],
        ] as Array<[string, string]>)
      : ([['repo1-s3-key-type', 'auto']] as Array<[string, string]>)),
    ...(repo.caFile ? ([['repo1-storage-ca-file', repo.caFile]] as Array<[string, string]>) : []),
  ];
}

function archiveModeLines(repo: RepoSpec): Array<[string, string]> {
  // Local: synchronous push, each segment compressed into the repository and confirmed before
  // PostgreSQL recycles it; no spool directory, and a failure is in pg_stat_archiver at once.
  if (repo.type === 'posix') return [['archive-async', 'n']];
  // S3: one request per segment is slow over a network. The async process pushes several
  // segments per run (process-max) and archive_command only collects its status from the spool.
  return [
    ['archive-async', 'y'],
    ['spool-path', repo.spoolPath],
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
