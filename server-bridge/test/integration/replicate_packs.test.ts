/**
 * replicate of a repository that packs small objects, to the real S3-compatible test server
 * (s3rver), plain and age-encrypted: the off-site copy gets the local packs and their indexes
 * (not one object file per small file) and marker version 2 (also from a host holding only the
 * public key), a second replicate sends no object
 * or pack again, every object of the copied snapshots reads back from the bucket alone with its
 * original bytes, and the off-site retention sweep removes a pack only dropped snapshots used
 * (and a pack with no index) while a partly used pack stays whole; a pack whose index only the
 * bucket has and this host cannot decrypt is kept.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { discover } from '../../src/discovery/discover';
import { openContext, type EngineContext } from '../../src/jobs/context';
import type { Job, StepContext } from '../../src/jobs/runner';
import type { Manifest } from '../../src/manifest/manifest';
import { openOffsite } from '../../src/offsite/open_offsite';
import { planReplicate, type ReplicateOutcome } from '../../src/operations/replicate_plan';
import { checkObjects } from '../../src/operations/verify_plan';
import { packKey } from '../../src/repository/layout';
import { generateKeyPair } from '../../src/storage/age';
import type { S3Storage } from '../../src/storage/s3_storage';
import { readAll } from '../../src/storage/storage';
import { materialize } from '../support/manifests';
import { backupOnline, runLocked, writeInstallConfig } from '../support/install_fixture';
import { useS3Server } from '../support/s3_fixture';

const s3 = useS3Server();
let work: string;
let install: string;
let n = 0;
let recipient: string;

beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'replicate-packs-'));
  install = path.join(work, 'mattermost');
  await writeInstallConfig(install);
  for (let i = 0; i < 30; i++) await put(`teams/t${i % 4}/f${i}/thumb.jpg`, randomBytes(100 + i * 211));
  await put('teams/t0/big.bin', randomBytes(200 * 1024));
  await s3.writeKeyFiles(work);
  const pair = await generateKeyPair();
  recipient = pair.recipient;
  await writeFile(path.join(work, 'identity'), `${pair.identity}\n`, { mode: 0o600 });
});
afterEach(() => rm(work, { recursive: true, force: true }));

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function put(rel: string, body: Buffer): Promise<void> {
  const f = path.join(install, 'data', rel);
  await mkdir(path.dirname(f), { recursive: true });
  await writeFile(f, body);
}

/** plain; age with the identity here; age with only the recipient here (a host that writes copies, never reads them). */
type Keys = 'plain' | 'identity' | 'recipient';

function config(prefix: string, keys: Keys, keepOffsite = 10): Config {
  const keep = (last: number) => ({ keepLast: last, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 });
  return parseConfig(
    {
      mattermost: { installDir: install, url: 'http://127.0.0.1:1' },
      service: { preset: 'none' },
      repository: { path: path.join(work, 'repo'), packs: true },
      backup: { exclude: ['database'] },
      retention: keep(10),
      offsite: {
        mode: 'replicate',
        s3: s3.offsiteS3(work, prefix),
        ...(keys === 'identity' ? { encryption: { identityFile: path.join(work, 'identity') } } : {}),
        ...(keys === 'recipient' ? { encryption: { recipients: [recipient] } } : {}),
        retention: keep(keepOffsite),
        retry: { attempts: 2, baseDelayMs: 50, maxDelayMs: 100 },
      },
    },
    path.join(work, 'mm-backup.json'),
  );
}

async function run(ec: EngineContext, job: Job): Promise<void> {
  expect((await runLocked(ec, () => job)).error).toBeUndefined();
}

async function backup(ec: EngineContext): Promise<Manifest> {
  return backupOnline(ec, await discover(ec.cfg));
}

async function replicate(ec: EngineContext): Promise<ReplicateOutcome> {
  const rep = planReplicate(ec, () => (ec.offsite as NonNullable<EngineContext['offsite']>)());
  await run(ec, rep.job);
  return rep.outcome;
}

/** The bucket as stored (ciphertext when encrypted). */
function raw(prefix: string): S3Storage {
  return s3.bucket(prefix);
}

async function keys(storage: S3Storage, under: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of storage.list(under)) out.push(o.key);
  return out.sort();
}

