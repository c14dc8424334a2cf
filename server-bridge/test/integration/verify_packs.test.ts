/**
 * verify of a repository whose small objects are in packs (repository.packs: true), on real files:
 * each pack is checked against its index (missing, cut short, deep: hashed whole), broken index
 * files fail the verify and the objects they listed are named as missing with the reason, a pack
 * without an index is a note, and hostile indexes are refused without a read outside the pack.
 * A bucket (memory storage) never holds a pack whole beyond what its index says; an encrypted
 * bucket (real S3-compatible server, direct mode) verifies clean and deep verify names a pack whose
 * ciphertext was changed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/config/load';
import { discover, type Discovery } from '../../src/discovery/discover';
import type { Manifest } from '../../src/manifest/manifest';
import { openContext, type EngineContext } from '../../src/jobs/context';
import type { JobEvent } from '../../src/jobs/events';
import type { JobLock } from '../../src/jobs/lock';
import type { Job, JobResult, StepContext } from '../../src/jobs/runner';
import { verifyLoaded } from '../../src/operations/verify';
import { planVerify } from '../../src/operations/verify_plan';
import { collectEntries } from '../../src/manifest/entry_list';
import { Repository } from '../../src/repository/repository';
import { backupTree } from '../../src/repository/tree_backup';
import { readVerifications } from '../../src/repository/verifications';
import { MemoryStorage } from '../../src/storage/memory_storage';
import { readAll } from '../../src/storage/storage';
import { generateKeyPair } from '../../src/storage/age';
import { EncryptedStorage } from '../../src/storage/encrypted_storage';
import { isPlaintextKey } from '../../src/repository/layout';
import { checkPacks } from '../../src/operations/verify_packs';
import { FlakyStorage } from '../support/flaky_storage';
import { materialize } from '../support/manifests';
import { backupAndLoad, runLocked, writeInstallConfig } from '../support/install_fixture';
import { useS3Server } from '../support/s3_fixture';

let work: string;
let install: string;
let repoDir: string;
let ec: EngineContext;
let d: Discovery;

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

const run = (make: (lock: JobLock) => Job, events: JobEvent[] = []): Promise<JobResult> => runLocked(ec, make, events);

/** Small files under data/ (packed) and one larger than 128 KiB (an object file). */
async function writeData(prefix: string, n: number): Promise<void> {
  const dir = path.join(install, 'data', 'teams', prefix);
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < n; i++) await writeFile(path.join(dir, `f${i}.png`), randomBytes(200 + i * 300));
}

beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'verify-packs-'));
  install = path.join(work, 'mattermost');
  repoDir = path.join(work, 'repo');
  await writeInstallConfig(install);
  await mkdir(path.join(install, 'bin'), { recursive: true });
  await writeFile(path.join(install, 'bin', 'mattermost'), '#!/bin/sh\n');
  await writeData('a', 12);
  await writeFile(path.join(install, 'data', 'big.bin'), randomBytes(200 * 1024));
  ec = await openContext(localConfig(true), { notice: () => undefined });
  d = await discover(localConfig(true));
});

function localConfig(packs: boolean) {
  return parseConfig(
    {
      mattermost: { installDir: install, url: 'http://127.0.0.1:1' },
      service: { preset: 'none' },
      repository: { path: repoDir, packs },
      backup: { exclude: ['database'] },
    },
    path.join(work, 'mm-backup.json'),
  );
}
afterEach(() => rm(work, { recursive: true, force: true }));

const backup = (): Promise<Manifest> => backupAndLoad(ec, d);

async function verify(m: Manifest, deep = false) {
  const plan = planVerify(ec, m, undefined, { deep });
  const events: JobEvent[] = [];
  const result = await run(() => plan.job, events);
  const packStep = events.find((e) => e.type === 'step.finished' && e.step === 'packs');
  return { result, outcome: plan.outcome, packStep: packStep && 'summary' in packStep ? packStep.summary : undefined };
}

async function keysUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const sub of await readdir(path.join(repoDir, dir)).catch(() => [] as string[])) {
    const abs = path.join(repoDir, dir, sub);
    const inner = await readdir(abs).catch(() => undefined);
    if (inner) out.push(...inner.map((n) => `${dir}/${sub}/${n}`));
    else out.push(`${dir}/${sub}`);
  }
  return out.sort();
}

