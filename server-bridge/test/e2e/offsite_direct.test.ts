/**
 * Backups straight to S3 (offsite.mode "direct"), encrypted with a passphrase: incremental
 * backups find their parent in the bucket, verify and prune work there, a wrong passphrase is
 * refused up front, and the stored files are plain age files a human can open with the
 * passphrase (the repository key) and then the key (each object).
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadAge } from '../../src/storage/age';
import { objectByHand } from '../support/object_files';
import { S3Storage } from '../../src/storage/s3_storage';
import { runCli } from '../support/cli';
import { setupE2E, type E2E } from '../support/e2e_env';
import { startS3Server, type S3Server } from '@mm-backup/testkit';

let env: E2E;
let s3: S3Server;
const PASSPHRASE = 'correct horse battery staple 42';

beforeAll(async () => {
  [env, s3] = await Promise.all([setupE2E('postgres', { size: { posts: 100, attachments: 12 } }), startS3Server()]);
  await writeFile(path.join(env.root, 'passphrase'), PASSPHRASE, { mode: 0o600 });
  await writeFile(path.join(env.root, 'wrong-passphrase'), 'not the passphrase at all', { mode: 0o600 });
  await env.writeConfig(config('passphrase'));
}, 240_000);
afterAll(async () => {
  await env?.cleanup();
  await s3?.destroy();
});

function config(passFile: string, retention?: Record<string, number>) {
  return {
    backup: { mode: 'online' },
    ...(retention ? { retention } : {}),
    offsite: {
      mode: 'direct',
      s3: { endpoint: s3.endpoint, bucket: s3.bucket, prefix: 'direct', forcePathStyle: true },
      encryption: { passphraseFile: path.join(env.root, passFile) },
      retry: { attempts: 3, baseDelayMs: 200, maxDelayMs: 1000 },
    },
  };
}

const creds = () => ({
  AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
});
const cli = (...args: string[]) => runCli(['--config', env.cfgFile, '--json', ...args], creds());
const raw = () =>
  new S3Storage({
    bucket: s3.bucket,
    prefix: 'direct',
    region: 'us-east-1',
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: s3.credentials,
  });

async function readKey(key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await raw().get(key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test('backups go to the bucket; the second one is incremental; verify passes; nothing lands in the local state dir', async () => {
  const b1 = await cli('backup');
  expect(b1.stderr).toBe('');
  expect(b1.code).toBe(0);
  const b2 = await cli('backup');
  expect(b2.code).toBe(0);
  expect(b2.summary?.snapshot.files_read).toBe(0);
  const list = await cli('list');
  expect(list.summary?.snapshots.map((s: { id: string; offsite: string }) => [s.id, s.offsite])).toEqual([
    [b1.summary?.snapshot.id, 'present'],
    [b2.summary?.snapshot.id, 'present'],
  ]);
  const v = await cli('verify', 'latest');
  expect(v.stderr).toBe('');
  expect(v.code).toBe(0);
  expect((await readdir(env.repo)).filter((n) => n !== 'tmp' && n !== 'lock.json')).toEqual([]);
});

test('a stored object opens by hand: the passphrase opens the repository key, the key opens the object', async () => {
  const m = (await cli('show', 'latest')).summary?.manifest;
  const cfgEntry = m.components
    .find((c: { id: string }) => c.id === 'config')
    .entries.find((e: { path: string }) => e.path === 'config.json');
  const age = await loadAge();
  const d1 = new age.Decrypter();
  d1.addPassphrase(PASSPHRASE);
  const identity = (await d1.decrypt(await readKey('keys/repository-key.age'), 'text')).trim();
  expect(identity).toMatch(/^AGE-SECRET-KEY-1/);
  const d2 = new age.Decrypter();
  d2.addIdentity(identity);
  // Its object file, or (repository.packs) its slice of a pack found through the pack indexes,
  // each key decrypted by hand the same way.
  const keysUnder = async (prefix: string) => {
    const out: string[] = [];
    for await (const o of raw().list(prefix)) out.push(o.key);
    return out;
  };
  const read = async (key: string) => Buffer.from(await d2.decrypt(await readKey(key)));
  const plain = (await objectByHand(read, keysUnder, cfgEntry.sha256)).bytes.toString('utf8');
  expect(plain).toBe(await readFile(path.join(env.sb.installDir, 'config', 'config.json'), 'utf8'));
});

test('a wrong passphrase is refused before anything is read or written', async () => {
  await env.writeConfig(config('wrong-passphrase'));
  try {
    const r = await cli('backup');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /the configured passphrase does not unlock the repository at s3:\/\/mm-backup-test\/direct/,
    );
    expect(r.stderr).not.toContain('not the passphrase at all');
  } finally {
    await env.writeConfig(config('passphrase'));
  }
});

test('prune in the bucket drops old snapshots and sweeps their objects; the kept one still verifies', async () => {
  await writeFile(path.join(env.sb.installDir, 'data', 'only-in-third.bin'), `unique ${Math.random()}`);
  expect((await cli('backup')).code).toBe(0);
  await env.writeConfig(config('passphrase', { keepLast: 1, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 }));
  const before = (await cli('list')).summary?.snapshots.length;
  const p = await cli('prune');
  expect(p.code).toBe(0);
  const after = (await cli('list')).summary?.snapshots;
  // The newest and the newest verified one are kept.
  expect(after.length).toBeLessThan(before);
  expect(p.summary?.objects_removed).toBeGreaterThan(0);
  for (const s of after) expect((await cli('verify', s.id)).code).toBe(0);
  // A backup, a prune and a verify of each kept snapshot, all through the bucket: over two minutes on a loaded CI machine.
}, 360_000);
