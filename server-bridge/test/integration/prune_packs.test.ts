/**
 * Prune with packs, through the real plans on a real repository (a local directory; a real
 * S3-compatible server, encrypted, in offsite.mode "direct"): four backups that pack every file,
 * then retention keeps the last. The pack no kept snapshot uses goes (its index first), the pack
 * mostly unused is rewritten (a new pack holding exactly its used objects), the pack little
 * unused stays; an orphan pack goes, a broken index and its pack stay, an index whose pack is
 * missing does not stop it; a dry run changes nothing; a rewrite interrupted by a file that cannot
 * be removed (chattr +i: a real EPERM) leaves every object of the kept snapshot readable, and the
 * next prune finishes the work. The kept snapshot reads back byte for byte from a fresh context.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/config/load';
import { discover } from '../../src/discovery/discover';
import { openContext, type EngineContext } from '../../src/jobs/context';
import type { JobEvent } from '../../src/jobs/events';
import { JobLock } from '../../src/jobs/lock';
import { runJob, type Job, type JobResult } from '../../src/jobs/runner';
import type { Manifest } from '../../src/manifest/manifest';
import { planBackup } from '../../src/operations/backup_plan';
import { planPrune, type PruneOutcome } from '../../src/operations/prune_plan';
import { packIndexKey, packKey } from '../../src/repository/layout';
import { serializePackIndexFile } from '../../src/repository/pack_index_file';
import { readBuffer } from '../../src/storage/storage';
import { runProcess } from '../../src/process/run_process';
import { materialize } from '../support/manifests';
import { startS3Server, type S3Server } from '@mm-backup/testkit';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

let work: string;
let s3: S3Server | undefined;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'prune-packs-'));
});
afterEach(async () => {
  await runProcess('chattr', ['-R', '-i', work]).catch(() => undefined);
  await rm(work, { recursive: true, force: true });
});
afterAll(async () => {
  await s3?.destroy();
});

interface World {
  cfgRaw: Record<string, unknown>;
  ec: EngineContext;
  install: string;
  /** The packs each backup stored, in order: P1..P4. */
  packs: string[];
  /** What the kept (last) snapshot holds: path in the data component -> bytes. */
  kept: Map<string, Buffer>;
  keptId: string;
  /** The used objects of P2, which its rewrite must hold exactly. */
  zShas: string[];
}

async function context(cfgRaw: Record<string, unknown>): Promise<EngineContext> {
  return openContext(parseConfig(cfgRaw, path.join(work, 'mm-backup.json')), { notice: () => undefined });
}

async function run(ec: EngineContext, job: Job, events: JobEvent[] = []): Promise<JobResult> {
  const { lock } = await JobLock.acquire(ec.lockDir, 'j'.repeat(26), 'test');
  try {
    return await runJob(job, new AbortController().signal, (e) => events.push(e));
  } finally {
    await lock.release();
  }
}

async function keys(ec: EngineContext, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of ec.storage.list(prefix)) out.push(o.key);
  return out.sort();
}

const packsOf = async (ec: EngineContext) => (await keys(ec, 'packs')).map((k) => k.split('/').at(-1) as string);

/** Every key of the repository with the SHA-256 of its content (as read through the storage). */
async function state(ec: EngineContext): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const prefix of ['objects', 'packs', 'index', 'snapshots', 'repository.json']) {
    for (const k of await keys(ec, prefix)) out.set(k, sha(await readBuffer(ec.storage, k)));
  }
  return out;
}

async function indexShas(ec: EngineContext, pack: string): Promise<string[]> {
  const doc = JSON.parse((await readBuffer(ec.storage, packIndexKey(pack))).toString()) as {
    objects: Array<{ sha256: string }>;
  };
  return doc.objects.map((o) => o.sha256).sort();
}

/**
 * Four backups, each storing one pack: P1 = X (8 x 16 KiB) + config 1, P2 = Y (8 x 16 KiB) +
 * Z (2 x 16 KiB) + config 2, P3 = W (8 x 16 KiB) + V (8 KiB) + config 3, P4 = config 4. The last
 * snapshot holds Z and W: P1 is unused, P2 mostly unused (rewritten), P3 6% unused (kept).
 */