/** The data files of `m` that are packed, with where each is. */
async function packedFiles(m: Manifest) {
  const data = (await materialize(m)).components.find((c) => c.id === 'data');
  const out: Array<{ path: string; sha256: string; pack: string; offset: number; size: number }> = [];
  await ec.repo.loadPacks();
  for (const e of data?.entries ?? []) {
    if (e.type !== 'file' || !e.sha256) continue;
    const loc = ec.repo.locateSync(e.sha256);
    if (loc) out.push({ path: e.path, sha256: e.sha256, ...loc });
  }
  return out;
}

test('a repository without packs: the step says so and finds nothing', async () => {
  ec = await openContext(localConfig(false), { notice: () => undefined });
  const v = await verify(await backup());
  expect(v.result.error).toBeUndefined();
  expect(v.packStep).toBe('no packs');
  expect(await keysUnder('packs')).toEqual([]);
});

test('a clean packed repository verifies, deep too, and the result is recorded', async () => {
  const m = await backup();
  const packs = await keysUnder('packs');
  expect(packs).toHaveLength(1);
  expect(await keysUnder('index')).toEqual([`index/${packs[0]!.split('/').at(-1)!}.json`]);
  expect((await packedFiles(m)).length).toBeGreaterThanOrEqual(12);
  const v = await verify(m);
  expect(v.result.error).toBeUndefined();
  expect(v.outcome.issues).toEqual([]);
  expect(v.outcome.notes).toEqual([]);
  expect(v.packStep).toBe('1 pack, 0 problems');
  const deep = await verify(m, true);
  expect(deep.result.error).toBeUndefined();
  expect(deep.packStep).toMatch(/^1 pack, [\d.]+ [KM]?B re-hashed whole, 0 problems$/);
  expect((await readVerifications(ec.storage, ec.trust)).get(m.id)).toMatchObject({ ok: true, deep: true });
});

test('a flipped byte in a pack: the file using the object fails, naming its pack; deep verify names the pack', async () => {
  const m = await backup();
  const [victim] = await packedFiles(m);
  const file = path.join(repoDir, 'packs', victim!.pack.slice(0, 2), victim!.pack);
  const bytes = await readFile(file);
  bytes[victim!.offset + 1]! ^= 0x40;
  await writeFile(file, bytes);

  const v = await verify(m);
  expect(v.result.error?.code).toBe('VERIFICATION_FAILED');
  expect(v.outcome.issues).toEqual([
    {
      component: 'data',
      path: victim!.path,
      object: victim!.sha256,
      problem: expect.stringMatching(
        new RegExp(`does not match its checksum .* in pack ${victim!.pack.slice(0, 12)}… at byte ${victim!.offset}$`),
      ) as unknown,
    },
  ]);
  const deep = await verify(m, true);
  expect(deep.outcome.issues).toContainEqual({
    component: 'pack',
    path: `packs/${victim!.pack.slice(0, 2)}/${victim!.pack}`,
    object: victim!.pack,
    problem: expect.stringMatching(/^pack is damaged: its content hashes to [0-9a-f]{12}…, not its name$/) as unknown,
  });
  expect(deep.result.error?.message).toMatch(/failed verification \(2 problems\)/);
  const rec = (await readVerifications(ec.storage, ec.trust)).get(m.id);
  expect(rec).toMatchObject({ ok: false, deep: true });
  expect(rec?.issues.map((i) => i.component).sort()).toEqual(['data', 'pack']);
});

