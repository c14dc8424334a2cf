/**
 * pitr.repo s3: the config shape, what pgbackrest.conf says for a bucket, and every refusal of a
 * bucket pgBackRest cannot use (before anything changes). Real files for the keys and the CA.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/config/load';
import { ConfigError } from '../../src/core/errors';
import { renderConfig } from '../../src/database/pgbackrest/config_file';
import { describePitrRepo, planS3Repo } from '../../src/operations/pitr_repo';

let dir: string;
let keyId: string;
let secret: string;
let ca: string;
let cipher: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pitr-s3-repo-'));
  keyId = path.join(dir, 'key-id');
  secret = path.join(dir, 'secret');
  ca = path.join(dir, 'ca.pem');
  cipher = path.join(dir, 'cipher-pass');
  await writeFile(cipher, 'unit-cipher-pass-1a2b3c\n', { mode: 0o600 });
  await writeFile(keyId, 'AKIDTEST\n', { mode: 0o600 });
  await writeFile(secret, 'unit-secret-key-9f8e7d\n', { mode: 0o600 });
  await writeFile(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

function config(s3: Record<string, unknown> | undefined, pitr: Record<string, unknown>) {
  return parseConfig(
    {
      mattermost: { installDir: '/opt/mattermost', url: 'http://127.0.0.1:8065' },
      service: { preset: 'none' },
      repository: { path: '/var/opt/mattermost-backup' },
      ...(s3 ? { offsite: { s3 } } : {}),
      pitr: { cipherPassFile: cipher, ...pitr },
    },
    'test.json',
  );
}
const bucket = (extra: Record<string, unknown> = {}) => ({
  endpoint: 'https://minio.example.net:9000',
  bucket: 'mm-backups',
  prefix: 'prod',
  accessKeyIdFile: keyId,
  secretAccessKeyFile: secret,
  ...extra,
});

test('the shape: local by default; "s3" is short for {type: "s3"} with the default spool', () => {
  expect(config(undefined, {}).pitr.repo).toEqual({ type: 'local' });
  expect(config(bucket(), { repo: 's3' }).pitr.repo).toEqual({
    type: 's3',
    spoolPath: '/var/spool/mm-backup/pgbackrest',
  });
  expect(() => config(bucket(), { repo: 'ftp' })).toThrow(ConfigError);
  expect(() => config(bucket(), { repo: { type: 's3', prefix: '/abs' } })).toThrow(ConfigError);
  expect(() => config(bucket(), { repo: { type: 's3', caFile: 'relative.pem' } })).toThrow(ConfigError);
  expect(() => config(bucket(), { repo: { type: 'local', prefix: 'x' } })).toThrow(ConfigError);
});

test('a custom endpoint: host, port, path style, keys, the CA copy in the config directory, async with a spool', async () => {
  const cfg = config(bucket(), { repo: { type: 's3', caFile: ca, spoolPath: '/var/spool/x' } });
  expect(describePitrRepo(cfg)).toBe('s3://mm-backups/prod/pgbackrest at https://minio.example.net:9000');
  const { spec, caPem } = await planS3Repo(cfg, '/etc/pgbackrest/mm-backup');
  expect(caPem?.toString()).toContain('BEGIN CERTIFICATE');
  const text = renderConfig({
    stanza: 'mattermost',
    pg: { dataDir: '/var/lib/postgresql/15/main', port: 5432, socketPath: '/var/run/postgresql' },
    repo: spec,
    processMax: 2,
    archivePushQueueMaxBytes: 1024,
  });
  expect(text).toContain(
    [
      'repo1-type=s3',
      'repo1-path=/prod/pgbackrest',
      'repo1-s3-bucket=mm-backups',
      'repo1-s3-region=us-east-1',
      'repo1-s3-endpoint=minio.example.net',
      'repo1-storage-port=9000',
      'repo1-s3-uri-style=path',
      'repo1-s3-key-type=shared',
      'repo1-s3-key=AKIDTEST',
      'repo1-s3-key-secret=unit-secret-key-9f8e7d',
      'repo1-storage-ca-file=/etc/pgbackrest/mm-backup/s3-ca.pem',
    ].join('\n'),
  );
  expect(text).toContain('archive-async=y\nspool-path=/var/spool/x\narchive-push-queue-max=1024');
  expect(text).not.toContain('verify-tls');
});

test('AWS without key files: the regional endpoint, host style, the instance role; an explicit prefix', async () => {
  const cfg = config({ bucket: 'mm-backups', region: 'eu-central-1' }, { repo: { type: 's3', prefix: 'pg/archive' } });
  const { spec } = await planS3Repo(cfg, '/etc/x');
  expect(spec).toMatchObject({
    path: '/pg/archive',
    endpoint: 's3.eu-central-1.amazonaws.com',
    port: 443,
    uriStyle: 'host',
    keys: undefined,
    caFile: undefined,
  });
  const text = renderConfig({
    stanza: 'm',
    pg: { dataDir: '/d', port: 5432, socketPath: '/s' },
    repo: spec,
    processMax: 1,
    archivePushQueueMaxBytes: 1,
  });
  expect(text).toContain('repo1-s3-key-type=auto');
  expect(text).not.toContain('repo1-s3-key=');
});

test('refused before anything changes: no bucket, http, a path in the endpoint, no keys for a custom endpoint, the off-site prefix itself, repoPath, a non-PEM CA', async () => {
  const refusal = async (s3: Record<string, unknown> | undefined, pitr: Record<string, unknown>, re: RegExp) => {
    await expect(planS3Repo(config(s3, pitr), '/etc/x')).rejects.toThrow(re);
  };
  await refusal(undefined, { repo: 's3' }, /there is no offsite\.s3/);
  // Our signatures do not cover pgBackRest's repository: unencrypted, a bucket writer could plant a backup.
  await refusal(bucket(), { repo: 's3', cipherPassFile: undefined }, /pitr\.cipherPassFile is not set/);
  await refusal(bucket({ endpoint: 'http://127.0.0.1:9000' }), { repo: 's3' }, /always uses TLS/);
  await refusal(bucket({ endpoint: 'https://host.example/s3' }), { repo: 's3' }, /not a host pgBackRest can use/);
  await refusal(
    bucket({ accessKeyIdFile: undefined, secretAccessKeyFile: undefined }),
    { repo: 's3' },
    /needs offsite\.s3\.accessKeyIdFile/,
  );
  await refusal(bucket(), { repo: { type: 's3', prefix: 'prod' } }, /off-site repository's own prefix/);
  await refusal(bucket(), { repo: 's3', repoPath: '/srv/pgbackrest' }, /pitr\.repoPath is a local directory/);
  await refusal(bucket(), { repo: { type: 's3', caFile: keyId } }, /holds no PEM certificate/);
  await refusal(bucket(), { repo: { type: 's3', caFile: path.join(dir, 'none.pem') } }, /cannot read .*ENOENT/);
  await chmod(secret, 0o644);
  try {
    await refusal(bucket(), { repo: 's3' }, /readable by others/);
  } finally {
    await chmod(secret, 0o600);
  }
});

test('a secret INI cannot hold is refused, never written', async () => {
  await writeFile(secret, 'two\nlines\n', { mode: 0o600 });
  try {
    const { spec } = await planS3Repo(config(bucket(), { repo: 's3' }), '/etc/x');
    expect(() =>
      renderConfig({
        stanza: 'm',
        pg: { dataDir: '/d', port: 5432, socketPath: '/s' },
        repo: spec,
        processMax: 1,
        archivePushQueueMaxBytes: 1,
      }),
    ).toThrow(ConfigError);
  } finally {
    await writeFile(secret, 'unit-secret-key-9f8e7d\n', { mode: 0o600 });
  }
});
