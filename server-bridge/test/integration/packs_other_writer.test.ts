// A Repository that lives long (the sidecar's, opened once) reads packs another process stored
// after it first loaded the pack index (a CLI backup run beside the sidecar, a prune): each pass
// (a restore's preflight and copy, a verify, a browse download) sees the packs as they are now.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Entry } from '../../src/manifest/manifest';
import { collectEntries } from '../../src/manifest/entry_list';
import type { StepContext } from '../../src/jobs/runner';
import { checkObjectsPresent } from '../../src/operations/object_presence';
import { Repository } from '../../src/repository/repository';
import { backupTree } from '../../src/repository/tree_backup';
import { restoreTree } from '../../src/repository/tree_restore';
import { LocalStorage } from '../../src/storage/local_storage';
import { MemoryStorage } from '../../src/storage/memory_storage';
import type { Storage } from '../../src/storage/storage';
import { objectPacked } from '../support/object_files';
import { presenceManifest } from '../support/manifests';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'packs-other-'));
});
afterEach(() => rm(work, { recursive: true, force: true }));

const ctx: StepContext = { signal: new AbortController().signal, progress: () => {}, log: () => {} };
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** A backup by "another process": its own Repository, packing, its packs stored as a manifest's commit stores them. */
async function backupElsewhere(storage: Storage, root: string, stagingDir: string): Promise<Entry[]> {
  const writer = await Repository.open(storage, { packs: true, stagingDir });
  const res = await backupTree({ root, exclude: [], repo: writer });
  const entries = await collectEntries(res.entries);
  await writer.packs.flush();
  return entries;
}

test.each(['local', 'bucket'] as const)(
  'a long-lived reader finds objects packed by another process after its first read (%s)',
  async (kind) => {
    const stage = path.join(work, 'stage');
    await mkdir(stage);
    const repoDir = path.join(work, 'repo');
    const storage = kind === 'local' ? await LocalStorage.open(repoDir) : new MemoryStorage();
    const reader = await Repository.open(storage, { stagingDir: stage });
    const root = path.join(work, 'tree');
    await mkdir(root);
    await writeFile(path.join(root, 'first.txt'), 'the first backup');
    const first = (await backupElsewhere(storage, root, stage)).find((e) => e.path === 'first.txt') as Entry;
    // The reader loads the pack index now: it holds the first pack only.
    expect((await reader.readObjectBytes(first.sha256 as string)).toString()).toBe('the first backup');
    await reader.loadPacks();

    await writeFile(path.join(root, 'second.txt'), 'packed after the reader looked');
    const entries = await backupElsewhere(storage, root, stage);
    const second = entries.find((e) => e.path === 'second.txt') as Entry;
    if (kind === 'local') expect(await objectPacked(repoDir, second.sha256 as string)).toBe(true);

    // The restore's preflight (synchronous lookups after loadPacks), then the copy.
    const present = await checkObjectsPresent(reader, presenceManifest(entries), ctx);
    expect(present.issues).toEqual([]);
    const out = path.join(work, 'out');
    await mkdir(out);
    await restoreTree({ entries, root: out, exclude: [], mode: 'mirror', repo: reader });
    expect(await readFile(path.join(out, 'second.txt'), 'utf8')).toBe('packed after the reader looked');
    expect(sha(await readFile(path.join(out, 'first.txt')))).toBe(first.sha256);

    // One read with nothing before it (a browse download), and a verify's check.
    await writeFile(path.join(root, 'third.txt'), 'packed later still');
    const third = (await backupElsewhere(storage, root, stage)).find((e) => e.path === 'third.txt') as Entry;
    expect((await reader.readObjectBytes(third.sha256 as string)).toString()).toBe('packed later still');
    expect(await reader.checkObject(third.sha256 as string, third.size)).toBeUndefined();
    expect(await reader.hasObject(third.sha256 as string)).toBe(true);
  },
);