test('a pack cut short: its index says more, every object past the end is named, nothing is read past it', async () => {
  const m = await backup();
  const files = await packedFiles(m);
  const pack = files[0]!.pack;
  const size = ec.repo.packs.sizeOfPack(pack)!;
  const cut = Math.floor(size / 2);
  await truncate(path.join(repoDir, 'packs', pack.slice(0, 2), pack), cut);
  const past = files.filter((f) => f.offset + f.size > cut);
  expect(past.length).toBeGreaterThan(0);

  for (const deep of [false, true]) {
    const v = await verify(m, deep);
    expect(v.result.error?.code).toBe('VERIFICATION_FAILED');
    expect(v.outcome.issues.filter((i) => i.component === 'pack')).toEqual([
      {
        component: 'pack',
        path: `packs/${pack.slice(0, 2)}/${pack}`,
        object: pack,
        problem: `pack has ${cut} bytes, its index says ${size}: the objects past its end are lost`,
      },
    ]);
    const named = v.outcome.issues.filter((i) => i.component === 'data');
    expect(named.map((i) => i.path).sort()).toEqual(past.map((f) => f.path).sort());
    for (const i of named) {
      expect(i.problem).toMatch(
        new RegExp(
          `^object is missing: its pack ${pack.slice(0, 12)}… has ${cut} bytes, its index says ${size} \\(cut short\\)`,
        ),
      );
    }
  }
});

test('a missing pack: the pack and each file whose object was in it are named', async () => {
  const m = await backup();
  const files = await packedFiles(m);
  const pack = files[0]!.pack;
  await rm(path.join(repoDir, 'packs', pack.slice(0, 2), pack));
  const v = await verify(m);
  expect(v.result.error?.code).toBe('VERIFICATION_FAILED');
  expect(v.outcome.issues[0]).toEqual({
    component: 'pack',
    path: `packs/${pack.slice(0, 2)}/${pack}`,
    object: pack,
    problem: `pack is missing: the objects its index (index/${pack}.json) lists are lost`,
  });
  expect(v.outcome.issues.slice(1).map((i) => [i.path, i.problem])).toEqual(
    expect.arrayContaining(files.map((f) => [f.path, `object is missing: its pack ${pack.slice(0, 12)}… is missing`])),
  );
  expect(v.result.error?.hint).toMatch(/When verify finds a damaged pack/);
});

describe('broken index files fail the verify of a snapshot using their objects, and never crash it', () => {
  /** Two backups, so two packs: the second holds the files added between them. */
  async function twoPacks() {
    const first = await backup();
    await writeData('b', 5);
    const second = await backup();
    const inFirst = new Set((await packedFiles(first)).map((f) => f.sha256));
    const files = await packedFiles(second);
    const a = files.find((f) => inFirst.has(f.sha256))!.pack;
    const b = files.find((f) => !inFirst.has(f.sha256))!.pack;
    expect(a).not.toBe(b);
    return { first, second, files, a, b };
  }

  test.each([
    ['garbage', () => Buffer.from('{"format": "mm-backup-pack-index", "vers'), /not JSON/],
    ['another pack named', (other: Buffer) => other, /names another pack than its file name does/],
  ])('%s', async (_name, content, problem) => {
    const { first, second, files, a, b } = await twoPacks();
    const indexB = path.join(repoDir, 'index', `${b}.json`);
    await writeFile(indexB, content(await readFile(path.join(repoDir, 'index', `${a}.json`))));

    const v = await verify(second);
    expect(v.result.error?.code).toBe('VERIFICATION_FAILED');
    expect(v.outcome.issues[0]).toEqual({
      component: 'pack-index',
      path: `index/${b}.json`,
      object: b,
      problem: expect.stringMatching(problem) as unknown,
    });
    const lost = files.filter((f) => f.pack === b);
    const missing = v.outcome.issues.filter((i) => i.component === 'data');
    expect(missing.map((i) => i.path).sort()).toEqual(lost.map((f) => f.path).sort());
    for (const i of missing) {
      expect(i.problem).toBe(
        `object is missing: it is no object file and in no readable pack, and 1 pack index cannot be read (index/${b}.json): one may list it`,
      );
    }
    // Its pack is not called an orphan: its index is what is wrong.
    expect(v.outcome.notes).toEqual([]);
    // The first snapshot's objects are all readable, but the repository is damaged: it fails too.
    const v1 = await verify(first);
    expect(v1.outcome.issues.map((i) => i.component)).toEqual(['pack-index']);
    expect(v1.result.error?.hint).toMatch(/^every object of this snapshot checked intact, but packs or pack indexes/);
  });

  test('an index placing objects ~1 GiB past the end of its pack: refused by range, nothing read or held', async () => {
    const { second, files, b } = await twoPacks();
    const indexB = path.join(repoDir, 'index', `${b}.json`);
    const index = JSON.parse(await readFile(indexB, 'utf8')) as {
      size: number;
      objects: Array<{ sha256: string; offset: number; size: number }>;
    };
    // Fake 128 KiB objects put first: the real ones now sit at ~1 GiB, the size the index claims.
    const fake = 8191;
    const objects = [
      ...Array.from({ length: fake }, (_, i) => ({ sha256: sha(`fake ${i}`), offset: i * 131072, size: 131072 })),
      ...index.objects.map((o) => ({ ...o, offset: o.offset + fake * 131072 })),
    ];
    const claimed = index.size + fake * 131072;
    await writeFile(indexB, JSON.stringify({ ...index, size: claimed, objects }));
    const before = process.memoryUsage().arrayBuffers;

    for (const deep of [false, true]) {
      const v = await verify(second, deep);
      expect(v.result.error?.code).toBe('VERIFICATION_FAILED');
      expect(v.outcome.issues.filter((i) => i.component === 'pack').map((i) => i.problem)).toEqual([
        `pack has ${index.size} bytes, its index says ${claimed}: the objects past its end are lost`,
      ]);
      const lost = files.filter((f) => f.pack === b);
      const named = v.outcome.issues.filter((i) => i.component === 'data');
      expect(named.map((i) => i.path).sort()).toEqual(lost.map((f) => f.path).sort());
      for (const i of named) expect(i.problem).toMatch(/^object is missing: its pack .* \(cut short\)/);
    }
    // Nothing the size of the claim was allocated (a slice is at most 128 KiB, read after the range check).
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(256 * 1024 * 1024);
  });
});

