/**
 * "No space left" anywhere is one clear DISK_SPACE error with the figures, on a real full
 * filesystem (a 2 MB tmpfs): writes into the repository, and copies out of it onto a full disk.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { DiskFullError } from '../../src/core/errors';
import { LocalStorage } from '../../src/storage/local_storage';
import { Repository } from '../../src/repository/repository';

let base: string;
let small: string;
beforeAll(async () => {
  base = await mkdtemp(path.join(os.tmpdir(), 'disk-full-'));
  small = path.join(base, 'small');
  await mkdir(small);
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', small], { encoding: 'utf8' });
  if (m.status !== 0) throw new Error(`cannot mount a tmpfs (these tests need root): ${m.stderr}`);
});
afterAll(async () => {
  spawnSync('umount', ['-l', small]);
  await rm(base, { recursive: true, force: true });
});

function expectDiskFull(err: unknown, what: RegExp): void {
  expect(err).toBeInstanceOf(DiskFullError);
  const e = err as DiskFullError;
  expect(e.code).toBe('DISK_SPACE');
  expect(e.permanent).toBe(true); // retrying cannot help
  expect(e.message).toMatch(what);
  expect(e.message).toMatch(/\d+(\.\d)? (B|KB|MB) free of \d+(\.\d)? (B|KB|MB) on /);
  expect(e.hint).toMatch(/free space/);
}

test('an object streamed into a full repository: DISK_SPACE, how far it got, free of total', async () => {
  const repo = await Repository.open(await LocalStorage.open(path.join(small, 'repo')));
  const err = await repo.ingest(Readable.from([randomBytes(3 * 1024 * 1024)])).catch((e: unknown) => e);
  expectDiskFull(err, /^the repository disk is full: writing an object failed after [\d.]+ (KB|MB) of it; /);
  expect((err as DiskFullError).hint).toMatch(/prune/);
});

test('a small file (read whole, staged) into a full repository: DISK_SPACE naming the file', async () => {
  const repo = await Repository.open(await LocalStorage.open(path.join(small, 'repo')));
  const src = path.join(base, 'attachment.bin');
  await writeFile(src, randomBytes(3 * 1024 * 1024));
  const err = await repo.ingestFile(src, { size: 3 * 1024 * 1024 }).catch((e: unknown) => e);
  expectDiskFull(err, new RegExp(`^the repository disk is full: writing the copy of ${src} failed; `));
});

test('a manifest-sized write into a full repository: DISK_SPACE naming the key', async () => {
  const storage = await LocalStorage.open(path.join(small, 'repo'));
  const filler = path.join(small, 'filler');
  spawnSync('sh', ['-c', `head -c 4m /dev/zero > "${filler}"`]);
  try {
    const err = await storage.put('snapshots/x.json', Buffer.alloc(64 * 1024, 1)).catch((e: unknown) => e);
    expectDiskFull(err, /^the repository disk is full: writing snapshots\/x\.json failed; /);
  } finally {
    await rm(filler, { force: true });
  }
});

test('a restore through the repository (object checked before it is put in place) names the file restored, not its temporary copy', async () => {
  const repo = await Repository.open(await LocalStorage.open(path.join(base, 'repo-checked')));
  const stored = await repo.ingest(Readable.from([randomBytes(3 * 1024 * 1024)]));
  const target = path.join(small, 'install-checked');
  await mkdir(target, { recursive: true });
  const err = await repo.copyObjectTo(stored.sha256, path.join(target, 'file.bin')).catch((e: unknown) => e);
  expectDiskFull(
    err,
    new RegExp(`^the disk restored to \\(${target}\\) is full: writing ${target}/file\\.bin failed; `),
  );
  await writeFile(path.join(target, 'after.txt'), 'the failed copy left nothing behind');
});
