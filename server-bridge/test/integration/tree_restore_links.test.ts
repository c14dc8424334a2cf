/**
 * restoreTree in a target another account can change (the mattermost user owns the install
 * directory): in `files` mode a directory above a listed file that is a symbolic link in the
 * target is refused, never followed; metadata is set on a handle opened without following a
 * link, and the handle is checked to be the path inside the root. Real directories, a real repository.
 */
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { lchownSync, linkSync, readdirSync, readlinkSync, renameSync, symlinkSync } from 'node:fs';
import { execFile } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';
import path from 'node:path';
import { Readable } from 'node:stream';
import { LocalStorage } from '../../src/storage/local_storage';
import { Repository } from '../../src/repository/repository';
import { restoreTree } from '../../src/repository/tree_restore';
import { backupTree } from '../../src/repository/tree_backup';
import { collectEntries } from '../../src/manifest/entry_list';
import { ContainedTree } from '../../src/repository/contained_tree';
import type { Entry } from '../../src/manifest/manifest';
import { WalkPacer } from '../../src/repository/walk_pacer';
import { caught } from '../support/caught';

const execFileP = promisify(execFile);

let work: string;
let repo: Repository;
let victim: string;
let root: string;
let sha: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'tree-links-'));
  repo = await Repository.open(await LocalStorage.open(path.join(work, 'repo')));
  victim = path.join(work, 'victim');
  root = path.join(work, 'target');
  await mkdir(victim, { mode: 0o700 });
  await chmod(victim, 0o700);
  await writeFile(path.join(victim, 'keep'), 'precious', { mode: 0o600 });
  await mkdir(root);
  sha = (await repo.ingest(Readable.from([Buffer.from('evil')]))).sha256;
});
afterEach(() => rm(work, { recursive: true, force: true }));

const uid = process.getuid?.() ?? 0;
const gid = process.getgid?.() ?? 0;
const mtime = `${Date.now()}000000`;
const file = (p: string, mode = 0o666): Entry => ({
  path: p,
  type: 'file',
  mode,
  uid,
  gid,
  mtime,
  size: 4,
  sha256: sha,
});

async function victimUntouched(): Promise<void> {
  expect((await readdir(victim)).sort()).toEqual(['keep']);
  expect((await stat(victim)).mode & 0o777).toBe(0o700);
  expect((await stat(path.join(victim, 'keep'))).mode & 0o777).toBe(0o600);
  expect(await readFile(path.join(victim, 'keep'), 'utf8')).toBe('precious');
}

