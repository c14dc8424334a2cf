import { chmod, chown, mkdir, mkdtemp, readdir, rm, symlink, writeFile, appendFile, utimes } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { LocalStorage } from '../../src/storage/local_storage';
import { Repository } from '../../src/repository/repository';
import { backupTree, precopyEntries } from '../../src/repository/tree_backup';
import { collectEntries } from '../../src/manifest/entry_list';
import { WalkPacer } from '../../src/repository/walk_pacer';
import { TokenBucket } from '../../src/core/rate_limit';
import { restoreTree } from '../../src/repository/tree_restore';
import { describeTree } from '../support/tree_snapshot';
import { caught } from '../support/caught';

let work: string;
let repo: Repository;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'tree-'));
  repo = await Repository.open(await LocalStorage.open(path.join(work, 'repo')));
});
afterEach(() => rm(work, { recursive: true, force: true }));

async function makeTree(root: string): Promise<void> {
  await mkdir(path.join(root, 'data/2026/teams/a b'), { recursive: true });
  await writeFile(path.join(root, 'data/2026/teams/a b/Résumé 2026.pdf'), randomBytes(5000));
  await writeFile(path.join(root, 'data/2026/teams/a b/日本語.txt'), 'こんにちは');
  await writeFile(path.join(root, 'data/dup1'), 'same content');
  await writeFile(path.join(root, 'data/dup2'), 'same content');
  await mkdir(path.join(root, 'empty/nested-empty'), { recursive: true });
  await writeFile(path.join(root, 'secret.key'), 'k');
  await chmod(path.join(root, 'secret.key'), 0o600);
  await writeFile(path.join(root, 'group.txt'), 'g');
  await chmod(path.join(root, 'group.txt'), 0o640);
  await mkdir(path.join(root, 'bin'));
  await writeFile(path.join(root, 'bin/mattermost'), '#!/bin/sh\n');
  await chmod(path.join(root, 'bin/mattermost'), 0o755);
  await symlink('mattermost', path.join(root, 'bin/link'));
  await symlink('/nonexistent/target', path.join(root, 'dangling'));
  if (process.getuid?.() === 0) await chown(path.join(root, 'group.txt'), 1234, 5678);
  await mkdir(path.join(root, 'other-component'));
  await writeFile(path.join(root, 'other-component/keep.me'), 'not mine');
}

// Small files and metadata are written with synchronous calls or awaited ones, as the pacer finds
// faster on the disk: both ways must give the same tree.
describe.each(['sync', 'async'] as const)('%s writes', (fixed) => {
  test(`a tree round-trips exactly: content, modes, owners, mtimes, symlinks, empty dirs, odd names (${fixed} writes)`, async () => {
    const root = path.join(work, 'install');
    await makeTree(root);
    const before = await describeTree(root, ['other-component']);
    const b = await backupTree({ root, exclude: ['other-component'], repo });
    const entries = await collectEntries(b.entries);
    expect(b.files).toBe(7);
    expect(entries.find((e) => e.path === 'other-component')).toBeUndefined();
    // Same content is stored once.
    expect(entries.find((e) => e.path === 'data/dup1')?.sha256).toBe(
      entries.find((e) => e.path === 'data/dup2')?.sha256,
    );

    // Damage the tree in every way, including the excluded subtree (which restore must leave alone).
    await rm(path.join(root, 'data/2026'), { recursive: true });
    await appendFile(path.join(root, 'data/dup1'), 'changed');
    await writeFile(path.join(root, 'new-file'), 'added after the backup');
    await rm(path.join(root, 'empty'), { recursive: true });
    await chmod(path.join(root, 'secret.key'), 0o666);
    await rm(path.join(root, 'bin/link'));
    await writeFile(path.join(root, 'bin/link'), 'now a file');
    await writeFile(path.join(root, 'other-component/added'), 'other');
    // A directory where a file was, and a link where a directory was (never followed).
    await rm(path.join(root, 'group.txt'));
    await mkdir(path.join(root, 'group.txt/inside'), { recursive: true });
    const outside = path.join(work, 'outside');
    await mkdir(outside);
    await rm(path.join(root, 'empty'), { recursive: true, force: true });
    await symlink(outside, path.join(root, 'empty'));

    const r = await restoreTree({
      entries,
      root,
      exclude: ['other-component'],
      mode: 'mirror',
      repo,
      pacer: new WalkPacer({ fixed }),
    });
    expect(await readdir(outside)).toEqual([]);
    expect(r.removed).toBeGreaterThanOrEqual(2);
    expect(await describeTree(root, ['other-component'])).toEqual(before);
    expect(await describeTree(path.join(root, 'other-component'))).toHaveProperty('added');
  });

  test(`restoring into a new empty directory reproduces the tree (${fixed} writes)`, async () => {
    const root = path.join(work, 'install');
    await makeTree(root);
    const b = await backupTree({ root, exclude: [], repo });
    const dest = path.join(work, 'new-host', 'install');
    await restoreTree({
      entries: await collectEntries(b.entries),
      root: dest,
      exclude: [],
      mode: 'mirror',
      repo,
      pacer: new WalkPacer({ fixed }),
    });
    const strip = (t: Record<string, string>) =>
      Object.fromEntries(Object.entries(t).map(([k, v]) => [k, k === '.' ? v.replace(/ mtime=\d+/, '') : v]));
    expect(strip(await describeTree(dest))).toEqual(strip(await describeTree(root)));
  });
});