async function localKeys(under: string): Promise<string[]> {
  const root = path.join(work, 'repo');
  const out: string[] = [];
  for (const e of await readdir(path.join(root, under), { recursive: true, withFileTypes: true }).catch(() => [])) {
    if (e.isFile()) out.push(path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
  }
  return out.sort();
}

async function localBytes(keyList: string[]): Promise<number> {
  let total = 0;
  for (const k of keyList) total += (await stat(path.join(work, 'repo', k))).size;
  return total;
}

/** Every file of snapshot `id`, read from the bucket alone (a fresh off-site open), equals `want`; verify finds nothing. */
async function readsBack(cfg: Config, id: string, want: Map<string, Buffer>): Promise<void> {
  const off = await openOffsite(cfg.offsite as NonNullable<Config['offsite']>, { create: false });
  const m = await off.repo.loadSnapshot(id);
  const files = (await materialize(m)).components
    .find((c) => c.id === 'data')
    ?.entries.filter((e) => e.type === 'file');
  expect(files?.map((e) => e.path).sort()).toEqual([...want.keys()].sort());
  for (const e of files ?? []) {
    expect(sha(await off.repo.readObjectBytes(e.sha256 as string))).toBe(sha(want.get(e.path) as Buffer));
  }
  const ctx: StepContext = { signal: new AbortController().signal, progress: () => undefined, log: () => undefined };
  expect((await checkObjects(off.repo, m, ctx)).issues).toEqual([]);
}

async function dataFiles(): Promise<Map<string, Buffer>> {
  const root = path.join(install, 'data');
  const out = new Map<string, Buffer>();
  for (const e of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const abs = path.join(e.parentPath, e.name);
    out.set(path.relative(root, abs).split(path.sep).join('/'), await readFile(abs));
  }
  return out;
}

test.each([
  ['plain', 'plain'],
  ['age-encrypted', 'identity'],
  ['age-encrypted, only the public key here', 'recipient'],
] as Array<[string, Keys]>)(
  'replicate of a packed repository (%s): packs and indexes go off-site, nothing twice, every object reads back, retention sweeps packs',
  async (_label, who) => {
    const prefix = `packs-${++n}`;
    const encrypted = who !== 'plain';
    const cfg = config(prefix, who);
    // What reads the copy back: the same host, or (public key only here) one with the identity.
    const readCfg = config(prefix, who === 'recipient' ? 'identity' : who);
    const ec = await openContext(cfg, { notice: () => undefined });
    const files1 = await dataFiles();
    const m1 = await backup(ec);
    const packs1 = await localKeys('packs');
    expect(packs1).toHaveLength(1);
    const objects1 = await localKeys('objects');
    expect(objects1).toHaveLength(1); // big.bin; config.json and the thumbnails are packed

    const r1 = await replicate(ec);
    expect(r1.copied).toEqual([m1.id]);
    expect(r1.packsUploaded).toBe(1);
    expect(r1.objectsUploaded).toBe(1);
    const indexes1 = await localKeys('index');
    expect(r1.bytesUploaded).toBe(await localBytes([...packs1, ...indexes1, ...objects1]));
    const bucket = raw(prefix);
    expect(await keys(bucket, 'packs')).toEqual(packs1);
    expect(await keys(bucket, 'index')).toEqual(indexes1);
    expect(await keys(bucket, 'objects')).toEqual(objects1);
    const marker = JSON.parse((await readAll(await bucket.get('repository.json'))).toString());
    expect(marker).toMatchObject({ version: 2, encryption: encrypted ? 'age' : 'none' });
    const storedPack = await readAll(await bucket.get(packs1[0] as string));
    const packName = (packs1[0] as string).split('/').at(-1);
    if (encrypted) expect(storedPack.subarray(0, 21).toString()).toBe('age-encryption.org/v1');
    else expect(sha(storedPack)).toBe(packName);
    await readsBack(readCfg, m1.id, files1);

    // The same files again: a new snapshot, and nothing but its manifest (and signature) goes up.
    const m2 = await backup(ec);
    const before = await keys(bucket, '');
    const r2 = await replicate(ec);
    expect(r2).toMatchObject({ copied: [m2.id], objectsUploaded: 0, packsUploaded: 0, bytesUploaded: 0 });
    expect((await keys(bucket, '')).filter((k) => !before.includes(k))).toEqual([
      `snapshots/${m2.id}.json`,
      `snapshots/${m2.id}.sig`,
    ]);

    // m3 alone uses x (its own pack); m4 adds y and w (one pack); m5 has y but neither x nor w.
    await put('teams/t1/x.jpg', randomBytes(3000));
    await backup(ec);
    const xPack = (await localKeys('packs')).find((k) => !packs1.includes(k)) as string;
    await put('teams/t1/y.jpg', randomBytes(4000));
    await put('teams/t1/w.jpg', randomBytes(5000));
    await backup(ec);
    const yPack = (await localKeys('packs')).find((k) => k !== xPack && !packs1.includes(k)) as string;
    await rm(path.join(install, 'data', 'teams', 't1', 'x.jpg'));
    await rm(path.join(install, 'data', 'teams', 't1', 'w.jpg'));
    const files5 = await dataFiles();
    const m5 = await backup(ec);
    const r3 = await replicate(ec);
    expect(r3).toMatchObject({ packsUploaded: 2, objectsUploaded: 0, packsRemoved: 0 });
    expect(await keys(bucket, 'packs')).toEqual([...packs1, xPack, yPack].sort());

    // A pack with no index (an upload cut between the two) is removed too. x's pack is judged
    // by its off-site index (decrypted when encrypted): the local one is gone.
    const off = await (ec.offsite as NonNullable<EngineContext['offsite']>)();
    const orphan = sha(Buffer.from(`orphan ${prefix}`));
    await off.storage.put(packKey(orphan), Buffer.from('nobody reads this'));
    const xName = xPack.split('/').at(-1) as string;
    await rm(path.join(work, 'repo', 'index', `${xName}.json`));
    const ec2 = await openContext(config(prefix, who, 1), { notice: () => undefined });
    const r4 = await replicate(ec2);
    expect(r4.removed).toHaveLength(4);
    expect(r4.copied).toEqual([]);
    expect(r4.objectsRemoved).toBe(0);
    // Without the identity x's off-site index cannot be read: its pack is kept, not guessed at.
    const left = who === 'recipient' ? [...packs1, xPack, yPack] : [...packs1, yPack];
    expect(r4.packsRemoved).toBe(who === 'recipient' ? 1 : 2);
    expect(await keys(bucket, 'packs')).toEqual(left.sort());
    expect(await keys(bucket, 'index')).toEqual(left.map((k) => `index/${k.split('/').at(-1) as string}.json`).sort());
    expect(await keys(bucket, 'snapshots')).toEqual([`snapshots/${m5.id}.json`, `snapshots/${m5.id}.sig`]);
    await readsBack(readCfg, m5.id, files5);
  },
  180_000,
);
