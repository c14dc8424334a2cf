/**
 * offsite.mode "direct" with repository.packs, against the real S3-compatible test server (s3rver)
 * and age encryption by passphrase: a backup packs small files straight into the bucket (staged
 * in the local staging directory, which is left empty), marks the bucket version 2, an unchanged
 * second backup stores no pack, and every file reads back from the bucket with its bytes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { discover } from '../../src/discovery/discover';
import { openContext, type EngineContext } from '../../src/jobs/context';
import type { StepContext } from '../../src/jobs/runner';
import type { Manifest } from '../../src/manifest/manifest';
import { checkObjects } from '../../src/operations/verify_plan';
import type { S3Storage } from '../../src/storage/s3_storage';
import { readAll } from '../../src/storage/storage';
import { materialize } from '../support/manifests';
import { backupOnline, writeInstallConfig } from '../support/install_fixture';
import { useS3Server } from '../support/s3_fixture';

const s3 = useS3Server();
let work: string;
let install: string;
const PREFIX = 'direct-packs';

beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'direct-packs-'));
  install = path.join(work, 'mattermost');
  await writeInstallConfig(install);
  for (let i = 0; i < 30; i++) {
    const f = path.join(install, 'data', 'teams', `t${i % 4}`, `f${i}`, 'thumb.jpg');
    await mkdir(path.dirname(f), { recursive: true });
    await writeFile(f, randomBytes(100 + i * 211));
  }
  await writeFile(path.join(install, 'data', 'teams', 't0', 'big.bin'), randomBytes(200 * 1024));
  await s3.writeKeyFiles(work);
  await writeFile(path.join(work, 'passphrase'), 'correct horse battery staple 42', { mode: 0o600 });
});
afterEach(() => rm(work, { recursive: true, force: true }));

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function config(): Config {
  return parseConfig(
    {
      mattermost: { installDir: install, url: 'http://127.0.0.1:1' },
      service: { preset: 'none' },
      repository: { path: path.join(work, 'state'), packs: true },
      backup: { exclude: ['database'] },
      offsite: {
        mode: 'direct',
        s3: s3.offsiteS3(work, PREFIX),
        encryption: { passphraseFile: path.join(work, 'passphrase') },
        retry: { attempts: 2, baseDelayMs: 50, maxDelayMs: 100 },
      },
    },
    path.join(work, 'mm-backup.json'),
  );
}

async function backup(ec: EngineContext): Promise<Manifest> {
  return backupOnline(ec, await discover(ec.cfg));
}

/** The bucket as stored (ciphertext). */
function bucket(): S3Storage {
  return s3.bucket(PREFIX);
}

async function keys(under: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of bucket().list(under)) out.push(o.key);
  return out.sort();
}

test('a direct-mode backup with packs packs into the bucket (encrypted), and every file reads back from it', async () => {
  const ec = await openContext(config(), { notice: () => undefined });
  const m = await backup(ec);
  const packs = await keys('packs');
  expect(packs).toHaveLength(1);
  expect(await keys('index')).toEqual([`index/${(packs[0] as string).split('/').at(-1) as string}.json`]);
  expect(await keys('objects')).toHaveLength(1); // big.bin only
  const marker = JSON.parse((await readAll(await bucket().get('repository.json'))).toString());
  expect(marker).toMatchObject({ version: 2, encryption: 'age' });
  const stored = await readAll(await bucket().get(packs[0] as string));
  expect(stored.subarray(0, 21).toString()).toBe('age-encryption.org/v1');
  expect(await readdir(path.join(work, 'state', 'tmp'))).toEqual([]);

  // Unchanged: a second snapshot, no second pack.
  const m2 = await backup(ec);
  expect(await keys('packs')).toEqual(packs);

  // Read back by a new context (another job), from the bucket alone.
  const reader = await openContext(config(), { notice: () => undefined });
  for (const id of [m.id, m2.id]) {
    const loaded = await reader.repo.loadSnapshot(id);
    const files = (await materialize(loaded)).components
      .find((c) => c.id === 'data')
      ?.entries.filter((e) => e.type === 'file');
    expect(files).toHaveLength(31);
    for (const e of files ?? []) {
      const want = await readFile(path.join(install, 'data', e.path));
      expect(sha(await reader.repo.readObjectBytes(e.sha256 as string))).toBe(sha(want));
    }
    const ctx: StepContext = { signal: new AbortController().signal, progress: () => undefined, log: () => undefined };
    expect((await checkObjects(reader.repo, loaded, ctx)).issues).toEqual([]);
  }
}, 120_000);