test('a second backup of an unchanged tree reads no file contents; a changed file is read again', async () => {
  const root = path.join(work, 'install');
  await makeTree(root);
  const first = await backupTree({ root, exclude: [], repo });
  expect(first.filesRead).toBe(first.files);
  const second = await backupTree({ root, exclude: [], repo, previous: first.entries });
  expect(second.filesRead).toBe(0);
  expect(second.newBytes).toBe(0);
  expect(await collectEntries(second.entries)).toEqual(await collectEntries(first.entries));
  await writeFile(path.join(root, 'group.txt'), 'changed content');
  const third = await backupTree({ root, exclude: [], repo, previous: second.entries });
  expect(third.filesRead).toBe(1);
  expect(third.newBytes).toBe('changed content'.length);
});

test('same size and mtime but another inode is read again (a file replaced by a copy)', async () => {
  const root = path.join(work, 'install');
  await mkdir(root);
  await writeFile(path.join(root, 'f'), 'aaaa');
  const first = await backupTree({ root, exclude: [], repo });
  const e = (await collectEntries(first.entries)).find((x) => x.path === 'f');
  await rm(path.join(root, 'f'));
  await writeFile(path.join(root, 'g'), 'ignored');
  await writeFile(path.join(root, 'f'), 'bbbb');
  const secs = Number(BigInt(e?.mtime ?? '0') / 1000n) / 1e6;
  await utimes(path.join(root, 'f'), secs, secs);
  const second = await backupTree({ root, exclude: [], repo, previous: first.entries });
  expect((await collectEntries(second.entries)).find((x) => x.path === 'f')?.sha256).not.toBe(e?.sha256);
});

test('restore refuses entries that would write through a path outside the tree', async () => {
  const root = path.join(work, 'install');
  const bad = [
    { path: '', type: 'dir' as const, mode: 0o755, uid: 0, gid: 0, mtime: '0' },
    { path: 'link', type: 'symlink' as const, mode: 0o777, uid: 0, gid: 0, mtime: '0', target: '/etc' },
    {
      path: 'link/passwd',
      type: 'file' as const,
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtime: '0',
      size: 1,
      sha256: 'a'.repeat(64),
    },
  ];
  const err = await caught(restoreTree({ entries: bad, root, exclude: [], mode: 'mirror', repo }));
  expect(err.message).toMatch(/has no parent directory entry/);
});

async function countObjects(): Promise<number> {
  let n = 0;
  for await (const _ of repo.listObjects()) n++;
  return n;
}

