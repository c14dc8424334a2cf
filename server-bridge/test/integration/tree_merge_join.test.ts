/**
 * The streamed backup walk: entries come out in byPath order whatever the names, the parent's
 * index is merge-joined as a stream (unchanged files are not read; moved, swapped, changed and
 * deleted files never get a wrong hash, even when the parent is out of order), files changed or
 * removed during an online walk are handled, and a failed walk leaves no index behind.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, readdir, rename, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LocalStorage } from '../../src/storage/local_storage';
import { Repository } from '../../src/repository/repository';
import { backupTree } from '../../src/repository/tree_backup';
import { WalkPacer } from '../../src/repository/walk_pacer';
import { collectEntries, type EntryList } from '../../src/manifest/entry_list';
import { EntrySpool } from '../../src/manifest/entry_spool';
import { spoolDir } from '../../src/manifest/spool_dir';
import { byPath, type Entry } from '../../src/manifest/manifest';
import { caught } from '../support/caught';

let work: string;
let root: string;
let repo: Repository;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'merge-join-'));
  root = path.join(work, 'tree');
  await mkdir(root);
  repo = await Repository.open(await LocalStorage.open(path.join(work, 'repo')));
});
afterEach(() => rm(work, { recursive: true, force: true }));

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Every path under `dir` (relative, '/'-separated, '' for the root itself), found independently of the walk. */
async function allPaths(dir: string, rel = ''): Promise<string[]> {
  const out = [rel];
  const abs = rel ? path.join(dir, rel) : dir;
  if (!(await lstat(abs)).isDirectory()) return out;
  for (const n of await readdir(abs)) out.push(...(await allPaths(dir, rel ? `${rel}/${n}` : n)));
  return out;
}

/** byPath order, spelled out independently of the code under test: UTF-16 code units. */
const sortedByPath = (paths: string[]) => [...paths].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/**
 * The invariant a backup must keep: a file entry whose recorded size, mtime and inode still match
 * the file on disk has the hash of that file's content (otherwise a later backup reuses a stale
 * hash for new content). Returns the entries that no longer match (they will be read again).
 */
async function checkHashes(entries: Entry[]): Promise<Entry[]> {
  const stale: Entry[] = [];
  for (const e of entries) {
    if (e.type !== 'file') continue;
    expect(e.sha256).toMatch(/^[0-9a-f]{64}$/);
    const abs = path.join(root, e.path);
    const st = await lstat(abs, { bigint: true }).catch(() => undefined);
    if (!st || Number(st.size) !== e.size || st.mtimeNs.toString() !== e.mtime || Number(st.ino) !== e.ino) {
      stale.push(e);
      continue;
    }
    expect({ path: e.path, sha256: e.sha256 }).toEqual({ path: e.path, sha256: sha(await readFile(abs)) });
  }
  return stale;
}

/** The object stored under each file entry's hash really has that content. */
async function checkObjects(entries: Entry[]): Promise<void> {
  for (const e of entries) {
    if (e.type !== 'file') continue;
    const chunks: Buffer[] = [];
    for await (const c of await repo.readObject(e.sha256 as string)) chunks.push(c as Buffer);
    expect(sha(Buffer.concat(chunks))).toBe(e.sha256);
  }
}

const TRICKY = [
  'a',
  'a.txt',
  'a b',
  'a!',
  'a-',
  'a-1',
  'a.',
  'a0',
  'A',
  'b',
  ' lead',
  '!bang',
  '-dash',
  '.hidden',
  '..dots',
  'x y',
  'x!y',
  'x-y',
  'x.y',
  'xy',
  'é',
  'é.d',
  'e\u0301', // the same letter decomposed: a different name
  'ü',
  '~',
  '😀', // a surrogate pair: sorts below U+E000..U+FFFF in UTF-16 order
  '\uff01', // fullwidth '!'
  '日本',
];