describe.each(['sync', 'async'] as const)('files mode (%s writes)', (fixed) => {
  const pacer = () => new WalkPacer({ fixed });
  // One file a message and one message at a time: the progress callback of a file written by a
  // writer thread runs before the next file is sent, so a change made there lands between two files.
  const writers = { threads: 1, batchFiles: 1, inFlight: 1 };

  // The mattermost user owns the target and can rename a hard link to another file over a
  // listed name (a file it cannot write itself, where fs.protected_hardlinks is off): the restore
  // must not change that file's owner or mode through the name.
  test('a hard link to another file at a listed name: its owner and mode are left alone', async () => {
    const st = await stat(path.join(victim, 'keep'), { bigint: true });
    linkSync(path.join(victim, 'keep'), path.join(root, 'same'));
    // Listed with the linked file's size and time: taken as unchanged, only the mode differs.
    const unchanged: Entry = { ...file('same', 0o666), size: Number(st.size), mtime: st.mtimeNs.toString() };
    const err = await caught(
      restoreTree({ entries: [unchanged], root, exclude: [], mode: 'files', repo, pacer: pacer() }),
    );
    expect(err).toMatchObject({ code: 'STORAGE_FAILED', message: expect.stringMatching(/other hard links/) });
    await victimUntouched();
  });

  test('a directory above a listed file that is a link in the target: refused, nothing written through it', async () => {
    await symlink(victim, path.join(root, 'a'));
    const err = await caught(
      restoreTree({ entries: [file('a/evil')], root, exclude: [], mode: 'files', repo, pacer: pacer() }),
    );
    expect(err.message).toMatch(/symbolic link/);
    // Not a precondition (exit 3 says nothing changed): it can come part-way through a restore.
    expect(err).toMatchObject({ code: 'STORAGE_FAILED' });
    await victimUntouched();
    expect((await lstat(path.join(root, 'a'))).isSymbolicLink()).toBe(true);
  });

  test('a deeper link (a/b -> outside) is refused too; missing directories are made below the root', async () => {
    await mkdir(path.join(root, 'a'));
    await symlink(victim, path.join(root, 'a', 'b'));
    const err = await caught(
      restoreTree({
        entries: [file('x/y/ok'), file('a/b/keep', 0o666)],
        root,
        exclude: [],
        mode: 'files',
        repo,
        pacer: pacer(),
      }),
    );
    expect(err.message).toMatch(/symbolic link/);
    await victimUntouched();
  });

  test('a directory swapped for a link while files are written: no metadata or file lands outside', async () => {
    await writeFile(path.join(victim, 'f1'), 'mine', { mode: 0o600 });
    await writeFile(path.join(victim, 'f2'), 'mine', { mode: 0o600 });
    let swapped = false;
    const swap = () => {
      if (swapped) return;
      swapped = true;
      // What a process of the directory's owner can do between two calls of the restore.
      renameSync(path.join(root, 'a'), path.join(root, 'a-real'));
      symlinkSync(victim, path.join(root, 'a'));
    };
    const entries = [file('a/f1'), file('a/f2')];
    const err = await caught(
      restoreTree({
        entries,
        root,
        exclude: [],
        mode: 'files',
        repo,
        pacer: pacer(),
        concurrency: 1,
        writers,
        onProgress: swap,
      }),
    );
    expect(err.message).toMatch(/symbolic link/);
    expect(swapped).toBe(true);
    expect((await readdir(victim)).sort()).toEqual(['f1', 'f2', 'keep']);
    for (const f of ['f1', 'f2']) {
      expect((await stat(path.join(victim, f))).mode & 0o777).toBe(0o600);
      expect(await readFile(path.join(victim, f), 'utf8')).toBe('mine');
    }
    // The file written before the swap got its metadata in the real directory.
    expect((await stat(path.join(root, 'a-real', 'f1'))).mode & 0o777).toBe(0o666);
  });

  test('a link planted in a directory the restore made, before a file of it is written: replaced, never written through', async () => {
    // The restore makes `a` and writes small files there under their own names (nothing of the
    // target's can be in a directory it made), unless something was put there meanwhile.
    const entries = [file('a/f1'), file('a/f2'), file('a/f3')];
    let planted = false;
    const plant = () => {
      if (planted) return;
      planted = true;
      symlinkSync(path.join(victim, 'keep'), path.join(root, 'a', 'f2'));
      symlinkSync(victim, path.join(root, 'a', 'f3'));
    };
    await restoreTree({
      entries,
      root,
      exclude: [],
      mode: 'files',
      repo,
      pacer: pacer(),
      concurrency: 1,
      writers,
      onProgress: plant,
    });
    expect(planted).toBe(true);
    await victimUntouched();
    for (const f of ['f1', 'f2', 'f3']) {
      const st = await lstat(path.join(root, 'a', f));
      expect(st.isFile()).toBe(true);
      expect(st.mode & 0o777).toBe(0o666);
      expect(await readFile(path.join(root, 'a', f), 'utf8')).toBe('evil');
    }
  });

  test('an unchanged file whose metadata differs: set on the file itself', async () => {
    await mkdir(path.join(root, 'd'));
    await writeFile(path.join(root, 'd', 'f'), 'evil', { mode: 0o600 });
    const e = {
      ...file('d/f', 0o640),
      mtime: `${Math.floor((await stat(path.join(root, 'd', 'f'))).mtimeMs) * 1000000}`,
    };
    await restoreTree({ entries: [e], root, exclude: [], mode: 'files', repo, pacer: pacer() });
    expect((await stat(path.join(root, 'd', 'f'))).mode & 0o777).toBe(0o640);
  });
});

test('removal inside the target (what mirror mode removes) is refused through a directory swapped for a link', async () => {
  await mkdir(path.join(root, 'd', 'sub'), { recursive: true });
  await writeFile(path.join(root, 'd', 'keep'), 'x');
  const tree = ContainedTree.open(root);
  // Listed as real directories, then swapped by the directory's owner before the removal.
  renameSync(path.join(root, 'd'), path.join(root, 'd-real'));
  symlinkSync(victim, path.join(root, 'd'));
  expect(() => tree.removeChild('d', 'keep')).toThrow(/symbolic link/);
  await victimUntouched();
  // A directory removed whole is emptied through its own handles: a link inside it is removed, not followed.
  await mkdir(path.join(root, 'e'));
  symlinkSync(victim, path.join(root, 'e', 'to-victim'));
  tree.removeChild('', 'e');
  await victimUntouched();
  expect((await readdir(root)).sort()).toEqual(['d', 'd-real']);
});

