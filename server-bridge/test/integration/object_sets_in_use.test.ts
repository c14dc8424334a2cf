/**
 * Prune, replicate and verify with their flat object sets (core/hash_set.ts, core/hash_sort.ts),
 * through the real plans on a real repository: two objects whose names share their first 64 bits
 * (a forced prefix collision) are two objects wherever a wrong "same" would skip work: verify checks
 * both, replicate copies the one off-site lacks. Where the 8-byte set may err, it errs by keeping.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/config/load';
import { openContext, type EngineContext } from '../../src/jobs/context';
import type { JobLock } from '../../src/jobs/lock';
import type { Job, JobResult, StepContext } from '../../src/jobs/runner';
import { discover, type Discovery } from '../../src/discovery/discover';
import { checkObjects, MAX_LISTED_ISSUES } from '../../src/operations/verify_plan';
import { WalkPacer } from '../../src/repository/walk_pacer';
import { planReplicate } from '../../src/operations/replicate_plan';
import { planPrune } from '../../src/operations/prune_plan';
import { newSnapshotId } from '../../src/core/ids';
import type { Entry, Manifest } from '../../src/manifest/manifest';
import { Repository } from '../../src/repository/repository';
import { objectKey } from '../../src/repository/layout';
import { LocalStorage } from '../../src/storage/local_storage';
import { RetryingStorage } from '../../src/storage/retrying_storage';
import { materialize } from '../support/manifests';
import { backupAndLoad, runLocked, writeInstallConfig } from '../support/install_fixture';

/** Two names with the same first 16 hex digits (64 bits), different after. */
const PREFIX = 'c0ffee0123456789';
const twinA = PREFIX + '1'.repeat(48);
const twinB = PREFIX + '2'.repeat(48);

let work: string;
let install: string;
let ec: EngineContext;
let d: Discovery;

const run = (make: (lock: JobLock) => Job): Promise<JobResult> => runLocked(ec, make);

beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'object-sets-'));
  install = path.join(work, 'mattermost');
  await mkdir(path.join(install, 'data', 'teams', 'a'), { recursive: true });
  await writeInstallConfig(install);
  // Two files with the same content: one object, named twice.
  await writeFile(path.join(install, 'data', 'teams', 'a', 'photo.png'), 'png bytes');
  await writeFile(path.join(install, 'data', 'teams', 'a', 'copy.png'), 'png bytes');
  await writeFile(path.join(install, 'data', 'teams', 'a', 'notes.txt'), 'some notes');
  const cfg = parseConfig(
    {
      mattermost: { installDir: install, url: 'http://127.0.0.1:1' },
      service: { preset: 'none' },
      repository: { path: path.join(work, 'repo') },
      backup: { exclude: ['database'] },
      retention: { keepLast: 10, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 },
    },
    path.join(work, 'mm-backup.json'),
  );
  ec = await openContext(cfg, { notice: () => undefined });
  d = await discover(cfg);
});
afterEach(() => rm(work, { recursive: true, force: true }));

const backup = (): Promise<Manifest> => backupAndLoad(ec, d);

/** Stores `content` under the object name `sha` (not its hash: as a damaged or forged repository would). */
async function putObject(repo: Repository, sha: string, content: string): Promise<void> {
  await repo.storage.put(objectKey(sha), Buffer.from(content));
}

/** A copy of `m` whose data component also names the given objects (a snapshot of the same install, later). */
async function withObjects(m: Manifest, objects: Array<{ sha256: string; path: string; size: number }>) {
  const plain = await materialize(m);
  const data = plain.components.find((c) => c.id === 'data');
  if (!data) throw new Error('no data component');
  const file = data.entries.find((e) => e.type === 'file') as Entry;
  for (const o of objects) data.entries.push({ ...file, path: o.path, sha256: o.sha256, size: o.size });
  const id = newSnapshotId();
  await ec.repo.writeSnapshot({ ...plain, id, parent: undefined });
  return ec.repo.loadSnapshot(id);
}

function stepContext(progress: Array<[number, number | undefined]> = []): StepContext {
  return {
    signal: new AbortController().signal,
    progress: (done, total) => progress.push([done, total]),
    log: () => undefined,
  };
}