async function build(extra: Record<string, unknown>): Promise<World> {
  const install = path.join(work, 'mattermost');
  const data = path.join(install, 'data');
  await mkdir(path.join(install, 'config'), { recursive: true });
  const cfgRaw = {
    mattermost: { installDir: install, url: 'http://127.0.0.1:1' },
    service: { preset: 'none' },
    repository: { path: path.join(work, 'repo'), packs: true },
    backup: { exclude: ['database'] },
    retention: { keepLast: 1, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 },
    ...extra,
  };
  const ec = await context(cfgRaw);
  const tree = new Map<string, Buffer>();
  const set = (names: string[], size: number) => {
    for (const n of names) tree.set(n, randomBytes(size));
  };
  const group = (g: string, n: number) => Array.from({ length: n }, (_, i) => `teams/a/${g}${i}.bin`);
  const packs: string[] = [];
  let last: Manifest | undefined;
  const rounds: Array<() => void> = [
    () => set(group('x', 8), 16 * 1024),
    () => {
      for (const n of group('x', 8)) tree.delete(n);
      set([...group('y', 8), ...group('z', 2)], 16 * 1024);
    },
    () => {
      for (const n of group('y', 8)) tree.delete(n);
      set(group('w', 8), 16 * 1024);
      set(['teams/a/v.bin'], 8 * 1024);
    },
    () => tree.delete('teams/a/v.bin'),
  ];
  for (const [i, change] of rounds.entries()) {
    change();
    await rm(data, { recursive: true, force: true });
    await mkdir(path.join(data, 'teams', 'a'), { recursive: true });
    for (const [n, b] of tree) await writeFile(path.join(data, n), b);
    await writeFile(
      path.join(install, 'config', 'config.json'),
      JSON.stringify({
        SqlSettings: { DriverName: 'postgres', DataSource: 'postgres://mm:pw@127.0.0.1:1/mattermost?sslmode=disable' },
        FileSettings: { DriverName: 'local', Directory: './data/' },
        ServiceSettings: { SiteURL: `http://round-${i}.example` },
      }),
    );
    const before = new Set(await packsOf(ec));
    const d = await discover(ec.cfg);
    const { lock } = await JobLock.acquire(ec.lockDir, 'b'.repeat(26), 'test');
    let plan: ReturnType<typeof planBackup>;
    try {
      plan = planBackup(ec, d, lock, { mode: 'online', trigger: 'cli' });
      const res = await runJob(plan.job, new AbortController().signal, () => undefined);
      expect(res.error).toBeUndefined();
    } finally {
      await lock.release();
    }
    last = plan.result.manifest;
    const added = (await packsOf(ec)).filter((p) => !before.has(p));
    expect(added).toHaveLength(1);
    packs.push(added[0] as string);
  }
  const zShas = group('z', 2).map((n) => sha(tree.get(n) as Buffer));
  return { cfgRaw, ec, install, packs, kept: tree, keptId: (last as Manifest).id, zShas };
}

/** The kept snapshot, read from a fresh context: every file's bytes as backed up. */
async function expectKeptReadable(w: World): Promise<void> {
  const fresh = await context(w.cfgRaw);
  const m = await materialize(await fresh.repo.loadSnapshot(w.keptId));
  const data = m.components.find((c) => c.id === 'data');
  const files = (data?.entries ?? []).filter((e) => e.type === 'file');
  expect(files.map((e) => e.path).sort()).toEqual([...w.kept.keys()].sort());
  for (const e of files) {
    expect((await fresh.repo.readObjectBytes(e.sha256 as string)).equals(w.kept.get(e.path) as Buffer)).toBe(true);
    expect(await fresh.repo.checkObject(e.sha256 as string, e.size)).toBeUndefined();
  }
  for (const c of m.components) {
    for (const e of c.entries) if (e.sha256) expect(await fresh.repo.hasObject(e.sha256)).toBe(true);
  }
}

async function prune(w: World, dryRun: boolean, events: JobEvent[] = []): Promise<{ r: JobResult; o: PruneOutcome }> {
  const p = planPrune(w.ec, { dryRun });
  const r = await run(w.ec, p.job, events);
  return { r, o: p.outcome };
}

