/**
 * Where pgBackRest's repository is, from `pitr.repo`: a local directory, or the off-site bucket
 * (offsite.s3) under a prefix of its own. For S3 this reads the keys (0600 files) and the CA file
 * and checks what pgBackRest's S3 client needs (TLS, a host endpoint) before anything changes.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/schema';
import { readSecretFile } from '../config/load';
import { ConfigError } from '../core/errors';
import { registerSecret } from '../core/redact';
import type { S3Repo } from '../database/pgbackrest/config_file';
import type { OsAccount } from '../database/pgbackrest/postgres_account';
import { ensureOwnedDir, replaceFile } from '../database/pgbackrest/safe_fs';
import { makeOwnedDir } from './pitr_access';

/** The CA file's name in pitr.configDir: a copy postgres can read (the admin's may be root's only). */
export const CA_FILE_NAME = 's3-ca.pem';

/** The key prefix pgBackRest uses in the bucket: pitr.repo.prefix, else <offsite prefix>/pgbackrest. */
function s3Prefix(cfg: Config): string {
  const repo = cfg.pitr.repo;
  if (repo.type === 's3' && repo.prefix) return repo.prefix;
  const base = cfg.offsite?.s3.prefix ?? '';
  return base ? `${base}/pgbackrest` : 'pgbackrest';
}

/** What to show for the repository: its directory, or s3://bucket/prefix (never a secret). */
export function describePitrRepo(cfg: Config): string {
  if (cfg.pitr.repo.type === 'local') return cfg.pitr.repoPath ?? path.join(cfg.repository.path, 'pgbackrest');
  const s3 = cfg.offsite?.s3;
  const where = `s3://${s3?.bucket ?? '(offsite.s3 is not configured)'}/${s3Prefix(cfg)}`;
  return s3?.endpoint ? `${where} at ${s3.endpoint}` : where;
}

