/**
 * Off-site copies end to end, with the real CLI, a real PostgreSQL, the sandbox install and a real
 * S3-compatible server (s3rver) on loopback: replicate after backup (age-encrypted to a recipient
 * the server holds only the public key of), dedup of the second copy, an upload broken by killing
 * the S3 server, wrong key / missing / tampered objects, and the full disaster drill: everything
 * local deleted, the server rebuilt from the bucket alone onto a new dir and database.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { S3Storage } from '../../src/storage/s3_storage';
import { describeTree } from '../support/tree_snapshot';
import { tableDigests } from '../support/db_rows';
import { runCli, startCli } from '../support/cli';
import { setupE2E, type E2E } from '../support/e2e_env';
import { objectByHand, objectKeys, packsWithout } from '../support/object_files';
import { parsePackIndexFile } from '../../src/repository/pack_index_file';
import { startS3Server, type S3Server } from '@mm-backup/testkit';

let env: E2E;
let s3: S3Server;
let idFile: string;
let recipient: string;
/** The server's snapshot signing key, printed by keygen beside the identity: the new host's trust anchor. */
let fingerprint: string;
const PREFIX = 'mattermost/prod';

beforeAll(async () => {
  [env, s3] = await Promise.all([setupE2E('postgres'), startS3Server()]);
  // The identity is made "elsewhere" (outside what the server's config can read)...
  idFile = path.join(env.root, 'dr-host', 'age-identity.txt');
  await mkdir(path.dirname(idFile), { recursive: true });
  const k = await runCli(['--config', env.cfgFile, '--json', 'keygen', '--output', idFile]);
  expect(k.code).toBe(0);
  recipient = k.summary?.recipient;
  fingerprint = k.summary?.signing_fingerprint;
  expect(await readFile(idFile, 'utf8')).toContain(`# snapshot signing key fingerprint: ${fingerprint}`);
  expect(recipient).toMatch(/^age1/);
  // ...and the server's config holds only the public key: it can write off-site, never read.
  await secret('s3-key-id', s3.credentials.accessKeyId);
  await secret('s3-secret', s3.credentials.secretAccessKey);
  await env.writeConfig(offsiteConfig());
}, 240_000);
afterAll(async () => {
  await env?.cleanup();
  await s3?.destroy();
});

function offsiteConfig(extra: Record<string, unknown> = {}) {
  return {
    backup: { mode: 'online' },
    offsite: {
      mode: 'replicate',
      s3: {
        endpoint: s3.endpoint,
        bucket: s3.bucket,
        prefix: PREFIX,
        forcePathStyle: true,
        accessKeyIdFile: path.join(env.root, 's3-key-id'),
        secretAccessKeyFile: path.join(env.root, 's3-secret'),
      },
      encryption: { recipients: [recipient] },
      retry: { attempts: 6, baseDelayMs: 500, maxDelayMs: 4000 },
      ...extra,
    },
  };
}

async function secret(name: string, value: string): Promise<string> {
  const f = path.join(env.root, name);
  await writeFile(f, value, { mode: 0o600 });
  return f;
}

/** A raw view of the bucket (ciphertext), to look at and damage what is stored. */
function bucket(): S3Storage {
  return new S3Storage({
    bucket: s3.bucket,
    prefix: PREFIX,
    region: 'us-east-1',
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: s3.credentials,
  });
}

async function keys(prefix: string): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const o of bucket().list(prefix)) out.add(o.key);
  return out;
}

const withKey = () => ({ MM_BACKUP_AGE_IDENTITY_FILE: idFile });