test('prune with packs: the unused pack goes, the mostly unused one is rewritten, the rest stays; a dry run changes nothing', async () => {
  const w = await build({});
  const [p1, p2, p3, p4] = w.packs as [string, string, string, string];
  const repo = path.join(work, 'repo');
  const before = async (pack: string) => readFile(path.join(repo, packKey(pack)));
  const p2Index = JSON.parse(await readFile(path.join(repo, packIndexKey(p2)), 'utf8')) as {
    size: number;
    objects: Array<{ sha256: string; size: number }>;
  };
  const p1Index = JSON.parse(await readFile(path.join(repo, packIndexKey(p1)), 'utf8')) as {
    size: number;
    objects: unknown[];
  };
  expect(p2Index.objects).toHaveLength(11);
  const p3Bytes = await before(p3);
  const p4Bytes = await before(p4);
  // Planted: an orphan pack (no index), a pack whose index does not parse, an index whose pack is missing.
  const orphan = randomBytes(3000);
  const orphanSha = sha(orphan);
  await mkdir(path.dirname(path.join(repo, packKey(orphanSha))), { recursive: true });
  await writeFile(path.join(repo, packKey(orphanSha)), orphan);
  const brokenPack = randomBytes(500);
  const brokenSha = sha(brokenPack);
  await mkdir(path.dirname(path.join(repo, packKey(brokenSha))), { recursive: true });
  await writeFile(path.join(repo, packKey(brokenSha)), brokenPack);
  await writeFile(path.join(repo, packIndexKey(brokenSha)), '{"format":"mm-backup-pack-index", trunc');
  const ghost = sha('ghost pack');
  await writeFile(
    path.join(repo, packIndexKey(ghost)),
    serializePackIndexFile({ pack: ghost, size: 5, objects: [{ sha256: sha('ghost'), offset: 0, size: 5 }] }),
  );
  const zBytes = p2Index.objects.filter((o) => w.zShas.includes(o.sha256)).reduce((n, o) => n + o.size, 0);
  const expectFreed = p1Index.size + (p2Index.size - zBytes) + orphan.length;

  const untouched = await state(w.ec);
  const dry = await prune(w, true);
  expect(dry.r.error).toBeUndefined();
  expect(await state(w.ec)).toEqual(untouched);
  expect(dry.o).toMatchObject({ packsRemoved: 2, packsRepacked: 1, objectsRemoved: 9 + 9, bytesFreed: expectFreed });

  const events: JobEvent[] = [];
  const real = await prune(w, false, events);
  expect(real.r.error).toBeUndefined();
  expect(real.o).toMatchObject({ packsRemoved: 2, packsRepacked: 1, objectsRemoved: 9 + 9, bytesFreed: expectFreed });
  const after = await packsOf(w.ec);
  // P1 and its index gone; P2 replaced by one new pack holding exactly Z; P3, P4 as they were.
  expect(after).not.toContain(p1);
  expect(after).not.toContain(p2);
  expect(after).not.toContain(orphanSha);
  const added = after.filter((p) => ![p3, p4, brokenSha].includes(p));
  expect(added).toHaveLength(1);
  const fresh = added[0] as string;
  expect(await indexShas(w.ec, fresh)).toEqual([...w.zShas].sort());
  expect(sha(await readFile(path.join(repo, packKey(fresh))))).toBe(fresh);
  expect((await readFile(path.join(repo, packKey(fresh)))).length).toBe(zBytes);
  expect((await before(p3)).equals(p3Bytes)).toBe(true);
  expect((await before(p4)).equals(p4Bytes)).toBe(true);
  expect(await keys(w.ec, 'index')).toEqual([fresh, p3, p4, brokenSha, ghost].map((p) => packIndexKey(p)).sort());
  expect(after).toContain(brokenSha);
  const warnings = events.flatMap((e) => (e.type === 'log' && e.level === 'warn' ? [e.message] : []));
  expect(warnings.some((m) => m.includes(packIndexKey(brokenSha)) && /kept/.test(m))).toBe(true);
  expect(warnings.some((m) => m.includes(ghost.slice(0, 12)) && /missing/.test(m))).toBe(true);
  await expectKeptReadable(w);

  // Nothing left to do: a second prune removes and rewrites nothing.
  const again = await prune(w, false);
  expect(again.r.error).toBeUndefined();
  expect(again.o).toMatchObject({ packsRemoved: 0, packsRepacked: 0, objectsRemoved: 0, bytesFreed: 0 });
});