/** A tree where the subtree of a directory does not come right after its own entry in byPath order. */
function makeTrickyTree(): void {
  for (const top of TRICKY) {
    if (['a', 'a-', 'a b', 'é', '😀', '.hidden', 'x y', 'x'].includes(top)) {
      for (const sub of ['b', 'a.txt', '!', ' sp', 'c', 'c.d', 'é']) {
        if (sub === 'c') {
          mkdirSync(path.join(root, top, 'c', 'deeper'), { recursive: true });
          writeFileSync(path.join(root, top, 'c', 'deeper', 'leaf'), `${top}/c/deeper/leaf`);
          writeFileSync(path.join(root, top, 'c', 'z'), `${top}/c/z`);
        } else {
          mkdirSync(path.join(root, top), { recursive: true });
          writeFileSync(path.join(root, top, sub), `${top}/${sub}`);
        }
      }
    } else {
      writeFileSync(path.join(root, top), top);
    }
  }
  mkdirSync(path.join(root, 'x'));
  writeFileSync(path.join(root, 'x', 'in-x'), 'x');
  // Many small directories (Mattermost's one per attachment), for the look-ahead of the parallel walk.
  for (let i = 0; i < 150; i++) {
    const dir = path.join(root, 'data', `2026010${i % 3}`, 'users', `u${i % 7}`, `file${i}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `n${i}.png`), `png ${i}`);
    writeFileSync(path.join(dir, `n${i}_thumb.jpg`), `thumb ${i}`);
  }
}

test('entries come out in byPath order for names below and above "/", non-ASCII and surrogate pairs, in both walk modes', async () => {
  makeTrickyTree();
  const expected = sortedByPath(await allPaths(root));
  // The trick matters: here a directory's subtree does not follow its entry directly.
  expect(expected.indexOf('a/b')).toBeGreaterThan(expected.indexOf('a.txt'));
  for (const fixed of ['sync', 'async'] as const) {
    const b = await backupTree({ root, exclude: [], repo, pacer: new WalkPacer({ fixed }) });
    const entries = await collectEntries(b.entries);
    expect(entries.map((e) => e.path)).toEqual(expected);
    // The same order as the manifest's own comparison.
    expect([...entries].sort(byPath).map((e) => e.path)).toEqual(expected);
    expect(b.entries.length).toBe(expected.length);
    expect(await checkHashes(entries)).toEqual([]);
  }
});

test('an include list is walked in byPath order; duplicates and paths inside another are walked once; a missing one is a warning', async () => {
  makeTrickyTree();
  const include = ['a.txt', 'a', 'a b/!', 'a/c', 'a', 'missing', '😀/c', 'x y'];
  const b = await backupTree({ root, include, exclude: ['a/c/deeper'], repo });
  const all = await allPaths(root);
  const under = (r: string) => all.filter((p) => p === r || p.startsWith(`${r}/`));
  const expected = sortedByPath(
    [...new Set(['a.txt', ...under('a'), 'a b/!', ...under('😀/c'), ...under('x y')])].filter(
      (p) => p !== 'a/c/deeper' && !p.startsWith('a/c/deeper/'),
    ),
  );
  expect((await collectEntries(b.entries)).map((e) => e.path)).toEqual(expected);
  expect(b.warnings).toEqual([`${path.join(root, 'missing')} does not exist`]);
});

test('against the previous index nothing is read; moved, swapped and deleted files are re-read or dropped, never given a wrong hash', async () => {
  await mkdir(path.join(root, 'd1'));
  await mkdir(path.join(root, 'd2'));
  await mkdir(path.join(root, 'd3/sub'), { recursive: true });
  await mkdir(path.join(root, 'p'));
  await writeFile(path.join(root, 'd1/f1'), 'one');
  await writeFile(path.join(root, 'd1/f2'), 'two');
  await writeFile(path.join(root, 'd2/g'), 'gee');
  for (let i = 0; i < 20; i++) await writeFile(path.join(root, `d3/sub/${i}`), `d3 ${i}`);
  await writeFile(path.join(root, 'p/q1'), 'AAAA');
  await writeFile(path.join(root, 'p/q2'), 'BBBB');
  const when = new Date('2026-01-02T03:04:05Z');
  await utimes(path.join(root, 'p/q1'), when, when);
  await utimes(path.join(root, 'p/q2'), when, when);
  await writeFile(path.join(root, 'gone'), 'bye');

  const first = await backupTree({ root, exclude: [], repo });
  expect(first.filesRead).toBe(first.files);
  const same = await backupTree({ root, exclude: [], repo, previous: first.entries });
  expect(same.filesRead).toBe(0);
  expect(same.newBytes).toBe(0);
  expect(await collectEntries(same.entries)).toEqual(await collectEntries(first.entries));

  await rename(path.join(root, 'd1/f1'), path.join(root, 'd2/f1')); // same inode, size and mtime, another place
  // Same size and mtime, contents swapped: only the inodes tell.
  await rename(path.join(root, 'p/q1'), path.join(root, 'p/tmp'));
  await rename(path.join(root, 'p/q2'), path.join(root, 'p/q1'));
  await rename(path.join(root, 'p/tmp'), path.join(root, 'p/q2'));
  await rm(path.join(root, 'd3'), { recursive: true });
  await rm(path.join(root, 'gone'));

  const after = await backupTree({ root, exclude: [], repo, previous: same.entries });
  const entries = await collectEntries(after.entries);
  expect(entries.map((e) => e.path)).toEqual(sortedByPath(await allPaths(root)));
  expect(await checkHashes(entries)).toEqual([]);
  expect(after.filesRead).toBe(3); // d2/f1, p/q1, p/q2
  expect(entries.find((e) => e.path === 'p/q1')?.sha256).toBe(sha('BBBB'));
  expect(entries.find((e) => e.path === 'd2/f1')?.sha256).toBe(sha('one'));
});

/** A parent index in another order than the walk's, as an array and as a spooled stream. */
async function reordered(entries: Entry[], how: 'reversed' | 'shuffled', stream: boolean): Promise<EntryList> {
  let list = [...entries].reverse();
  if (how === 'shuffled') {
    list = [...entries];
    let seed = 42;
    for (let i = list.length - 1; i > 0; i--) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const j = seed % (i + 1);
      [list[i], list[j]] = [list[j] as Entry, list[i] as Entry];
    }
  }
  if (!stream) return list;
  const spool = await EntrySpool.create(await spoolDir(), 'test');
  for (const e of list) await spool.write(e);
  const s = await spool.endSection();
  await spool.close();
  return s;
}

test('a parent in another order than the walk costs re-reads, never a wrong entry', async () => {
  makeTrickyTree();
  const first = await backupTree({ root, exclude: [], repo });
  const firstEntries = await collectEntries(first.entries);
  // Changes the parent does not know about: each must be read again whatever the parent's order.
  await writeFile(path.join(root, 'a.txt'), 'changed a.txt');
  await writeFile(path.join(root, 'a/b'), 'changed a/b, longer');
  for (const how of ['reversed', 'shuffled'] as const) {
    for (const stream of [false, true]) {
      const parent = await reordered(firstEntries, how, stream);
      const b = await backupTree({ root, exclude: [], repo, previous: parent });
      const entries = await collectEntries(b.entries);
      expect(entries.map((e) => e.path)).toEqual(sortedByPath(await allPaths(root)));
      expect(await checkHashes(entries)).toEqual([]);
      // Out-of-order entries are not found, so more is read than with an ordered parent...
      expect(b.filesRead).toBeGreaterThanOrEqual(2);
      // ...and what is found is right: everything but the two changed files matches the first backup.
      const before = new Map(firstEntries.map((e) => [e.path, e.sha256]));
      const differs = entries.filter((e) => e.type === 'file' && before.get(e.path) !== e.sha256).map((e) => e.path);
      expect(differs.sort()).toEqual(['a.txt', 'a/b']);
    }
  }
  const ordered = await backupTree({ root, exclude: [], repo, previous: firstEntries });
  expect(ordered.filesRead).toBe(2);
});

test('files changed during an online walk end up with the hash of what was stored, or are read again next time', async () => {
  const n = 300;
  const name = (i: number) => `d/${String(i).padStart(3, '0')}`;
  await mkdir(path.join(root, 'd'));
  const old = new Date('2025-06-01T00:00:00Z'); // so that any rewrite changes the mtime, however coarse the clock
  for (let i = 0; i < n; i++) {
    await writeFile(path.join(root, name(i)), `v1 ${i} `.repeat(50));
    await utimes(path.join(root, name(i)), old, old);
  }
  const read = new Set<string>();
  let fired = false;
  const first = await backupTree({
    root,
    exclude: [],
    repo,
    tolerateVanished: true,
    onProgress: (p) => {
      read.add(p.currentPath);
      if (fired || read.size < 10) return;
      fired = true;
      // While reads are in flight and lstats were taken ahead: rewrite the files already read (to
      // the same size) and most of the others, some to the same size and some not.
      for (let i = 0; i < n; i++) {
        const rel = name(i);
        if (!read.has(rel) && i < 20) continue;
        const body = i % 2 || read.has(rel) ? `v2 ${i} `.repeat(50) : `v2 ${i} and longer `.repeat(60);
        writeFileSync(path.join(root, rel), body);
      }
    },
  });
  expect(fired).toBe(true);
  const entries = await collectEntries(first.entries);
  expect(entries.filter((e) => e.type === 'file')).toHaveLength(n);
  await checkObjects(entries);
  const stale = await checkHashes(entries);
  // The next backup reads exactly the entries that no longer match, and then every hash is current.
  const second = await backupTree({ root, exclude: [], repo, previous: first.entries });
  expect(second.filesRead).toBe(stale.length);
  const now = await collectEntries(second.entries);
  expect(await checkHashes(now)).toEqual([]);
  await checkObjects(now);
});

test('files and directories removed during an online walk are left out; offline they fail the walk, whose index is removed', async () => {
  const make = () => {
    mkdirSync(path.join(root, 'd'), { recursive: true });
    for (let i = 0; i < 200; i++) writeFileSync(path.join(root, `d/${String(i).padStart(3, '0')}`), `file ${i}`);
    for (let i = 0; i < 30; i++) {
      mkdirSync(path.join(root, `e/${i}`), { recursive: true });
      writeFileSync(path.join(root, `e/${i}/f`), `e ${i}`);
    }
  };
  const removeAllBut000 = () => {
    for (const name of readdirSync(path.join(root, 'd'))) if (name !== '000') rmSync(path.join(root, 'd', name));
    rmSync(path.join(root, 'e'), { recursive: true });
  };
  make();
  // One read at a time: when d/000 has been read nothing else has, while lstats and listings ran ahead.
  const online = await backupTree({
    root,
    exclude: [],
    repo,
    concurrency: 1,
    tolerateVanished: true,
    pacer: new WalkPacer({ fixed: 'async' }),
    onProgress: (p) => {
      if (p.currentPath === 'd/000') removeAllBut000();
    },
  });
  const entries = await collectEntries(online.entries);
  expect(entries.filter((e) => e.type === 'file').map((e) => e.path)).toEqual(['d/000']);
  expect(online.files).toBe(1);
  expect(online.bytes).toBe('file 0'.length);
  // Directories listed ahead before they went may stay (empty), like any listed before a removal.
  expect(entries.filter((e) => e.path.startsWith('e') && e.type !== 'dir')).toEqual([]);

  await rm(path.join(root, 'd'), { recursive: true });
  make();
  const dir = await spoolDir();
  const spools = () => readdirSync(dir).filter((f) => f.startsWith('walk-'));
  const before = spools();
  const err = await caught(
    backupTree({
      root,
      exclude: [],
      repo,
      concurrency: 1,
      pacer: new WalkPacer({ fixed: 'async' }),
      onProgress: (p) => {
        if (p.currentPath === 'd/000') removeAllBut000();
      },
    }),
  );
  expect((err as NodeJS.ErrnoException).code).toBe('ENOENT');
  expect(spools().filter((f) => !before.includes(f))).toEqual([]);
});
