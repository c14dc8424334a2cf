/**
 * The restore's preflight checks that each object is there with its size, without reading it
 * (issue 12): a missing or truncated object is refused before Mattermost stops; one damaged with
 * its size kept is left to the copy, which hashes it. Real trees, real repositories (a local
 * directory, and age encryption, whose reported sizes are not compared).
 */
import { mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LocalStorage } from '../../src/storage/local_storage';
import { MemoryStorage } from '../../src/storage/memory_storage';
import { EncryptedStorage } from '../../src/storage/encrypted_storage';
import { RetryingStorage } from '../../src/storage/retrying_storage';
import { generateKeyPair } from '../../src/storage/age';
import { Repository } from '../../src/repository/repository';
import { objectKey } from '../../src/repository/layout';
import { backupTree } from '../../src/repository/tree_backup';
import type { Entry } from '../../src/manifest/manifest';
import type { StepContext } from '../../src/jobs/runner';
import { checkObjectsPresent } from '../../src/operations/object_presence';
import { collectEntries } from '../../src/manifest/entry_list';
import { WalkPacer } from '../../src/repository/walk_pacer';
import { presenceManifest } from '../support/manifests';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'presence-'));
});
afterEach(() => rm(work, { recursive: true, force: true }));

const ctx: StepContext = { signal: new AbortController().signal, progress: () => {}, log: () => {} };

async function backedUp(repo: Repository): Promise<Entry[]> {
  const src = path.join(work, 'src');
  await mkdir(path.join(src, 'd'), { recursive: true });
  for (let i = 0; i < 30; i++) await writeFile(path.join(src, 'd', `f${i}`), `content ${i % 10}`.repeat(i + 1));
  await writeFile(path.join(src, 'same-a'), 'shared');
  await writeFile(path.join(src, 'same-b'), 'shared');
  return collectEntries((await backupTree({ root: src, exclude: [], repo })).entries);
}

// A local repository's objects are stat'ed with synchronous calls or awaited ones, as the pacer finds faster.
test.each(['sync', 'async'] as const)(
  'present objects pass, each stat-ed once however many files share it; missing and truncated ones are named (%s stats)',
  async (fixed) => {
    const dir = path.join(work, 'repo');
    const repo = await Repository.open(await LocalStorage.open(dir));
    const entries = await backedUp(repo);
    const distinct = new Set(entries.flatMap((e) => (e.sha256 ? [e.sha256] : []))).size;
    const pacer = () => new WalkPacer({ fixed });
    const ok = await checkObjectsPresent(repo, presenceManifest(entries), ctx, undefined, pacer());
    expect(ok).toEqual({ issues: [], objects: distinct, sizes: true });

    const f3 = entries.find((e) => e.path === 'd/f3') as Entry;
    const f7 = entries.find((e) => e.path === 'd/f7') as Entry;
    const f9 = entries.find((e) => e.path === 'd/f9') as Entry;
    await rm(path.join(dir, objectKey(f3.sha256 as string)));
    await truncate(path.join(dir, objectKey(f7.sha256 as string)), 5);
    // Same size, other bytes: not read here; the copy hashes it (failures.test.ts).
    await writeFile(path.join(dir, objectKey(f9.sha256 as string)), 'X'.repeat(f9.size as number));
    const bad = await checkObjectsPresent(repo, presenceManifest(entries), ctx, undefined, pacer());
    expect(bad.issues.sort((a, b) => String(a.path).localeCompare(String(b.path)))).toEqual([
      { component: 'data', path: 'd/f3', object: f3.sha256, problem: 'object is missing' },
      { component: 'data', path: 'd/f7', object: f7.sha256, problem: `size 5 differs from the manifest's ${f7.size}` },
    ]);
  },
);

test('an encrypted repository: presence is checked, sizes are not (they depend on the recipients)', async () => {
  const { identity, recipient } = await generateKeyPair();
  const storage = new RetryingStorage(
    new EncryptedStorage(new MemoryStorage(), { recipients: [recipient], identities: [identity] }),
    { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
  );
  const repo = await Repository.open(storage);
  const entries = await backedUp(repo);
  const wrongSize = entries.map((e) => (e.path === 'd/f1' ? { ...e, size: 1 } : e));
  const ok = await checkObjectsPresent(repo, presenceManifest(wrongSize), ctx);
  expect(ok.issues).toEqual([]);
  expect(ok.sizes).toBe(false);
  const f2 = entries.find((e) => e.path === 'd/f2') as Entry;
  await storage.delete(objectKey(f2.sha256 as string));
  expect((await checkObjectsPresent(repo, presenceManifest(entries), ctx)).issues).toEqual([
    { component: 'data', path: 'd/f2', object: f2.sha256, problem: 'object is missing' },
  ]);
});