test('a rewrite interrupted before the old pack could be removed (a real EPERM) leaves every object readable; the next prune finishes', async () => {
  const w = await build({});
  const p2 = w.packs[1] as string;
  const oldPack = path.join(work, 'repo', packKey(p2));
  await runProcess('chattr', ['+i', oldPack]);
  const failed = await prune(w, false);
  expect(failed.r.error?.message).toMatch(/not permitted|EPERM/);
  // The new pack and its index are stored, the old index is gone, the old pack is left (an orphan).
  expect(await keys(w.ec, 'index')).not.toContain(packIndexKey(p2));
  expect(await packsOf(w.ec)).toContain(p2);
  await expectKeptReadable(w);
  await runProcess('chattr', ['-i', oldPack]);
  const done = await prune(w, false);
  expect(done.r.error).toBeUndefined();
  expect(await packsOf(w.ec)).not.toContain(p2);
  expect(await packsOf(w.ec)).not.toContain(w.packs[0]);
  await expectKeptReadable(w);
});

test('a rewrite interrupted before the old index could be removed leaves the used objects in two packs; the next prune keeps one copy', async () => {
  const w = await build({});
  const p2 = w.packs[1] as string;
  const oldIndex = path.join(work, 'repo', packIndexKey(p2));
  await runProcess('chattr', ['+i', oldIndex]);
  const failed = await prune(w, false);
  expect(failed.r.error?.message).toMatch(/not permitted|EPERM/);
  const copies = (await packsOf(w.ec)).filter((p) => ![...w.packs, p2].includes(p));
  expect(copies).toHaveLength(1);
  const fresh = copies[0] as string;
  // Z is in the old pack and in the new one, both indexed: every object readable.
  expect(await indexShas(w.ec, fresh)).toEqual([...w.zShas].sort());
  expect(await keys(w.ec, 'index')).toContain(packIndexKey(p2));
  await expectKeptReadable(w);
  await runProcess('chattr', ['-i', oldIndex]);
  // Z's keeper is the new pack (all of it used): the old one keeps nothing and goes whole.
  const done = await prune(w, false);
  expect(done.r.error).toBeUndefined();
  expect(done.o.packsRepacked).toBe(0);
  const left = await packsOf(w.ec);
  expect(left).not.toContain(p2);
  expect(left).toContain(fresh);
  expect(left.filter((p) => ![w.packs[2], w.packs[3], fresh].includes(p))).toEqual([]);
  await expectKeptReadable(w);
});

test('a rewrite interrupted after its new pack was stored and before its index: the next prune stores the same pack again and keeps it', async () => {
  const w = await build({});
  const repo = path.join(work, 'repo');
  const before = path.join(work, 'repo-before');
  await runProcess('cp', ['-a', repo, before]);
  expect((await prune(w, false)).r.error).toBeUndefined();
  const fresh = (await packsOf(w.ec)).filter((p) => !w.packs.includes(p));
  expect(fresh).toHaveLength(1);
  const newPack = fresh[0] as string;
  // The state of the crash: everything as before the prune, plus the new pack without its index.
  const staged = await readFile(path.join(repo, packKey(newPack)));
  await rm(repo, { recursive: true });
  await runProcess('cp', ['-a', before, repo]);
  await mkdir(path.dirname(path.join(repo, packKey(newPack))), { recursive: true });
  await writeFile(path.join(repo, packKey(newPack)), staged);
  w.ec.repo.packs.dropIndex();
  await expectKeptReadable(w);
  const res = await prune(w, false);
  expect(res.r.error).toBeUndefined();
  expect(res.o).toMatchObject({ packsRepacked: 1 });
  expect(await packsOf(w.ec)).toContain(newPack);
  expect(await keys(w.ec, 'index')).toContain(packIndexKey(newPack));
  expect(await packsOf(w.ec)).not.toContain(w.packs[1]);
  await expectKeptReadable(w);
});

