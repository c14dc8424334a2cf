// Whether a new small object is already stored loose (objects/xx/<name>) is answered from what
// was read of each directory, once a job, instead of a stat per object: it must still find every
// loose object, those written between two jobs included, and never take a prefix for a name.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LooseNames } from '../../src/repository/loose_names';
import { Repository } from '../../src/repository/repository';
import { LocalStorage } from '../../src/storage/local_storage';
import { readSmallSync } from '../../src/repository/hash_pool';
import { StorageError } from '../../src/core/errors';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'loose-'));
});
afterEach(() => rm(work, { recursive: true, force: true }));

const sha = (prefix: string) => prefix + randomBytes(32).toString('hex').slice(prefix.length);

test('mayHold: false only for names absent when their directory was read; clear() reads again', async () => {
  const objects = path.join(work, 'objects');
  const held = sha('ab');
  await mkdir(path.join(objects, 'ab'), { recursive: true });
  await writeFile(path.join(objects, 'ab', held), 'x');
  await writeFile(path.join(objects, 'ab', 'not-an-object'), 'x');
  const names = new LooseNames(objects);
  expect(names.mayHold(held)).toBe(true);
  // Same first 48 bits, another name: "may" (the caller looks), never a false "absent".
  expect(names.mayHold(held.slice(0, 12) + '0'.repeat(52))).toBe(true);
  expect(names.mayHold(sha('ab'))).toBe(false);
  expect(names.mayHold(sha('cd'))).toBe(false); // no such directory
  const later = sha('cd');
  await mkdir(path.join(objects, 'cd'));
  await writeFile(path.join(objects, 'cd', later), 'x');
  expect(names.mayHold(later)).toBe(false); // read before it was written
  names.clear();
  expect(names.mayHold(later)).toBe(true);
});

test('a packed backup finds small objects stored loose, also those written by another process between its jobs', async () => {
  const root = path.join(work, 'repo');
  const files = path.join(work, 'files');
  await mkdir(files);
  const repo = await Repository.open(await LocalStorage.open(root), { packs: true });
  // Job 1: enough new objects that nearly every objects/xx directory is read (or found missing).
  await repo.prepareWrites();
  for (let i = 0; i < 2000; i++) {
    const f = path.join(files, `f${i}`);
    await writeFile(f, randomBytes(40));
    expect(repo.ingestSmallSync(f)?.isNew).toBe(true);
  }
  await repo.packs.flush();

  // Between the jobs, another process (packs off) stores two small objects loose.
  const other = await Repository.open(await LocalStorage.open(root), { packs: false });
  const loose = [path.join(files, 'loose-1'), path.join(files, 'loose-2')];
  for (const f of loose) {
    await writeFile(f, randomBytes(50));
    expect((await other.ingestFile(f, { size: 50 })).isNew).toBe(true);
  }
  // A name that is a link, not a file, is no object (as a stat found before).
  const fake = path.join(files, 'fake');
  await writeFile(fake, randomBytes(60));
  const fakeSha = readSmallSync(fake, 1024)?.sha256 as string;
  await mkdir(path.join(root, 'objects', fakeSha.slice(0, 2)), { recursive: true });
  await symlink(fake, path.join(root, 'objects', fakeSha.slice(0, 2), fakeSha));

  // Job 2, same repository object: what was read in job 1 is not trusted.
  await repo.prepareWrites();
  for (const f of loose) expect(repo.ingestSmallSync(f)?.isNew).toBe(false);
  expect(repo.ingestSmallSync(fake)?.isNew).toBe(true);
  await repo.packs.flush();
});

test('an objects directory that cannot be read fails as the repository (StorageError), never as "absent"', async () => {
  const objects = path.join(work, 'objects');
  await mkdir(path.join(objects, 'ab'), { recursive: true });
  await chmod(work, 0o755);
  await chmod(objects, 0o755);
  await chmod(path.join(objects, 'ab'), 0o000);
  const names = new LooseNames(objects);
  // Root reads any directory: it looks as nobody; anyone else is refused as themselves.
  const root = process.getuid?.() === 0;
  if (root) process.seteuid?.(65534);
  let err: unknown;
  try {
    names.mayHold(sha('ab'));
  } catch (e) {
    err = e;
  } finally {
    if (root) process.seteuid?.(0);
  }
  expect(err).toBeInstanceOf(StorageError);
  expect((err as StorageError).message).toContain('cannot list objects/ab: EACCES');
  expect(process.geteuid?.()).toBe(process.getuid?.());
});
