// A backup reads each file it listed, not whatever its path leads to later. The tree's writer
// (Mattermost's account, a plugin) may swap a directory on a source's path for a link after the
// walk listed it, to have a file it may not read stored under its own path and read it after a
// restore; or put another file at a listed path. Real trees, real swaps mid-backup (after the
// walk listed the directory), every reading path: synchronous, parallel, staged (the hash
// workers), the second reading thread, and the online pre-copy.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, lstatSync, realpathSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { collectEntries } from '../../src/manifest/entry_list';
import type { Entry } from '../../src/manifest/manifest';
import { FileOpError } from '../../src/repository/file_op_error';
import { HashPool } from '../../src/repository/hash_pool';
import { INLINE_FILE, Repository } from '../../src/repository/repository';
import { openListed, openListedSync } from '../../src/repository/source_open';
import { SmallReader } from '../../src/repository/small_reader';
import { backupTree, precopyEntries } from '../../src/repository/tree_backup';
import { WalkPacer } from '../../src/repository/walk_pacer';
import { LocalStorage } from '../../src/storage/local_storage';

let work: string;
let root: string;
let outside: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'source-swap-'));
  root = path.join(work, 'tree');
  outside = path.join(work, 'outside');
  await mkdir(path.join(root, 'd'), { recursive: true });
  await mkdir(outside);
});
afterEach(() => rm(work, { recursive: true, force: true }));

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

async function openRepo() {
  const repo = await Repository.open(await LocalStorage.open(path.join(work, 'repo')), { packs: true });
  await repo.prepareWrites();
  return repo;
}

/** Swaps tree/d for a link to `outside` (the real d kept aside, for the test to look at). */
function swapDirForLink(): void {
  const d = path.join(root, 'd');
  spawnSync('mv', [d, path.join(work, 'd.real')]);
  spawnSync('ln', ['-s', outside, d]);
}

const modes = [
  { name: 'synchronous reads', size: 100, pacer: 'sync' as const },
  { name: 'parallel reads', size: 100, pacer: 'async' as const },
  { name: 'a staged copy in a hash worker', size: INLINE_FILE + 4096, pacer: 'sync' as const },
];

describe.each(modes)('a directory swapped for a link after it was listed ($name)', ({ size, pacer }) => {
  // tree/d is listed at its entry; tree/d-1 sorts between tree/d and tree/d's files ('-' < '/'),
  // and the swap comes once d-1 is stored: d/f is then lstat'd and opened through the link, so
  // lstat and open agree on the outside file; only where the handle is tells.
  async function setUp() {
    const secret = randomBytes(size);
    await writeFile(path.join(outside, 'f'), secret);
    await writeFile(path.join(root, 'd', 'f'), randomBytes(size));
    await writeFile(path.join(root, 'd-1'), 'stored first');
    return secret;
  }

  const run = async (repo: Repository, online: boolean) => {
    let swapped = false;
    const r = await backupTree({
      root,
      exclude: [],
      repo,
      tolerateVanished: online,
      pacer: new WalkPacer({ fixed: pacer }),
      concurrency: 1, // d-1 is stored before d/f is read
      smallReaderAfter: Infinity,
      onProgress: () => {
        if (swapped) return;
        swapped = true;
        swapDirForLink();
      },
    });
    const entries = await collectEntries(r.entries);
    await repo.packs.flush();
    expect(swapped).toBe(true);
    return { entries, warnings: r.warnings };
  };

  test('offline: the backup fails with EMOVED, naming where the file really was, and stores nothing of it', async () => {
    const secret = await setUp();
    const repo = await openRepo();
    const err = await run(repo, false).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(err?.code).toBe('EMOVED');
    expect(err?.message).toContain(path.join(root, 'd', 'f'));
    expect(err?.message).toContain(path.join(outside, 'f'));
    await repo.packs.flush();
    expect(await repo.hasObject(sha(secret))).toBe(false);
  });

  test('online: the file is left out like one that vanished; nothing of the outside file is stored', async () => {
    const secret = await setUp();
    const repo = await openRepo();
    const { entries, warnings } = await run(repo, true);
    expect(entries.map((e) => e.path)).toEqual(['', 'd', 'd-1']);
    // Left out, but not silently: the warning says where the handle really was.
    expect(warnings).toEqual([expect.stringMatching(/^EMOVED: .*left out$/)]);
    expect(warnings[0]).toContain(path.join(outside, 'f'));
    expect(await repo.hasObject(sha(secret))).toBe(false);
  });
});