// A file in a directory this restore made is created in place (O_EXCL), not copied and renamed:
// whatever is at that name by then (a link planted by the directory's owner, a file) is left
// alone, never written through, and the caller's general path decides.
test('createFile and makeFreshDir leave anything already there alone: a link is not followed, a file not overwritten', async () => {
  const tree = ContainedTree.open(root);
  tree.makeDirs('fresh');
  expect(tree.isFresh('fresh')).toBe(true);
  symlinkSync(path.join(victim, 'keep'), path.join(root, 'fresh', 'link'));
  symlinkSync(path.join(victim, 'gone'), path.join(root, 'fresh', 'dangling'));
  await writeFile(path.join(root, 'fresh', 'file'), 'theirs');
  const meta = { uid, gid, mode: 0o644, chown: false, chmod: true, time: 1_700_000_000.5 };
  try {
    tree.inDir('fresh', (fd) => {
      expect(tree.createFile(fd, 'fresh', 'link', Buffer.from('evil'), meta)).toBe(false);
      expect(tree.createFile(fd, 'fresh', 'dangling', Buffer.from('evil'), meta)).toBe(false);
      expect(tree.createFile(fd, 'fresh', 'file', Buffer.from('evil'), meta)).toBe(false);
      expect(tree.makeFreshDir(fd, 'fresh', 'file')).toBe(false);
      expect(tree.createFile(fd, 'fresh', 'new', Buffer.from('mine'), meta)).toBe(true);
      expect(tree.makeFreshDir(fd, 'fresh', 'sub')).toBe(true);
    });
  } finally {
    tree.close();
  }
  await victimUntouched();
  expect(await readdir(victim)).toEqual(['keep']);
  expect(await readFile(path.join(root, 'fresh', 'file'), 'utf8')).toBe('theirs');
  const made = await lstat(path.join(root, 'fresh', 'new'));
  expect([made.mode & 0o7777, made.mtimeMs]).toEqual([0o644, 1_700_000_000_500]);
  expect(await readFile(path.join(root, 'fresh', 'new'), 'utf8')).toBe('mine');
  // Made for the restore alone, whatever the umask: its listed mode comes in the last pass.
  expect((await lstat(path.join(root, 'fresh', 'sub'))).mode & 0o777).toBe(0o700);
  // A directory that was there before the restore is not fresh: its files are looked at first.
  expect(ContainedTree.open(root).isFresh('fresh')).toBe(false);
});

// The kept handles of the directory being written are checked again on every use: a directory
// renamed away and replaced by a link while its handle is kept is refused, as a new handle is.
test('a kept directory handle is checked on each use: the directory swapped for a link meanwhile is refused', async () => {
  const tree = ContainedTree.open(root);
  tree.makeDirs('d');
  try {
    tree.inDir('d', () => undefined);
    renameSync(path.join(root, 'd'), path.join(work, 'moved-away'));
    symlinkSync(victim, path.join(root, 'd'));
    expect(() => tree.inDir('d', () => undefined)).toThrow(/resolves to .*moved-away|symbolic link/);
  } finally {
    tree.close();
  }
  await victimUntouched();
});

test('a restore leaves no handle open in the target or the repository, whether it succeeds or fails', async () => {
  const openUnder = (dir: string) =>
    readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir);
      } catch {
        return false;
      }
    });
  const packed = await Repository.open(await LocalStorage.open(path.join(work, 'packed')), { packs: true });
  const src = path.join(work, 'src');
  for (let d = 0; d < 5; d++) {
    await mkdir(path.join(src, `d${d}`), { recursive: true });
    for (let f = 0; f < 3; f++) await writeFile(path.join(src, `d${d}`, `f${f}`), `file ${d}/${f}`);
  }
  const entries = await collectEntries((await backupTree({ root: src, exclude: [], repo: packed })).entries);
  await packed.packs.flush();
  expect(await readdir(path.join(work, 'packed', 'packs'))).not.toEqual([]); // read from a pack
  for (const fixed of ['sync', 'async'] as const) {
    const dest = path.join(work, `new-${fixed}`);
    await restoreTree({
      entries,
      root: dest,
      exclude: [],
      mode: 'mirror',
      repo: packed,
      pacer: new WalkPacer({ fixed }),
    });
    expect(await readFile(path.join(dest, 'd4/f2'), 'utf8')).toBe('file 4/2');
    expect(openUnder(work)).toEqual([]);
  }
  // A failure part-way (an object that is not there) closes them too.
  const broken = [...entries, { ...file('d4/zz'), sha256: 'f'.repeat(64) }];
  await expect(
    restoreTree({ entries: broken, root: path.join(work, 'new-fail'), exclude: [], mode: 'mirror', repo: packed }),
  ).rejects.toThrow();
  expect(openUnder(work)).toEqual([]);
});