test('synchronous and parallel metadata walks record the same entries', async () => {
  const root = path.join(work, 'install');
  await makeTree(root);
  for (let i = 0; i < 40; i++) {
    await mkdir(path.join(root, `data/many/${i}`), { recursive: true });
    await writeFile(path.join(root, `data/many/${i}/f`), String(i));
  }
  const walk = (fixed: 'sync' | 'async') =>
    backupTree({ root, exclude: ['other-component'], repo, pacer: new WalkPacer({ fixed }) });
  const sync = await collectEntries((await walk('sync')).entries);
  const parallel = await collectEntries((await walk('async')).entries);
  expect(sync.length).toBeGreaterThan(90);
  expect(parallel).toEqual(sync);
  expect(parallel.some((e) => e.path.startsWith('other-component'))).toBe(false);
});

test.each(['sync', 'async'] as const)(
  'a scan stores nothing and lists changed files without a hash; the pre-copy fills them in unless they changed again (%s copies)',
  async (fixed) => {
    const root = path.join(work, 'install');
    await makeTree(root);
    const first = await backupTree({ root, exclude: [], repo });
    const objectsBefore = await countObjects();
    await writeFile(path.join(root, 'data/new-a'), randomBytes(3000));
    await writeFile(path.join(root, 'data/new-b'), randomBytes(2000));

    const scan = await backupTree({ root, exclude: [], previous: first.entries, scan: true });
    expect(scan.changedBytes).toBe(5000);
    expect(scan.filesRead).toBe(0);
    const scanned = await collectEntries(scan.entries);
    expect(scanned.filter((e) => e.type === 'file' && !e.sha256).map((e) => e.path)).toEqual([
      'data/new-a',
      'data/new-b',
    ]);
    expect(await countObjects()).toBe(objectsBefore);

    // new-b changes between the scan and the pre-copy: what was read no longer matches the scan.
    await appendFile(path.join(root, 'data/new-b'), 'more');
    const pre = await precopyEntries(scan, repo, undefined, undefined, new WalkPacer({ fixed }));
    expect(pre.filesRead).toBe(2);
    const byPath = new Map((await collectEntries(pre.entries)).map((e) => [e.path, e]));
    expect(byPath.get('data/new-a')?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(byPath.get('data/new-b')?.sha256).toBeUndefined();
    // The scan's own index is left as it was.
    expect((await collectEntries(scan.entries)).find((e) => e.path === 'data/new-a')?.sha256).toBeUndefined();

    // The pass that follows (Mattermost stopped) reads only new-b, and records its final content.
    const final = await backupTree({ root, exclude: [], repo, previous: pre.entries });
    expect(final.filesRead).toBe(1);
    const restored = path.join(work, 'restored');
    await restoreTree({
      entries: await collectEntries(final.entries),
      root: restored,
      exclude: [],
      mode: 'mirror',
      repo,
    });
    expect(await describeTree(restored, [])).toEqual(await describeTree(root, []));
  },
);

test('an online budget paces every byte read, and only those: an unchanged file costs nothing', async () => {
  const root = path.join(work, 'install');
  await makeTree(root);
  // A real token bucket (2 MB/s, 64 KiB burst) that also counts what it was asked for.
  const bucket = new TokenBucket(2 * 1024 * 1024, 64 * 1024);
  let asked = 0;
  const reads = {
    bytesPerSecond: bucket.bytesPerSecond,
    take: (bytes: number, signal?: AbortSignal) => {
      asked += bytes;
      return bucket.take(bytes, signal);
    },
    tryTake: (bytes: number) => {
      const ok = bucket.tryTake(bytes);
      if (ok) asked += bytes;
      return ok;
    },
  };
  await writeFile(path.join(root, 'big.bin'), randomBytes(1024 * 1024));
  const t0 = performance.now();
  const first = await backupTree({ root, exclude: [], repo, reads });
  const took = performance.now() - t0;
  const fileBytes = (await collectEntries(first.entries)).reduce(
    (n, e) => n + (e.type === 'file' ? (e.size ?? 0) : 0),
    0,
  );
  expect(asked).toBe(fileBytes);
  // ~1 MB beyond the burst at 2 MB/s: at least ~0.45 s however fast the disk.
  expect(took).toBeGreaterThan(400);
  asked = 0;
  const second = await backupTree({ root, exclude: [], repo, previous: first.entries, reads });
  expect({ filesRead: second.filesRead, asked }).toEqual({ filesRead: 0, asked: 0 });
});