test('online, the warnings name the first 20 files left out as moved and count the rest', async () => {
  const names = Array.from({ length: 25 }, (_, i) => `f${String(i).padStart(2, '0')}`);
  for (const n of names) {
    await writeFile(path.join(root, 'd', n), 'inside');
    await writeFile(path.join(outside, n), 'outside');
  }
  await writeFile(path.join(root, 'd-1'), 'stored first');
  const repo = await openRepo();
  let swapped = false;
  const r = await backupTree({
    root,
    exclude: [],
    repo,
    tolerateVanished: true,
    pacer: new WalkPacer({ fixed: 'sync' }),
    concurrency: 1,
    smallReaderAfter: Infinity,
    onProgress: () => {
      if (swapped) return;
      swapped = true;
      swapDirForLink();
    },
  });
  const entries = await collectEntries(r.entries);
  await repo.packs.flush();
  expect(entries.map((e) => e.path)).toEqual(['', 'd', 'd-1']);
  expect(r.warnings).toHaveLength(21);
  r.warnings.slice(0, 20).forEach((w, i) => {
    expect(w).toMatch(/^EMOVED: .*left out$/);
    expect(w).toContain(path.join(outside, names[i] as string));
  });
  expect(r.warnings[20]).toBe('5 more files were left out as above (EMOVED)');
  expect(await repo.hasObject(sha('outside'))).toBe(false);
});

// A file renamed over after it was opened at its listed place: /proc/self/fd names the handle
// `<path> (deleted)`. It is where it was listed and is read, not refused as moved. Only a rename
// between the open and the look at /proc makes this, so a child renames over the file without a
// pause while each way of opening a source opens it many times: without the rule, in a run
// here, 909 of 4,000 opens on the main thread and 17 of 500 in a hash worker failed with EMOVED.
test('a file renamed over between its open and the check of its place is read, not refused as moved', async () => {
  const file = path.join(root, 'busy');
  await writeFile(file, 'first');
  const first = lstatSync(file);
  const listed = { dev: first.dev, ino: first.ino, exact: true };
  const renamer = spawn(process.execPath, [
    '-e',
    'const fs=require("fs"),f=process.argv[1];for(let i=0;;i++){fs.writeFileSync(f+".new",String(i));fs.renameSync(f+".new",f)}',
    file,
  ]);
  const pool = new HashPool({ size: 1 });
  const failures: string[] = [];
  const note = (e: unknown) => {
    failures.push(`${(e as NodeJS.ErrnoException).code}: ${(e as Error).message}`);
  };
  try {
    while (!existsSync(`${file}.new`)) await new Promise((r) => setTimeout(r, 5));
    let replaced = 0;
    for (let i = 0; i < 2000; i++) {
      try {
        const o = openListedSync(file, listed);
        closeSync(o.handle);
        if (o.replaced) replaced++;
      } catch (e) {
        note(e);
      }
      try {
        const o = await openListed(file, listed);
        await o.handle.close();
      } catch (e) {
        note(e);
      }
      if (i % 4 === 0) {
        const copy = path.join(work, `copy-${i}`);
        await pool.copy(file, copy, { listed }).catch(note);
        await rm(copy, { force: true });
      }
    }
    // The file was replaced under the test all along: the opens raced the renames.
    expect(replaced).toBeGreaterThan(1000);
  } finally {
    renamer.kill('SIGKILL');
    await pool.close();
  }
  expect(failures).toEqual([]);
});

