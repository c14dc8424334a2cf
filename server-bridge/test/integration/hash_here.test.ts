// The hash pool's work on the calling thread, for when no worker can start (thread_limit.test.ts
// shows a backup taking this path): the same results and errors as a worker's, on real files.
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, symlinkSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FileOpError } from '../../src/repository/file_op_error';
import { copyHere, hashHere } from '../../src/repository/hash_here';
import { caught } from '../support/caught';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'hash-here-'));
});
afterEach(() => rm(work, { recursive: true, force: true }));

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const go = () => undefined;

test('a copy holds exactly the bytes hashed, in a new 0600 file; a hash reads to the end', async () => {
  const data = randomBytes(300_000);
  const src = path.join(work, 'src');
  await writeFile(src, data);
  const dest = path.join(work, 'dest');
  const st = lstatSync(src);
  const r = await copyHere(src, dest, { dev: st.dev, ino: st.ino, exact: true }, go, 64 * 1024);
  expect(r).toEqual({ sha256: sha(data), size: data.length, replaced: undefined });
  expect((await readFile(dest)).equals(data)).toBe(true);
  expect((await stat(dest)).mode & 0o777).toBe(0o600);
  expect(await hashHere(src, go, 4096)).toEqual({ sha256: sha(data), size: data.length });
});

test('failures name their side; a copy that fails or stops leaves no destination', async () => {
  const src = path.join(work, 'src');
  await writeFile(src, randomBytes(200_000));
  const dest = path.join(work, 'dest');
  await writeFile(dest, 'there already');
  expect(await caught(copyHere(src, dest, undefined, go, 4096))).toMatchObject({
    code: 'EEXIST',
    side: 'destination',
  });
  expect(await readFile(dest, 'utf8')).toBe('there already');
  expect(await caught(copyHere(path.join(work, 'none'), path.join(work, 'd2'), undefined, go, 4096))).toMatchObject({
    code: 'ENOENT',
    side: 'source',
  });
  await expect(stat(path.join(work, 'd2'))).rejects.toMatchObject({ code: 'ENOENT' });
  // Stopped after the third chunk (an abort): the error is the one given, the copy is gone.
  let chunks = 0;
  const stop = new Error('stopped');
  const err = await caught(
    copyHere(src, path.join(work, 'd3'), undefined, () => (++chunks > 3 ? stop : undefined), 4096),
  );
  expect(err).toBe(stop);
  await expect(stat(path.join(work, 'd3'))).rejects.toMatchObject({ code: 'ENOENT' });
});

test('a source is checked as every reader checks it: a link is refused, a directory moved is EMOVED', async () => {
  await mkdir(path.join(work, 'd'));
  await mkdir(path.join(work, 'outside'));
  await writeFile(path.join(work, 'outside', 'f'), 'secret');
  await writeFile(path.join(work, 'd', 'f'), 'inside');
  symlinkSync(path.join(work, 'outside', 'f'), path.join(work, 'd', 'link'));
  expect(await caught(hashHere(path.join(work, 'd', 'link'), go, 4096))).toMatchObject({ code: 'ELOOP' });
  const st = lstatSync(path.join(work, 'd', 'f'));
  symlinkSync(path.join(work, 'outside'), path.join(work, 'via'));
  const moved = await caught(
    copyHere(path.join(work, 'via', 'f'), path.join(work, 'd4'), { dev: st.dev, ino: st.ino, exact: true }, go, 4096),
  );
  expect(moved).toBeInstanceOf(FileOpError);
  expect(moved).toMatchObject({ code: 'EMOVED', side: 'source' });
  await expect(stat(path.join(work, 'd4'))).rejects.toMatchObject({ code: 'ENOENT' });
});
