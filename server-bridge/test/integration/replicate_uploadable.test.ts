/**
 * replicate opens local repository files by path to upload them: a FIFO there would block an open
 * for ever (abort cannot end it) and a link would send another file off-site. uploadableFile
 * refuses both before the open, on real files, links and a real FIFO.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { NotFoundError, StorageError } from '../../src/core/errors';
import { uploadableFile } from '../../src/operations/replicate_packs';
import { LocalStorage } from '../../src/storage/local_storage';
import { caught } from '../support/caught';

let dir: string;
let local: LocalStorage;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'uploadable-'));
  local = await LocalStorage.open(path.join(dir, 'repo'));
  await mkdir(path.join(dir, 'repo', 'objects', 'aa'), { recursive: true });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

test('a regular file is uploaded from its path', async () => {
  await local.put('objects/aa/regular', Buffer.from('x'));
  expect(await uploadableFile(local, 'objects/aa/regular')).toBe(path.join(dir, 'repo', 'objects', 'aa', 'regular'));
});

test('a FIFO, a link and a directory are refused at once (permanent), a missing file is NotFoundError', async () => {
  expect(spawnSync('mkfifo', [path.join(dir, 'repo', 'objects', 'aa', 'fifo')]).status).toBe(0);
  await writeFile(path.join(dir, 'outside'), 'secret');
  await symlink(path.join(dir, 'outside'), path.join(dir, 'repo', 'objects', 'aa', 'link'));
  await mkdir(path.join(dir, 'repo', 'objects', 'aa', 'dir'));
  for (const [name, what] of [
    ['fifo', 'not a regular file'],
    ['link', 'a symbolic link'],
    ['dir', 'not a regular file'],
  ]) {
    const err = await caught(uploadableFile(local, `objects/aa/${name}`));
    expect(err).toBeInstanceOf(StorageError);
    expect(err).toMatchObject({
      permanent: true,
      message: `objects/aa/${name} in the local repository is ${what}; it is not copied off-site`,
    });
  }
  expect(await caught(uploadableFile(local, 'objects/aa/missing'))).toBeInstanceOf(NotFoundError);
});