// Without /proc (a container that does not mount it) a handle cannot say where it is: the backup
// still reads every file, and says that a directory swapped for a link would go unnoticed. The
// child hides /proc in a mount namespace of its own (root's, or a user namespace's root).
test('without /proc the backup warns that a swapped directory would not be noticed, and reads every file', async () => {
  await writeFile(path.join(root, 'd', 'f'), 'inside');
  await writeFile(path.join(root, 'top'), 'top');
  const uid = process.getuid?.() ?? 0;
  const args = ['--mount', '--propagation', 'private', ...(uid === 0 ? [] : ['--map-root-user'])];
  const child = path.join(__dirname, '..', 'support', 'backup_no_proc.cjs');
  const dist = path.resolve(__dirname, '..', '..', 'dist');
  const run = spawnSync('unshare', [...args, process.execPath, child, dist, root, path.join(work, 'repo')], {
    encoding: 'utf8',
  });
  expect(run.stderr).toBe('');
  const out = JSON.parse(run.stdout) as { procWorks: boolean; warnings: string[]; entries: Array<[string, string]> };
  expect(out.procWorks).toBe(false);
  const real = realpathSync(root);
  expect(out.warnings).toEqual([
    `/proc/self/fd does not say where open files are (is /proc mounted?): a directory under ${real} swapped for a link during the backup would not be noticed`,
  ]);
  expect(out.entries).toEqual([
    ['', null],
    ['d', null],
    ['d/f', sha('inside')],
    ['top', sha('top')],
  ]);
  // With /proc the same backup has no warning.
  const withProc = await backupTree({ root, exclude: [], repo: await openRepo(), tolerateVanished: true });
  await collectEntries(withProc.entries);
  expect(withProc.warnings).toEqual([]);
});

describe.each(modes)('another file put at a listed path ($name)', ({ size, pacer }) => {
  test('what was read is recorded with its own mode, mtime and inode, not the listed file`s', async () => {
    await writeFile(path.join(root, 'a'), 'stored first');
    const listed = randomBytes(size);
    await writeFile(path.join(root, 'b'), listed);
    await chmod(path.join(root, 'b'), 0o644);
    const replacement = randomBytes(size);
    const staged = path.join(root, 'b.new');
    await writeFile(staged, replacement, { mode: 0o600 });
    await chmod(staged, 0o600);
    const repo = await openRepo();
    let swapped = false;
    const before = lstatSync(path.join(root, 'b'));
    const r = await backupTree({
      root,
      exclude: ['b.new'],
      repo,
      pacer: new WalkPacer({ fixed: pacer }),
      concurrency: 1,
      smallReaderAfter: Infinity,
      onProgress: () => {
        if (swapped) return;
        swapped = true;
        spawnSync('mv', [staged, path.join(root, 'b')]); // a rename over it, as an editor saves
      },
    });
    const entries = await collectEntries(r.entries);
    await repo.packs.flush();
    expect(swapped).toBe(true);
    const b = entries.find((e) => e.path === 'b') as Entry;
    const now = await stat(path.join(root, 'b'), { bigint: true });
    expect(now.ino).not.toBe(BigInt(before.ino));
    expect(b).toMatchObject({
      sha256: sha(replacement),
      size,
      mode: 0o600,
      ino: Number(now.ino),
      mtime: now.mtimeNs.toString(),
    });
    expect(await repo.hasObject(sha(listed))).toBe(false);
  });
});