test('a pack found damaged while it is rewritten is kept as it is (a warning), and the rest of the prune goes on', async () => {
  const w = await build({});
  const [p1, p2] = w.packs as [string, string];
  const repo = path.join(work, 'repo');
  const index = JSON.parse(await readFile(path.join(repo, packIndexKey(p2)), 'utf8')) as {
    objects: Array<{ sha256: string; offset: number }>;
  };
  const victim = index.objects.find((o) => o.sha256 === w.zShas[1]) as { offset: number };
  const file = path.join(repo, packKey(p2));
  const bytes = await readFile(file);
  bytes[victim.offset + 3] = (bytes[victim.offset + 3] as number) ^ 0xff;
  await writeFile(file, bytes);
  const events: JobEvent[] = [];
  const res = await prune(w, false, events);
  expect(res.r.error).toBeUndefined();
  expect(res.o).toMatchObject({ packsRemoved: 1, packsRepacked: 0 });
  expect(await packsOf(w.ec)).toContain(p2);
  expect(await packsOf(w.ec)).not.toContain(p1);
  expect(await keys(w.ec, 'index')).toContain(packIndexKey(p2));
  const warnings = events.flatMap((e) => (e.type === 'log' && e.level === 'warn' ? [e.message] : []));
  expect(warnings.some((m) => m.includes(p2.slice(0, 12)) && /does not match its checksum/.test(m))).toBe(true);
  // The undamaged Z object still reads back; the damaged one is refused by its checksum, as before.
  const fresh = await context(w.cfgRaw);
  expect(sha(await fresh.repo.readObjectBytes(w.zShas[0] as string))).toBe(w.zShas[0]);
  await expect(fresh.repo.readObjectBytes(w.zShas[1] as string)).rejects.toThrow(/does not match its checksum/);
});

test('a bucket (S3, encrypted, offsite.mode "direct"): the same prune through the storage, dry run first', async () => {
  s3 ??= await startS3Server();
  await writeFile(path.join(work, 'passphrase'), 'prune packs passphrase 42', { mode: 0o600 });
  await writeFile(path.join(work, 'key-id'), s3.credentials.accessKeyId, { mode: 0o600 });
  await writeFile(path.join(work, 'key-secret'), s3.credentials.secretAccessKey, { mode: 0o600 });
  const w = await build({
    offsite: {
      mode: 'direct',
      s3: {
        endpoint: s3.endpoint,
        bucket: s3.bucket,
        prefix: `prune-${randomBytes(4).toString('hex')}`,
        forcePathStyle: true,
        accessKeyIdFile: path.join(work, 'key-id'),
        secretAccessKeyFile: path.join(work, 'key-secret'),
      },
      encryption: { passphraseFile: path.join(work, 'passphrase') },
      retry: { attempts: 2, baseDelayMs: 100, maxDelayMs: 200 },
    },
  });
  const [p1, p2, p3, p4] = w.packs as [string, string, string, string];
  expect(w.ec.storage.describe().kind).not.toBe('local');
  const orphan = randomBytes(2000);
  await w.ec.storage.put(packKey(sha(orphan)), orphan);
  const untouched = await state(w.ec);
  const dry = await prune(w, true);
  expect(dry.r.error).toBeUndefined();
  expect(dry.o).toMatchObject({ packsRemoved: 2, packsRepacked: 1, objectsRemoved: 18 });
  expect(await state(w.ec)).toEqual(untouched);
  const real = await prune(w, false);
  expect(real.r.error).toBeUndefined();
  expect(real.o).toMatchObject({ packsRemoved: 2, packsRepacked: 1, objectsRemoved: 18, bytesFreed: dry.o.bytesFreed });
  const after = await packsOf(w.ec);
  for (const gone of [p1, p2, sha(orphan)]) expect(after).not.toContain(gone);
  const added = after.filter((p) => p !== p3 && p !== p4);
  expect(added).toHaveLength(1);
  expect(await indexShas(w.ec, added[0] as string)).toEqual([...w.zShas].sort());
  expect(sha(await readBuffer(w.ec.storage, packKey(added[0] as string)))).toBe(added[0]);
  expect(await keys(w.ec, 'index')).toEqual([added[0] as string, p3, p4].map((p) => packIndexKey(p)).sort());
  await expectKeptReadable(w);
}, 180_000);