// In place, a component root sits in directories the mattermost user owns (the install dir): one
// above the root (client/ of client/plugins) swapped for a link to another directory before the
// restore would carry every write and removal there (the root itself is opened without following
// a link). A restore as root follows only links root owns (an admin's link to another disk).
test('a component root reached through a link another account owns is refused as root; a link root owns is followed', async () => {
  const elsewhere = path.join(work, 'elsewhere');
  await mkdir(path.join(elsewhere, 'plugins'), { recursive: true });
  await writeFile(path.join(elsewhere, 'plugins', 'keep'), 'not to be removed');
  const swapped = path.join(root, 'client');
  symlinkSync(elsewhere, swapped);
  const entries: Entry[] = [{ path: '', type: 'dir', mode: 0o755, uid, gid, mtime }, file('evil')];
  const restoreInto = (dir: string) => restoreTree({ entries, root: dir, exclude: [], mode: 'mirror', repo });
  if (uid !== 0) {
    // Not root: nothing runs with more rights than the caller; the rule is root's.
    await restoreInto(path.join(swapped, 'plugins'));
    return;
  }
  lchownSync(swapped, 1234, 1234);
  const err = await caught(restoreInto(path.join(swapped, 'plugins')));
  expect(err).toMatchObject({
    code: 'STORAGE_FAILED',
    message: expect.stringMatching(/client is a symbolic link owned by uid 1234, not root/),
  });
  expect(await readdir(path.join(elsewhere, 'plugins'))).toEqual(['keep']);
  // A link inside the link's target is checked too.
  lchownSync(swapped, 0, 0);
  await mkdir(path.join(work, 'deeper-real', 'plugins'), { recursive: true });
  const deeper = path.join(elsewhere, 'deeper');
  symlinkSync(path.join(work, 'deeper-real'), deeper);
  lchownSync(deeper, 1234, 1234);
  const err2 = await caught(restoreInto(path.join(swapped, 'deeper', 'plugins')));
  expect(err2.message).toMatch(/deeper is a symbolic link owned by uid 1234/);
  // The admin's own link (root's) is followed: the restore lands in its target.
  const r = await restoreInto(path.join(swapped, 'plugins'));
  expect(r.written).toBe(1);
  expect(await readdir(path.join(elsewhere, 'plugins'))).toEqual(['evil']);
});

// Without /proc (a container that does not mount it), a restore as root would have only path
// checks, which a rename between a check and a write defeats: it refuses before writing anything.
// The child hides /proc in a mount namespace of its own (root's, or a user namespace's root when
// the tests do not run as root: the rule is for uid 0 as the process sees it).
test('as root, a restore refuses a target when /proc/self/fd is not there, before writing', async () => {
  const args = ['--mount', '--propagation', 'private', ...(uid === 0 ? [] : ['--map-root-user'])];
  const child = path.join(__dirname, '..', 'support', 'contained_tree_no_proc.cjs');
  const dist = path.resolve(__dirname, '..', '..', 'dist');
  const { stdout } = await execFileP('unshare', [...args, process.execPath, child, dist, root]);
  const out = JSON.parse(stdout) as {
    procWorks: boolean;
    uid: number;
    opened: boolean;
    code?: string;
    message?: string;
  };
  expect(out).toMatchObject({ procWorks: false, uid: 0, opened: false, code: 'PRECONDITION_FAILED' });
  expect(out.message).toContain('/proc/self/fd is not available');
  expect(await readdir(root)).toEqual([]);
  // The same child with /proc left alone opens the tree: the refusal is /proc's absence.
  const { stdout: withProc } = await execFileP(process.execPath, [
    '-e',
    `const {ContainedTree}=require(${JSON.stringify(path.join(dist, 'repository/contained_tree.js'))}); ContainedTree.open(${JSON.stringify(root)}).close(); process.stdout.write('opened')`,
  ]);
  expect(withProc).toBe('opened');
});