test('a backup is copied off-site at once, encrypted; list shows it; a second copy uploads only the dump and the manifest', async () => {
  const b = await env.cli('backup');
  expect(b.stderr).toBe('');
  expect(b.code).toBe(0);
  const id = b.summary?.snapshot.id;
  expect(b.summary?.offsite.copied).toEqual([id]);
  // Every object file and every pack of the local repository went up (with repository.packs, the
  // small files are in packs; objects_uploaded counts object files only).
  const filesUnder = async (dir: string): Promise<number> =>
    (await readdir(path.join(env.repo, dir), { recursive: true, withFileTypes: true }).catch(() => [])).filter((d) =>
      d.isFile(),
    ).length;
  const objectFiles = await filesUnder('objects');
  const packFiles = await filesUnder('packs');
  expect(b.summary?.offsite.objects_uploaded).toBe(objectFiles);
  expect(b.summary?.offsite.packs_uploaded ?? 0).toBe(packFiles);
  expect(objectFiles + packFiles).toBeGreaterThan(0);

  // Stored encrypted: a manifest in the bucket is an age file, not JSON naming our files.
  const stored = await readAllKey(`snapshots/${id}.json`);
  expect(stored.subarray(0, 21).toString()).toBe('age-encryption.org/v1');
  expect(stored.toString('latin1')).not.toContain('config.json');
  const marker = JSON.parse((await readAllKey('repository.json')).toString());
  expect(marker.encryption).toBe('age');

  const list = await env.cli('list');
  expect(list.summary?.snapshots.map((s: { offsite: string }) => s.offsite)).toEqual(['present']);

  const before = await keys('');
  const second = await env.cli('backup');
  expect(second.code).toBe(0);
  const id2 = second.summary?.snapshot.id;
  const m2 = (await env.cli('show', id2)).summary?.manifest;
  const dump = m2.components.find((c: { id: string }) => c.id === 'database').database.object;
  const added = [...(await keys(''))].filter((k) => !before.has(k)).sort();
  // Dedup: only the new dump (when its bytes changed), the manifest and its signature went up.
  // (Its object file, or with repository.packs the new pack holding it and that pack's index.)
  expect(added).toEqual(
    [...(await objectKeys(env.repo, dump)), `snapshots/${id2}.json`, `snapshots/${id2}.sig`]
      .filter((k) => !before.has(k))
      .sort(),
  );
  expect(second.summary?.offsite.objects_uploaded).toBeLessThanOrEqual(1);
  expect((await env.cli('list')).summary?.snapshots.map((s: { offsite: string }) => s.offsite)).toEqual([
    'present',
    'present',
  ]);
});

test('the server holds no key: it can copy but not read; with the identity, verify --offsite --deep passes', async () => {
  const noKey = await env.cli('verify', 'latest', '--offsite');
  expect(noKey.code).toBe(3);
  expect(noKey.stderr).toMatch(
    /are encrypted and this host has only public keys \(recipients\): it can write copies but not read them/,
  );
  const deep = await runCli(['--config', env.cfgFile, '--json', 'verify', 'latest', '--offsite', '--deep'], withKey());
  expect(deep.stderr).toBe('');
  expect(deep.code).toBe(0);
  expect(deep.events.some((e) => e.type === 'step.finished' && e.step === 'dump-database')).toBe(true);
});

test('an upload broken by the S3 server going away ends complete after retries, or cleanly failed and resumed; never a listed broken snapshot', async () => {
  await env.writeConfig(offsiteConfig({ replicateAfterBackup: false }));
  const big = path.join(env.sb.installDir, 'data', 'big-upload.bin');
  await writeFile(big, randomBytes(48 * 1024 * 1024));
  const b = await env.cli('backup');
  expect(b.code).toBe(0);
  const id = b.summary?.snapshot.id;
  expect(b.summary?.offsite).toBeUndefined();
  expect((await env.cli('list')).summary?.snapshots.at(-1).offsite).toBe('absent');

  const run = startCli(['--config', env.cfgFile, '--json', 'replicate']);
  let killed = false;
  let restarted: Promise<void> | undefined;
  run.onEvent((e) => {
    if (killed || e.type !== 'step.progress' || e.step !== 'offsite-copy') return;
    killed = true;
    restarted = s3
      .stop()
      .then(() => new Promise((r) => setTimeout(r, 1500)))
      .then(() => s3.start());
  });
  const r = await run.done;
  await restarted;
  expect(killed).toBe(true);
  const listed = (await keys('snapshots')).has(`snapshots/${id}.json`);
  if (r.code === 0) {
    expect(r.stderr).toMatch(/retrying in/);
    expect(listed).toBe(true);
  } else {
    expect(r.stderr).toMatch(/S3|upload|ECONN|socket/i);
    expect(listed).toBe(false);
    const again = await env.cli('replicate');
    expect(again.code).toBe(0);
    expect(again.summary?.copied).toEqual([id]);
  }
  const v = await runCli(['--config', env.cfgFile, '--json', 'verify', id, '--offsite'], withKey());
  expect(v.stderr).toBe('');
  expect(v.code).toBe(0);
  await rm(big);
});

