// Small files met in the walk's synchronous bursts are read, hashed and stored with synchronous
// calls (Repository.ingestSmallSync): the repository must end up exactly as the parallel path
// leaves it, and the hostile cases (a FIFO, a file that grew, one that vanished) behave the same.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { collectEntries } from '../../src/manifest/entry_list';
import { INLINE_FILE, Repository } from '../../src/repository/repository';
import { backupTree } from '../../src/repository/tree_backup';
import { WalkPacer } from '../../src/repository/walk_pacer';
import { LocalStorage } from '../../src/storage/local_storage';
import { MemoryStorage } from '../../src/storage/memory_storage';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'sync-ingest-'));
});
afterEach(() => rm(work, { recursive: true, force: true }));

/** The error a synchronous call throws. */
function thrown(f: () => unknown): Error & { code?: string } {
  try {
    f();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected the call to throw');
}

const openRepo = async (name: string) => Repository.open(await LocalStorage.open(path.join(work, name)));

/** Every object file of a local repository, by key, with its bytes' SHA-256. */
async function objects(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const d of await readdir(dir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) await walk(path.join(dir, d.name), r);
      else {
        out[r] = createHash('sha256')
          .update(await readFile(path.join(dir, d.name)))
          .digest('hex');
      }
    }
  };
  await walk(path.join(root, 'objects'), 'objects');
  return out;
}

test('a synchronous pass stores exactly what a parallel one does: same entries, same objects, each named by its content', async () => {
  const root = path.join(work, 'tree');
  for (let d = 0; d < 30; d++) {
    const dir = path.join(root, `2026010${d % 9}`, `f${d}`);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'a.png'), randomBytes(100 + d * 37));
    await writeFile(path.join(dir, 'a_thumb.jpg'), 'same thumbnail everywhere');
    // Larger than the synchronous limit: still stored, through the pool.
    if (d % 10 === 0) await writeFile(path.join(dir, 'big.bin'), randomBytes(INLINE_FILE + 1));
  }
  await writeFile(path.join(root, 'empty'), '');
  const sync = await backupTree({
    root,
    exclude: [],
    repo: await openRepo('a'),
    pacer: new WalkPacer({ fixed: 'sync' }),
  });
  const par = await backupTree({
    root,
    exclude: [],
    repo: await openRepo('b'),
    pacer: new WalkPacer({ fixed: 'async' }),
  });
  const syncEntries = await collectEntries(sync.entries);
  expect(await collectEntries(par.entries)).toEqual(syncEntries);
  expect({ files: sync.files, read: sync.filesRead }).toEqual({ files: par.files, read: par.filesRead });
  // New bytes are those of each distinct content once (the parallel path may count a duplicate
  // stored by two reads at once more than once; the synchronous one cannot).
  const distinct = new Map(syncEntries.filter((e) => e.type === 'file').map((e) => [e.sha256, e.size ?? 0]));
  expect(sync.newBytes).toBe([...distinct.values()].reduce((n, s) => n + s, 0));
  // The duplicate thumbnail is stored once, and counted as new once.
  const a = await objects(path.join(work, 'a'));
  expect(a).toEqual(await objects(path.join(work, 'b')));
  for (const [key, sha] of Object.entries(a)) expect(key.endsWith(sha)).toBe(true);
  expect(
    syncEntries.filter((e) => e.type === 'file').every((e) => a[`objects/${e.sha256!.slice(0, 2)}/${e.sha256}`]),
  ).toBe(true);
  // Nothing left in the storage's temporary directory.
  expect(await readdir(path.join(work, 'a', 'tmp'))).toEqual([]);

  // Again into the same repository: everything is there already, nothing new.
  const again = await backupTree({
    root,
    exclude: [],
    repo: await openRepo('a'),
    pacer: new WalkPacer({ fixed: 'sync' }),
  });
  expect(again.newBytes).toBe(0);
  await collectEntries(again.entries);
});

test('ingestSmallSync: a FIFO fails at once (EFTYPE, never blocks), a vanished file keeps ENOENT, a file over the limit is left to ingestFile', async () => {
  const repo = await openRepo('repo');
  const fifo = path.join(work, 'fifo');
  expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
  expect(thrown(() => repo.ingestSmallSync(fifo)).code).toBe('EFTYPE');
  expect(thrown(() => repo.ingestSmallSync(path.join(work, 'gone'))).code).toBe('ENOENT');
  const big = path.join(work, 'big');
  await writeFile(big, randomBytes(INLINE_FILE + 1));
  expect(repo.ingestSmallSync(big)).toBeUndefined();
  const small = path.join(work, 'small');
  await writeFile(small, 'hello');
  const sha = createHash('sha256').update('hello').digest('hex');
  expect(repo.ingestSmallSync(small)).toEqual({ sha256: sha, size: 5, isNew: true });
  expect(repo.ingestSmallSync(small)).toEqual({ sha256: sha, size: 5, isNew: false });
  expect(await readFile(path.join(work, 'repo', 'objects', sha.slice(0, 2), sha), 'utf8')).toBe('hello');
});

test('a storage that is not plain local files never takes the synchronous path', async () => {
  const repo = await Repository.open(new MemoryStorage(), { stagingDir: await mkdtemp(path.join(work, 'stage-')) });
  expect(repo.ingestsSmallSync).toBe(false);
  expect(thrown(() => repo.ingestSmallSync(path.join(work, 'x')))).toMatchObject({ code: 'INTERNAL' });
  const root = path.join(work, 'tree');
  await mkdir(root);
  await writeFile(path.join(root, 'f'), 'content');
  const b = await backupTree({ root, exclude: [], repo, pacer: new WalkPacer({ fixed: 'sync' }) });
  expect(b.filesRead).toBe(1);
  await collectEntries(b.entries);
});

test('checkSmallObjectSync (verify): a missing object, a link, a FIFO, a larger or changed object are each a problem, never a hang', async () => {
  const repo = await openRepo('repo');
  const file = path.join(work, 'f');
  await writeFile(file, 'original bytes');
  const ok = repo.ingestSmallSync(file)!;
  await repo.loadPacks(); // the synchronous checks look packed objects up first
  expect(repo.checkSmallObjectSync(ok.sha256, ok.size)).toBeUndefined();
  const objectFile = path.join(work, 'repo', 'objects', ok.sha256.slice(0, 2), ok.sha256);
  expect(repo.checkSmallObjectSync(createHash('sha256').update('none').digest('hex'), 3)).toBe('object is missing');
  expect(repo.checkSmallObjectSync(ok.sha256, ok.size - 1)).toMatch(/more than the 13 expected/);
  await writeFile(objectFile, 'changed bytes!');
  expect(repo.checkSmallObjectSync(ok.sha256, ok.size)).toMatch(/^content does not match its checksum/);
  await rm(objectFile);
  await symlink(file, objectFile);
  expect(repo.checkSmallObjectSync(ok.sha256, ok.size)).toMatch(/symbolic link/);
  await rm(objectFile);
  expect(spawnSync('mkfifo', [objectFile]).status).toBe(0);
  expect(repo.checkSmallObjectSync(ok.sha256, ok.size)).toMatch(/not a regular file/);
});
