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
import { JobLock } from '../../src/jobs/lock';
import { backupTree } from '../../src/repository/tree_backup';
import { restoreTree } from '../../src/repository/tree_restore';
import { collectEntries } from '../../src/manifest/entry_list';
import { WalkPacer } from '../../src/repository/walk_pacer';

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

/** Fills the small disk to its last block; returns the filler to remove. */
function fillSmallDisk(): string {
  const filler = path.join(small, 'filler');
  spawnSync('sh', ['-c', `head -c 4m /dev/zero > "${filler}"`]);
  return filler;
}

// The job lock lives in the repository: a job that filled the disk (a dump, a copy) then fails to
// record its state there, and that must read as the full disk it is, not as an internal error.
test('the job lock written on a full repository disk: DISK_SPACE naming the job lock', async () => {
  const dir = path.join(small, 'repo-lock');
  await mkdir(dir);
  const { lock } = await JobLock.acquire(dir, 'job-1', 'backup');
  const filler = fillSmallDisk();
  try {
    const err = await lock.update({ mattermostStopped: true }).catch((e: unknown) => e);
    expectDiskFull(err, /^the repository disk is full: writing the job lock failed; /);
  } finally {
    await rm(filler, { force: true });
    await lock.release();
  }
});

// Small files of a new directory are created in place (ContainedTree.createFile): a full disk
// there is the same DISK_SPACE error, naming the file, and leaves no partial file.
test('small files restored onto a full disk: DISK_SPACE naming the disk restored to and the file', async () => {
  const repo = await Repository.open(await LocalStorage.open(path.join(base, 'repo-small')), { packs: true });
  const src = path.join(base, 'src-small');
  for (const d of ['a', 'b']) {
    await mkdir(path.join(src, 'data', d), { recursive: true });
    for (const f of ['1.jpg', '2.jpg']) await writeFile(path.join(src, 'data', d, f), randomBytes(64 * 1024));
  }
  const entries = await collectEntries((await backupTree({ root: src, exclude: [], repo })).entries);
  await repo.packs.flush();
  const target = path.join(small, 'install-small');
  const filler = fillSmallDisk();
  try {
    for (const fixed of ['sync', 'async'] as const) {
      const root = `${target}-${fixed}`;
      const pacer = new WalkPacer({ fixed });
      const err = await restoreTree({ entries, root, exclude: [], mode: 'mirror', repo, pacer }).catch(
        (e: unknown) => e,
      );
      expectDiskFull(err, new RegExp(`^the disk restored to \\(${root}(/data/a)?\\) is full: writing ${root}/`));
      const left = spawnSync('find', [root, '-type', 'f', '-size', '+0'], { encoding: 'utf8' }).stdout.trim();
      expect(left).toBe('');
    }
  } finally {
    await rm(filler, { force: true });
  }
});