test('disaster drill: install, database, local repository and config gone; restore from the bucket alone onto a new dir and database', async () => {
  await env.writeConfig(offsiteConfig());
  const treeBefore = await describeTree(env.sb.installDir, [], { dirMtimes: false });
  const rowsBefore = await tableDigests(env.sb.dbUrl);
  const b = await env.cli('backup');
  expect(b.code).toBe(0);
  expect(b.summary?.offsite.copied).toEqual([b.summary?.snapshot.id]);

  // The site is lost.
  env.stopStandin();
  await rm(env.sb.installDir, { recursive: true, force: true });
  await rm(env.repo, { recursive: true, force: true });
  await rm(env.cfgFile, { force: true });
  await env.db.dropDatabase(env.sb.dbName);

  // A new host: mm-backup, the bucket credentials and the key. No config file.
  const newInstall = path.join(env.root, 'new-host', 'mattermost');
  const newDb = env.db.adminUrl('mm_rebuilt');
  const urlFile = await secret('new-db-url', newDb);
  const from = `s3://${s3.bucket}/${PREFIX}?endpoint=${encodeURIComponent(s3.endpoint)}`;
  const drEnv = {
    ...withKey(),
    AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    MM_BACKUP_CONFIG: '',
    MM_BACKUP_STATE_DIR: path.join(env.root, 'new-host', 'state'),
  };
  // Nothing in the bucket is trusted until the fingerprint kept with the identity is given.
  const untrusted = await runCli(['--json', 'list', '--from', from], drEnv);
  expect(untrusted.code).toBe(0);
  expect(untrusted.summary?.snapshots.at(-1)).toMatchObject({
    id: b.summary?.snapshot.id,
    trust: 'untrusted',
    signed_by: fingerprint,
  });
  const refused = await runCli(
    [
      '--json',
      'restore',
      'latest',
      '--from',
      from,
      '--install-dir',
      newInstall,
      '--database-url-file',
      urlFile,
      '--yes',
    ],
    drEnv,
  );
  expect(refused.code).toBe(4);
  expect(refused.stderr).toMatch(/is untrusted and is not restored: it is signed by key .* which is not trusted here/);
  const list = await runCli(['--json', 'list', '--from', from, '--trust', fingerprint], drEnv);
  expect(list.code).toBe(0);
  expect(list.summary?.snapshots.at(-1)).toMatchObject({ id: b.summary?.snapshot.id, trust: 'signed' });
  const r = await runCli(
    [
      '--json',
      'restore',
      'latest',
      '--from',
      from,
      '--trust',
      fingerprint,
      '--install-dir',
      newInstall,
      '--database-url-file',
      urlFile,
      '--yes',
    ],
    drEnv,
  );
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(await tableDigests(newDb)).toEqual(rowsBefore);
  const strip = (t: Record<string, string>) => {
    const c = { ...t };
    delete c['config/config.json'];
    return c;
  };
  expect(strip(await describeTree(newInstall, [], { dirMtimes: false }))).toEqual(strip(treeBefore));
  const cfg = JSON.parse(await readFile(path.join(newInstall, 'config', 'config.json'), 'utf8'));
  expect(cfg.SqlSettings.DataSource).toContain('mm_rebuilt');
});

