/** The offsite config block: defaults, and errors that name the key. */
import { parseConfig } from '../../src/config/load';
import { parseS3Url } from '../../src/cli/commands/from_source';
import { ConfigError } from '../../src/core/errors';

const base = {
  mattermost: { installDir: '/opt/mattermost' },
  service: { preset: 'none' },
  repository: { path: '/var/opt/mmb' },
};

function issues(offsite: unknown): string[] {
  try {
    parseConfig({ ...base, offsite }, 'x');
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
}

test('a minimal offsite block gets defaults; retention falls back to the local one', () => {
  const cfg = parseConfig({ ...base, offsite: { s3: { bucket: 'mm-backups' } } }, 'x');
  expect(cfg.offsite).toEqual({
    mode: 'replicate',
    s3: { bucket: 'mm-backups', region: 'us-east-1', prefix: '', forcePathStyle: false },
    retry: { attempts: 6, baseDelayMs: 1000, maxDelayMs: 30000 },
  });
  expect(parseConfig(base, 'x').offsite).toBeUndefined();
  // Copying off-site after a backup is a setting of the backup now (backup.replicateAfter).
  expect(cfg.backup.replicateAfter).toBe(true);
});

test('errors name the key and the problem', () => {
  expect(issues({ s3: { bucket: 'Bad_Bucket' } })).toEqual([
    'offsite.s3.bucket: must be an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)',
  ]);
  expect(issues({ s3: { bucket: 'ok-bucket', prefix: '/abs/' } })[0]).toMatch(
    /^offsite\.s3\.prefix: must be a relative key prefix/,
  );
  expect(issues({ s3: { bucket: 'ok-bucket', secretAccessKey: 'inline' } })).toEqual([
    'offsite.s3: unknown key "secretAccessKey"',
  ]);
  expect(issues({ s3: { bucket: 'ok-bucket', accessKeyIdFile: '/k' } })).toEqual([
    'offsite.s3.secretAccessKeyFile: accessKeyIdFile and secretAccessKeyFile go together',
  ]);
  expect(issues({ s3: { bucket: 'ok-bucket' }, encryption: {} })).toEqual([
    'offsite.encryption: needs recipients, identityFile or passphraseFile',
  ]);
  expect(issues({ s3: { bucket: 'ok-bucket' }, encryption: { recipients: ['AGE-SECRET-KEY-1XYZ'] } })[0]).toMatch(
    /^offsite\.encryption\.recipients\.0: must be an age recipient/,
  );
  expect(issues({ s3: { bucket: 'ok-bucket' }, mode: 'mirror' })[0]).toMatch(/^offsite\.mode: /);
});

test('s3:// URLs: bucket, prefix and endpoint options; credentials are refused', () => {
  expect(
    parseS3Url('s3://mm-dr/site/prod/?endpoint=http%3A%2F%2F127.0.0.1%3A9000&path_style=true&region=eu-1'),
  ).toEqual({
    bucket: 'mm-dr',
    prefix: 'site/prod',
    endpoint: 'http://127.0.0.1:9000',
    region: 'eu-1',
    forcePathStyle: true,
  });
  expect(parseS3Url('s3://mm-dr')).toEqual({
    bucket: 'mm-dr',
    prefix: '',
    endpoint: undefined,
    region: undefined,
    forcePathStyle: undefined,
  });
  expect(() => parseS3Url('s3://key:secret@mm-dr/x')).toThrow(/credentials do not belong in the URL/);
  expect(() => parseS3Url('https://mm-dr/x')).toThrow(/not an s3:\/\/BUCKET\/PREFIX URL/);
});