test('the second reading thread hands back a file that is not the one listed, or not where it was listed', async () => {
  await writeFile(path.join(root, 'd', 'f'), 'inside');
  await writeFile(path.join(outside, 'f'), 'outside');
  await writeFile(path.join(root, 'plain'), 'plain');
  const link = path.join(work, 'via');
  await symlink(root, link);
  const ino = (p: string) => lstatSync(p).ino;
  const dev = lstatSync(root).dev;
  const cases: Array<[string, { dev?: number; ino: number; exact: boolean } | undefined, string]> = [
    [path.join(root, 'plain'), { dev, ino: ino(path.join(root, 'plain')), exact: true }, 'read'],
    [path.join(root, 'plain'), undefined, 'read'],
    // Another inode than listed: the main thread reads it and records it as itself.
    [path.join(root, 'plain'), { dev, ino: ino(path.join(root, 'd', 'f')), exact: true }, 'missed'],
    [path.join(root, 'plain'), { dev: dev + 1, ino: ino(path.join(root, 'plain')), exact: true }, 'missed'],
    // The right inode, reached through a link: not where it was listed.
    [path.join(link, 'plain'), { dev, ino: ino(path.join(root, 'plain')), exact: true }, 'missed'],
    // Without the place check (no /proc) the same file is read.
    [path.join(link, 'plain'), { dev, ino: ino(path.join(root, 'plain')), exact: false }, 'read'],
  ];
  const got: string[] = [];
  const reader = new SmallReader<number>({
    limit: INLINE_FILE,
    onRead: (i) => {
      got[i] = 'read';
      return true;
    },
    onMissed: (i, file, listed) => {
      expect(file).toBe(cases[i]?.[0]);
      expect(listed).toEqual(cases[i]?.[1]);
      got[i] = 'missed';
    },
  });
  try {
    for (const [i, [file, listed]] of cases.entries()) expect(reader.add(file, 10, i, listed)).toBeUndefined();
    await reader.drain();
  } finally {
    await reader.close();
  }
  expect(got).toEqual(cases.map((c) => c[2]));
});

test('a hash worker`s copy refuses a file reached through a link and reports one put at the path since', async () => {
  const file = path.join(root, 'd', 'f');
  await writeFile(file, randomBytes(1000));
  const st = lstatSync(file);
  const pool = new HashPool({ size: 1 });
  try {
    const via = path.join(work, 'via');
    await symlink(path.join(root, 'd'), via);
    const moved = await pool
      .copy(path.join(via, 'f'), path.join(work, 'copy1'), { listed: { dev: st.dev, ino: st.ino, exact: true } })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(moved).toBeInstanceOf(FileOpError);
    expect(moved).toMatchObject({ code: 'EMOVED', side: 'source' });
    await expect(stat(path.join(work, 'copy1'))).rejects.toMatchObject({ code: 'ENOENT' });

    const same = await pool.copy(file, path.join(work, 'copy2'), { listed: { dev: st.dev, ino: st.ino, exact: true } });
    expect(same.replaced).toBeUndefined();

    await writeFile(`${file}.new`, 'replacement', { mode: 0o640 });
    await rename(`${file}.new`, file);
    const now = await stat(file, { bigint: true });
    const other = await pool.copy(file, path.join(work, 'copy3'), {
      listed: { dev: st.dev, ino: st.ino, exact: true },
    });
    expect(other).toMatchObject({ sha256: sha('replacement'), size: 11 });
    expect(other.replaced).toEqual({
      kind: 'file',
      mode: 0o640,
      uid: Number(now.uid),
      gid: Number(now.gid),
      mtime: now.mtimeNs.toString(),
      size: 11,
      ino: Number(now.ino),
      dev: Number(now.dev),
    });
  } finally {
    await pool.close();
  }
});