describe('damage is reported clearly', () => {
  const from = () => `s3://${s3.bucket}/${PREFIX}?endpoint=${encodeURIComponent(s3.endpoint)}`;
  const dr = (extra: Record<string, string> = {}) => ({
    ...withKey(),
    AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    MM_BACKUP_CONFIG: '',
    MM_BACKUP_STATE_DIR: path.join(env.root, 'state-damage'),
    ...extra,
  });
  const manifest = async () => (await runCli(['--json', 'show', 'latest', '--from', from()], dr())).summary?.manifest;

  test('a wrong key is refused up front, naming the problem', async () => {
    const other = path.join(env.root, 'other-identity.txt');
    expect((await runCli(['keygen', '--output', other])).code).toBe(0);
    const r = await runCli(['--json', 'list', '--from', from()], dr({ MM_BACKUP_AGE_IDENTITY_FILE: other }));
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/the configured age key cannot decrypt the snapshots at s3:\/\/.*encrypted to other keys/);
    const none = await runCli(['--json', 'list', '--from', from()], dr({ MM_BACKUP_AGE_IDENTITY_FILE: '' }));
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/are encrypted \(age\) and no key is configured/);
  });

  test('a missing object fails verify (exit 4), naming the file', async () => {
    const m = await manifest();
    const data = m.components.find((c: { id: string }) => c.id === 'data');
    const entry = data.entries.find((e: { type: string; size?: number }) => e.type === 'file' && (e.size ?? 0) > 10);
    // Its object file removed, or (repository.packs) its pack written again without it.
    const { key, undo } = await isolate(entry.sha256, false);
    const saved = key ? await readAllKey(key) : undefined;
    if (key) await bucket().delete(key);
    try {
      const v = await runCli(['--json', 'verify', 'latest', '--from', from(), '--trust', fingerprint], dr());
      expect(v.code).toBe(4);
      expect(v.stderr).toContain(`data ${entry.path}: object is missing`);
    } finally {
      if (key && saved) await bucket().put(key, saved);
      await undo();
    }
  });

  test('a tampered object fails verify (exit 4) and restore refuses it where it reads it', async () => {
    const m = await manifest();
    const data = m.components.find((c: { id: string }) => c.id === 'data');
    const entry = data.entries.find((e: { type: string; size?: number }) => e.type === 'file' && (e.size ?? 0) > 100);
    // Its object file, or (repository.packs) a pack holding it alone.
    const isolated = await isolate(entry.sha256, true);
    const key = isolated.key as string;
    const saved = await readAllKey(key);
    const tampered = Buffer.from(saved);
    tampered[tampered.length - 20] = (tampered[tampered.length - 20] as number) ^ 0x01; // in the payload, past the header
    await bucket().put(key, tampered);
    try {
      const v = await runCli(['--json', 'verify', 'latest', '--from', from(), '--trust', fingerprint], dr());
      expect(v.code).toBe(4);
      expect(v.stderr).toContain(`data ${entry.path}: ${key} failed authentication`);
      expect(v.stderr).toMatch(/damaged or was tampered with/);
      const target = path.join(env.root, 'tamper-target');
      const r = await runCli(
        [
          '--json',
          'restore',
          'latest',
          '--from',
          from(),
          '--trust',
          fingerprint,
          '--install-dir',
          target,
          '--database-url-file',
          await secret('tamper-db', env.db.adminUrl('mm_tamper')),
          '--yes',
        ],
        dr(),
      );
      // The preflight checks presence only (issue 12); the object fails authentication where it is
      // read to be written, naming the file; a new install has no safety snapshot to put back.
      expect(r.code).toBe(4);
      expect(r.stderr).toContain(`component data, ${JSON.stringify(entry.path)}: ${key} failed authentication`);
      expect(r.stderr).toMatch(/\bdata\b[\w, ]* could NOT be put back/);
    } finally {
      await bucket().put(key, saved);
      await isolated.undo();
    }
    expect((await runCli(['--json', 'verify', 'latest', '--from', from(), '--trust', fingerprint], dr())).code).toBe(0);
  });
});