test('a pack without an index is a note: verify succeeds and says so, deep too', async () => {
  const m = await backup();
  const orphan = randomBytes(5000);
  const name = sha(orphan);
  await mkdir(path.join(repoDir, 'packs', name.slice(0, 2)), { recursive: true });
  await writeFile(path.join(repoDir, 'packs', name.slice(0, 2), name), orphan);
  for (const deep of [false, true]) {
    const op = await verifyLoaded(ec, m, { deep });
    const r = await run(() => op.job);
    expect(r.error).toBeUndefined();
    const note = `1 pack without an index (packs/${name.slice(0, 2)}/${name}; 4.9 KB): left by an interrupted backup, nothing reads them; mm-backup prune removes them`;
    expect(op.result()).toMatchObject({ issues: [], notes: [note] });
    expect(op.summary().text).toMatch(/verified.*intact\. Notes: 1 pack without an index/);
  }
  expect((await readVerifications(ec.storage, ec.trust)).get(m.id)).toMatchObject({ ok: true, issues: [] });
});

test('a bucket: a pack whose index claims more than 64 MiB is read by range only; one longer than its index is refused as it arrives', async () => {
  const storage = new MemoryStorage();
  await mkdir(path.join(work, 'stage'));
  const repo = await Repository.open(storage, { packs: true, stagingDir: path.join(work, 'stage') });
  const res = await backupTree({ root: path.join(install, 'data'), exclude: [], repo });
  const entries = (await collectEntries(res.entries)).filter((e) => e.type === 'file' && e.size! < 1000);
  await repo.packs.flush();
  const keys: string[] = [];
  for await (const o of storage.list('')) keys.push(o.key);
  const packKey = keys.find((k) => k.startsWith('packs/'))!;
  const pack = packKey.split('/').at(-1)!;
  const indexKey = `index/${pack}.json`;
  const original = await readAll(await storage.get(indexKey));
  const index = JSON.parse(original.toString('utf8')) as { size: number; objects: Array<{ sha256: string }> };

  // The index claims a 1 GiB pack (fake objects after the real ones): two reads, both by range.
  const fake = Array.from({ length: 8000 }, (_, i) => ({
    sha256: sha(`fake ${i}`),
    offset: index.size + i * 131072,
    size: 131072,
  }));
  await storage.put(
    indexKey,
    Buffer.from(JSON.stringify({ ...index, size: index.size + 8000 * 131072, objects: [...index.objects, ...fake] })),
  );
  const counted = new FlakyStorage(storage, 0);
  const reader = await Repository.open(counted);
  for (const e of entries.slice(0, 3)) expect(sha(await reader.readObjectBytes(e.sha256!))).toBe(e.sha256);
  expect(counted.attempts.get(`loadRange ${packKey}`)).toBe(3);
  expect(counted.attempts.get(`load ${packKey}`)).toBeUndefined();

  // The index as written, the pack grown: the whole read stops at the index's size.
  await storage.put(indexKey, original);
  await storage.put(packKey, Buffer.concat([await readAll(await storage.get(packKey)), Buffer.alloc(1 << 20)]));
  const fresh = await Repository.open(storage);
  await fresh.readObjectBytes(entries[0]!.sha256!); // by range: intact
  expect(await fresh.checkObject(entries[1]!.sha256!, undefined)).toMatch(
    new RegExp(`^pack ${pack.slice(0, 12)}… is damaged: longer than the ${index.size} bytes its index says$`),
  );
});