// Small objects are checked with synchronous calls or awaited ones, as the pacer finds faster: both must find the same.
test.each(['sync', 'async'] as const)(
  'verify checks each distinct object once (a repeat is not checked twice), and both of two names sharing 64 bits (%s reads)',
  async (fixed) => {
    const pacer = () => ({ pacer: new WalkPacer({ fixed }) });
    const m = await backup();
    const progress: Array<[number, number | undefined]> = [];
    const good = await checkObjects(ec.repo, m, stepContext(progress), undefined, pacer());
    expect(good.issues).toEqual([]);
    const distinct = new Set<string>();
    let bytes = 0;
    for (const c of (await materialize(m)).components) {
      for (const e of c.entries) {
        if (e.sha256 && !distinct.has(e.sha256)) {
          distinct.add(e.sha256);
          bytes += e.size ?? 0;
        }
      }
    }
    expect(good.objects).toBe(distinct.size);
    expect(progress.length).toBe(distinct.size); // photo.png and copy.png: one object, checked once
    expect(progress.at(-1)).toEqual([bytes, bytes]);

    // Two objects whose stored bytes are not what their names say: both must be found, though a
    // set of 64-bit prefixes would take the second for the first and never read it.
    await putObject(ec.repo, twinA, 'not twin a');
    await putObject(ec.repo, twinB, 'not twin b');
    const m2 = await withObjects(m, [
      { sha256: twinA, path: 'teams/a/twin-a', size: 10 },
      { sha256: twinB, path: 'teams/a/twin-b', size: 10 },
      { sha256: twinA, path: 'teams/a/twin-a-again', size: 10 },
    ]);
    const bad = await checkObjects(ec.repo, m2, stepContext(), undefined, pacer());
    expect(bad.objects).toBe(distinct.size + 2);
    expect(bad.unlisted).toBe(0);
    expect(bad.issues.map((i) => [i.component, i.path, i.object]).sort()).toEqual([
      ['data', 'teams/a/twin-a', twinA],
      ['data', 'teams/a/twin-b', twinB],
    ]);
    for (const i of bad.issues) expect(i.problem).toMatch(/^content does not match its checksum/);

    // A repository that lost more objects than are listed: the first MAX_LISTED_ISSUES are named, the rest counted.
    const lost = Array.from({ length: MAX_LISTED_ISSUES + 3 }, (_, i) => ({
      sha256: createHash('sha256').update(`lost ${i}`).digest('hex'),
      path: `teams/a/lost-${String(i).padStart(5, '0')}`,
      size: 1,
    }));
    const gone = await checkObjects(ec.repo, await withObjects(m, lost), stepContext(), undefined, pacer());
    expect(gone.issues.length).toBe(MAX_LISTED_ISSUES);
    expect(gone.unlisted).toBe(3);
    expect(gone.issues.every((i) => i.problem === 'object is missing')).toBe(true);
  },
);

test('replicate copies an object whose name shares 64 bits with one off-site; prune and the off-site sweep keep used objects', async () => {
  const m = await backup();
  await putObject(ec.repo, twinA, 'twin a content');
  const m2 = await withObjects(m, [{ sha256: twinA, path: 'teams/a/twin-a', size: 14 }]);
  const offDir = path.join(work, 'offsite');
  await mkdir(offDir);
  const offStorage = new RetryingStorage(await LocalStorage.open(offDir), {
    attempts: 1,
    baseDelayMs: 1,
    maxDelayMs: 1,
  });
  const offRepo = await Repository.open(offStorage);
  // Off-site already has twin B, which no snapshot uses: a prefix set would say twin A is there too
  // (and twin B sorts after twin A, so a join that compared prefixes would stop at it).
  await putObject(offRepo, twinB, 'twin b content');
  const open = () =>
    Promise.resolve({ storage: offStorage, repo: offRepo, encrypted: false, canDecrypt: true, location: offDir });

  let rep = planReplicate(ec, open);
  expect((await run(() => rep.job)).error).toBeUndefined();
  expect(rep.outcome.copied.sort()).toEqual([m.id, m2.id].sort());
  expect(await offRepo.hasObject(twinA)).toBe(true);
  const local: string[] = [];
  for await (const o of ec.repo.listObjects()) local.push(o.sha256);
  const remote: string[] = [];
  for await (const o of offRepo.listObjects()) remote.push(o.sha256);
  // Every local object went off-site, each once; twin B (unused, but sharing 64 bits with a used
  // object) was kept by the sweep: the one way the 8-byte set may err.
  expect(remote.sort()).toEqual([...local, twinB].sort());
  expect(rep.outcome.objectsUploaded).toBe(local.length);
  expect(rep.outcome.objectsRemoved).toBe(0);

  // Nothing new: the exact join finds every object listed off-site.
  rep = planReplicate(ec, open);
  expect((await run(() => rep.job)).error).toBeUndefined();
  expect(rep.outcome.objectsUploaded).toBe(0);

  // Prune: an unused object sharing 64 bits with a used one stays; a plainly unused one goes.
  await putObject(ec.repo, twinB, 'twin b content');
  const unused = 'f'.repeat(64);
  await putObject(ec.repo, unused, 'unused');
  const pr = planPrune(ec, { dryRun: false });
  expect((await run(() => pr.job)).error).toBeUndefined();
  expect(pr.outcome.objectsRemoved).toBe(1);
  expect(await ec.repo.hasObject(unused)).toBe(false);
  expect(await ec.repo.hasObject(twinA)).toBe(true);
  expect(await ec.repo.hasObject(twinB)).toBe(true);
  for (const o of local) expect(await ec.repo.hasObject(o)).toBe(true);
});