/** The S3 repository and the CA certificate to give pgBackRest; refuses (ConfigError) what it cannot use. */
export async function planS3Repo(cfg: Config, configDir: string): Promise<{ spec: S3Repo; caPem?: Buffer }> {
  const repo = cfg.pitr.repo;
  if (repo.type !== 's3') throw new Error('planS3Repo needs pitr.repo s3');
  const s3 = cfg.offsite?.s3;
  if (!s3) {
    throw new ConfigError('pitr.repo is s3 but there is no offsite.s3 (the bucket pgBackRest shares)', [], {
      hint: 'configure offsite.s3 (endpoint, bucket, region, key files), or set pitr.repo to "local"',
    });
  }
  if (!cfg.pitr.cipherPassFile) {
    // Our signatures do not cover pgBackRest's repository: in a bucket others can write, only its
    // cipher keeps a forged backup (its data, its postgresql.auto.conf: code run as postgres) out.
    throw new ConfigError(
      'pitr.repo is s3 but pitr.cipherPassFile is not set: whoever can write the bucket could plant a physical backup that a restore would use',
      [],
      {
        hint: 'write a long random passphrase to a 0600 file (e.g. openssl rand -base64 48 > /etc/mattermost-backup/pgbackrest.pass) and set pitr.cipherPassFile to it before the first pitr enable',
      },
    );
  }
  if (cfg.pitr.repoPath) {
    throw new ConfigError('pitr.repoPath is a local directory, and pitr.repo is s3', [], {
      hint: 'remove pitr.repoPath (the prefix in the bucket is pitr.repo.prefix)',
    });
  }
  const prefix = s3Prefix(cfg);
  if (prefix === s3.prefix) {
    throw new ConfigError(`pitr.repo.prefix is the off-site repository's own prefix (${prefix})`, [], {
      hint: 'give pgBackRest a prefix of its own, such as the default <offsite.s3.prefix>/pgbackrest',
    });
  }
  let endpoint = `s3.${s3.region}.amazonaws.com`;
  let port = 443;
  let uriStyle: S3Repo['uriStyle'] = s3.forcePathStyle ? 'path' : 'host';
  if (s3.endpoint) {
    const url = new URL(s3.endpoint);
    if (url.protocol !== 'https:') {
      throw new ConfigError(
        `pgBackRest's S3 client always uses TLS, and offsite.s3.endpoint is ${url.protocol}//${url.host}`,
        [],
        { hint: 'serve the bucket over https (a self-signed certificate can be trusted with pitr.repo.caFile)' },
      );
    }
    if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hostname.startsWith('[')) {
      throw new ConfigError(`offsite.s3.endpoint ${url.origin}${url.pathname} is not a host pgBackRest can use`, [], {
        hint: 'give the endpoint as https://host[:port], without a path (IPv6 addresses: use a host name)',
      });
    }
    endpoint = url.hostname;
    port = url.port ? Number(url.port) : 443;
    // S3-compatible servers (MinIO, Ceph RGW, B2, Wasabi) all serve path-style; a bucket name as
    // a host name needs DNS (or a wildcard certificate) they often lack.
    uriStyle = 'path';
  }
  let keys: S3Repo['keys'];
  if (s3.accessKeyIdFile && s3.secretAccessKeyFile) {
    const accessKeyId = await readSecretFile(s3.accessKeyIdFile, 'offsite.s3.accessKeyIdFile');
    const secretAccessKey = await readSecretFile(s3.secretAccessKeyFile, 'offsite.s3.secretAccessKeyFile');
    registerSecret(secretAccessKey);
    keys = { accessKeyId, secretAccessKey };
  } else if (s3.endpoint) {
    // Without key files only an instance role is left: archive_command runs inside PostgreSQL and
    // cannot see our environment (AWS_*) or root's ~/.aws.
    throw new ConfigError(
      'pitr.repo s3 with a custom endpoint needs offsite.s3.accessKeyIdFile and secretAccessKeyFile',
      [],
      {
        hint: "pgBackRest runs from PostgreSQL's archive_command and cannot read the AWS_* environment: put the keys in 0600 files",
      },
    );
  }
  let caPem: Buffer | undefined;
  if (repo.caFile) {
    caPem = await readFile(repo.caFile).catch((err: unknown) => {
      throw new ConfigError(
        `pitr.repo.caFile: cannot read ${repo.caFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
        [],
        {
          cause: err,
        },
      );
    });
    if (!caPem.toString('latin1').includes('-----BEGIN CERTIFICATE-----')) {
      throw new ConfigError(`pitr.repo.caFile: ${repo.caFile} holds no PEM certificate`, [], {
        hint: 'give the CA certificate (or the self-signed certificate) in PEM form',
      });
    }
  }
  return {
    spec: {
      type: 's3',
      path: `/${prefix}`,
      bucket: s3.bucket,
      region: s3.region,
      endpoint,
      port,
      uriStyle,
      keys,
      caFile: caPem ? path.join(configDir, CA_FILE_NAME) : undefined,
      spoolPath: repo.spoolPath,
    },
    caPem,
  };
}

/**
 * The CA certificate as a postgres-owned 0600 copy in the config directory (the admin's file may
 * be root's only; pgBackRest runs as postgres). Returns false when there is no CA file to copy.
 */
export async function installS3Ca(
  s3: Awaited<ReturnType<typeof planS3Repo>>,
  configDir: string,
  account: OsAccount,
): Promise<boolean> {
  if (!s3.caPem || !s3.spec.caFile) return false;
  await mkdir(path.dirname(configDir), { recursive: true, mode: 0o755 });
  await ensureOwnedDir(configDir, account, 0o700);
  await replaceFile(path.join(configDir, CA_FILE_NAME), s3.caPem, { owner: account, mode: 0o600 });
  return true;
}

/**
 * pgBackRest's spool directory (archive-async: archive-push's status files, WAL archive-get
 * fetched ahead): postgres's, 0700; its parent made 0755 by root so postgres can reach it.
 */
export async function makeSpoolDir(spoolPath: string, account: OsAccount): Promise<void> {
  await mkdir(path.dirname(spoolPath), { recursive: true, mode: 0o755 });
  await makeOwnedDir(spoolPath, account);
}