describe('an encrypted bucket (offsite.mode direct, passphrase)', () => {
  const s3 = useS3Server();

  test('verify and deep verify pass; a pack whose ciphertext changed fails deep verify, named', async () => {
    await s3.writeKeyFiles(work);
    await writeFile(path.join(work, 'passphrase'), 'correct horse battery staple 42', { mode: 0o600 });
    const s3cfg = s3.offsiteS3(work, 'verify-packs');
    const cfg = parseConfig(
      {
        mattermost: { installDir: install, url: 'http://127.0.0.1:1' },
        service: { preset: 'none' },
        repository: { path: path.join(work, 'state'), packs: true },
        backup: { exclude: ['database'] },
        offsite: {
          mode: 'direct',
          s3: s3cfg,
          encryption: { passphraseFile: path.join(work, 'passphrase') },
          retry: { attempts: 2, baseDelayMs: 50, maxDelayMs: 100 },
        },
      },
      path.join(work, 'mm-backup.json'),
    );
    ec = await openContext(cfg, { notice: () => undefined });
    const m = await backup();
    for (const deep of [false, true]) {
      const v = await verify(m, deep);
      expect(v.result.error).toBeUndefined();
      expect(v.packStep).toMatch(/^1 pack, .*0 problems$/);
    }
    const raw = s3.bucket('verify-packs');
    const packKeys: string[] = [];
    for await (const o of raw.list('packs')) packKeys.push(o.key);
    expect(packKeys).toHaveLength(1);
    const body = await readAll(await raw.get(packKeys[0]!));
    body[Math.floor(body.length / 2)]! ^= 1;
    await raw.put(packKeys[0]!, body);
    const deep = await verify(m, true);
    expect(deep.result.error?.code).toBe('VERIFICATION_FAILED');
    expect(deep.outcome.issues).toContainEqual({
      component: 'pack',
      path: packKeys[0],
      object: packKeys[0]!.split('/').at(-1),
      problem: expect.stringMatching(/^pack cannot be read: /) as unknown,
    });
  }, 120_000);
});

test('encrypted, read by a host with only the identity (its listing gives stored sizes): no size is compared, deep verify hashes the packs clean', async () => {
  const { identity, recipient } = await generateKeyPair();
  const memory = new MemoryStorage();
  await mkdir(path.join(work, 'stage'));
  const writer = await Repository.open(
    new EncryptedStorage(memory, { recipients: [recipient], identities: [identity] }, isPlaintextKey),
    { packs: true, stagingDir: path.join(work, 'stage') },
  );
  await collectEntries((await backupTree({ root: path.join(install, 'data'), exclude: [], repo: writer })).entries);
  await writer.packs.flush();
  const reader = await Repository.open(
    new EncryptedStorage(memory, { recipients: [], identities: [identity] }, isPlaintextKey),
  );
  const ctx: StepContext = { signal: new AbortController().signal, progress: () => undefined, log: () => undefined };
  for (const deep of [false, true]) {
    const r = await checkPacks(reader, ctx, { deep });
    expect(r.issues).toEqual([]);
    expect(r.summary).toMatch(/^1 pack, /);
  }
});