/** A key's plaintext, decrypted by hand with the age tool and the identity. */
async function decryptKey(key: string): Promise<Buffer> {
  const dir = path.join(env.root, 'by-hand-keys');
  await mkdir(dir, { recursive: true });
  const f = path.join(dir, key.replace(/\//g, '_'));
  await writeFile(f, await readAllKey(key));
  const r = spawnSync('age', ['-d', '-i', idFile, f], { maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`age cannot decrypt ${key}: ${r.stderr.toString()}`);
  return r.stdout;
}

/**
 * Isolates object `sha` off-site so that damage to it touches it alone: an object file is left as
 * it is; a packed one's pack is written again (encrypted to the recipient with the age tool)
 * without it, and, with `alone`, it goes into a pack of its own. Returns the key holding it then
 * (undefined: removed) and the undo, which puts the original pack and index back.
 */
async function isolate(sha: string, alone: boolean): Promise<{ key?: string; undo: () => Promise<void> }> {
  const found = await objectByHand(decryptKey, async (prefix) => [...(await keys(prefix))], sha);
  if (!found.key.startsWith('packs/')) return { key: found.key, undo: async () => {} };
  const pack = found.key.split('/').at(-1) as string;
  const indexKey = `index/${pack}.json`;
  const saved = { pack: await readAllKey(found.key), index: await readAllKey(indexKey) };
  const index = parsePackIndexFile(await decryptKey(indexKey), pack);
  const encrypt = (plain: Buffer | string) => {
    const r = spawnSync('age', ['-r', recipient], { input: plain, maxBuffer: 64 * 1024 * 1024 });
    expect(r.status).toBe(0);
    return r.stdout;
  };
  const added: string[] = [];
  let key: string | undefined;
  for (const p of packsWithout(index, await decryptKey(found.key), sha, alone)) {
    const k = `packs/${p.pack.slice(0, 2)}/${p.pack}`;
    await bucket().put(k, encrypt(p.body));
    await bucket().put(`index/${p.pack}.json`, encrypt(p.index));
    added.push(`index/${p.pack}.json`, k);
    if (p.index.includes(sha)) key = k;
  }
  await bucket().delete(indexKey);
  await bucket().delete(found.key);
  return {
    key,
    undo: async () => {
      for (const k of added) await bucket().delete(k);
      await bucket().put(found.key, saved.pack);
      await bucket().put(indexKey, saved.index);
    },
  };
}

async function readAllKey(key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await bucket().get(key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test('an off-site copy decrypts by hand with the standard age tool and the identity', async () => {
  const snaps = [...(await keys('snapshots'))];
  expect(snaps.length).toBeGreaterThan(0);
  const dir = path.join(env.root, 'by-hand');
  await mkdir(dir, { recursive: true });
  const fetchTo = async (key: string) => {
    const chunks: Buffer[] = [];
    for await (const c of await bucket().get(key)) chunks.push(c as Buffer);
    const f = path.join(dir, key.replace(/\//g, '_'));
    await writeFile(f, Buffer.concat(chunks));
    return f;
  };
  const age = (file: string) => spawnSync('age', ['-d', '-i', idFile, file], { maxBuffer: 64 * 1024 * 1024 });
  const manifestFile = await fetchTo(snaps[0] as string);
  expect((await readFile(manifestFile)).subarray(0, 21).toString()).toBe('age-encryption.org/v1');
  const m = age(manifestFile);
  expect(m.status).toBe(0);
  const manifest = JSON.parse(m.stdout.toString());
  expect(snaps[0]).toBe(`snapshots/${manifest.id}.json`);
  const entry = manifest.components
    .find((c: { id: string }) => c.id === 'config')
    .entries.find((e: { path: string }) => e.path === 'config.json');
  // Its object file, or (repository.packs) its slice of a pack found through the pack indexes,
  // each key decrypted with the age tool.
  const read = async (key: string) => {
    const r = age(await fetchTo(key));
    expect(r.status).toBe(0);
    return r.stdout;
  };
  const obj = await objectByHand(read, async (prefix) => [...(await keys(prefix))], entry.sha256);
  expect(createHash('sha256').update(obj.bytes).digest('hex')).toBe(entry.sha256);
  expect(JSON.parse(obj.bytes.toString()).SqlSettings).toBeDefined();
});