test('the online pre-copy keeps no checksum for a file read through a swapped directory', async () => {
  const secret = Buffer.from('the content of a file the tree`s writer may not read');
  await writeFile(path.join(outside, 'f'), secret);
  await writeFile(path.join(root, 'd', 'f'), 'inside');
  await writeFile(path.join(root, 'e'), 'e');
  // A file staged by a hash worker (the scan's index has its inode, not its device).
  const big = randomBytes(INLINE_FILE + 4096);
  await writeFile(path.join(root, 'e-big'), big);
  const repo = await openRepo();
  const scan = await backupTree({ root, exclude: [], scan: true });
  swapDirForLink();
  // Without the place check the outside file was read and stored (its entry then kept no checksum only
  // because the pre-copy's second look, an lstat, went through the link too).
  for (const fixed of ['sync', 'async'] as const) {
    const pre = await precopyEntries(scan, repo, undefined, undefined, new WalkPacer({ fixed }));
    const entries = await collectEntries(pre.entries);
    expect(entries.find((e) => e.path === 'd/f')?.sha256).toBeUndefined();
    expect(entries.find((e) => e.path === 'e')?.sha256).toBe(sha('e'));
    expect(entries.find((e) => e.path === 'e-big')?.sha256).toBe(sha(big));
  }
  await repo.packs.flush();
  expect(await repo.hasObject(sha(secret))).toBe(false);
  expect(await readFile(path.join(work, 'd.real', 'f'), 'utf8')).toBe('inside');
});

test('a file whose owner changed is read again, even with the size, mtime and inode number of the parent`s entry', async () => {
  // An inode number comes back once its file is deleted, and anyone may give their own file any
  // size and mtime: the parent's content must not pass to a file of another owner on those alone.
  const file = path.join(root, 'y');
  await writeFile(file, 'the account`s own file');
  const st = await stat(file, { bigint: true });
  const secret = 'root`s secret 22 bytes';
  expect(secret.length).toBe(Number(st.size));
  const parentEntry = (uid: number): Entry => ({
    path: 'y',
    type: 'file',
    mode: Number(st.mode & 0o7777n),
    uid,
    gid: Number(st.gid),
    mtime: st.mtimeNs.toString(),
    size: Number(st.size),
    sha256: sha(secret),
    target: undefined,
    ino: Number(st.ino),
  });
  const repo = await openRepo();
  for (const [uid, read] of [
    [Number(st.uid) + 1, true],
    [Number(st.uid), false],
  ] as const) {
    const r = await backupTree({ root, exclude: ['d'], repo, previous: [parentEntry(uid)] });
    const y = (await collectEntries(r.entries)).find((e) => e.path === 'y');
    expect(r.filesRead).toBe(read ? 1 : 0);
    expect(y?.sha256).toBe(read ? sha('the account`s own file') : sha(secret));
  }
});

test('include roots under a linked directory are read through the link as it is at the start; the root`s own link stays a link', async () => {
  const sys = path.join(work, 'sys');
  await mkdir(path.join(sys, 'mm-10', 'certs'), { recursive: true });
  await symlink('mm-10', path.join(sys, 'mm'));
  await writeFile(path.join(sys, 'mm-10', 'certs', 'key.pem'), 'the key');
  await symlink('key.pem', path.join(sys, 'mm-10', 'certs', 'link.pem'));
  const include = ['mm/certs/key.pem', 'mm/certs/link.pem'];
  const repo = await openRepo();
  for (const online of [false, true]) {
    const r = await backupTree({ root: sys, include, exclude: [], repo, tolerateVanished: online });
    const entries = await collectEntries(r.entries);
    expect(r.warnings).toEqual([]);
    expect(entries.map((e) => [e.path, e.type, e.sha256 ?? e.target])).toEqual([
      ['mm/certs/key.pem', 'file', sha('the key')],
      ['mm/certs/link.pem', 'symlink', 'key.pem'],
    ]);
  }
  const scan = await backupTree({ root: sys, include, exclude: [], scan: true });
  const pre = await collectEntries((await precopyEntries(scan, repo)).entries);
  expect(pre.find((e) => e.path === 'mm/certs/key.pem')?.sha256).toBe(sha('the key'));
});
