/**
 * The restore's entry-list checks run in one pass over a stream (a loaded manifest's spooled
 * index), keeping only the directories above the current entry. They must reach the verdicts the
 * whole-list checks reached, including where path order puts siblings between a directory and
 * its contents ('a', 'a.txt', 'a/b'). Real spool files.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EntrySpool } from '../../src/manifest/entry_spool';
import type { EntryStream } from '../../src/manifest/entry_list';
import { byPath, type Entry } from '../../src/manifest/manifest';
import { checkEntryList, checkTargetsTogether, entryPathProblem } from '../../src/manifest/restore_safety';
import { caught } from '../support/caught';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'safety-stream-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function stream(entries: Entry[]): Promise<EntryStream> {
  const spool = await EntrySpool.create(dir);
  for (const e of entries) await spool.write(e);
  const list = await spool.endSection();
  await spool.close();
  return list;
}

const base = { mode: 0o755, uid: 0, gid: 0, mtime: '1' };
const folder = (p: string): Entry => ({ path: p, type: 'dir', ...base });
const file = (p: string): Entry => ({ path: p, type: 'file', ...base, size: 1, sha256: 'a'.repeat(64) });
const link = (p: string): Entry => ({ path: p, type: 'symlink', ...base, target: '/etc' });

async function verdict(entries: Entry[], mode: 'mirror' | 'files', exclude: string[] = []): Promise<string> {
  const err = await caught(checkEntryList('c', await stream(entries), mode, exclude)).catch(() => undefined);
  return err ? err.message.replace('the snapshot cannot be restored safely: component c, ', '') : 'ok';
}

test("a directory stays a candidate parent across siblings that sort between it and its contents ('a', 'a.txt', 'a/b')", async () => {
  const tree = [
    folder(''),
    folder('a'),
    file('a b'),
    file('a-b'),
    file('a.txt'),
    folder('a.txt.d'),
    file('a/b'),
    file('a/c'),
  ];
  expect(tree.slice().sort(byPath)).toEqual(tree);
  expect(await verdict(tree, 'mirror')).toBe('ok');
  expect(await verdict([folder(''), folder('a'), folder('a.d'), file('a.d/x'), file('a/b')], 'mirror')).toBe('ok');
});

test('a file under a link or file of the same list is refused across such siblings, and in deeper levels (single files)', async () => {
  expect(await verdict([link('a'), file('a.txt'), file('a/b')], 'files')).toBe(
    'entry "a/b" lies under the symlink "a"',
  );
  expect(await verdict([file('a'), folder('a.d'), file('a/b/c')], 'files')).toBe(
    'entry "a/b/c" lies under the file "a"',
  );
  expect(await verdict([link('a'), file('a.txt'), file('a/b')], 'mirror')).toBe(
    'the root is not listed as a directory',
  );
  expect(await verdict([folder(''), link('a'), file('a.txt'), file('a/b')], 'mirror')).toBe(
    'entry "a/b" has no parent directory entry',
  );
});

test('a stream that is not in path order is refused, a path twice is refused as such', async () => {
  expect(await verdict([folder(''), file('b'), file('a')], 'mirror')).toBe('entry "a" is out of order (after "b")');
  expect(await verdict([folder(''), file('a'), file('a')], 'mirror')).toBe('entry "a" appears more than once');
  // An array is sorted first (a list built in memory): the same list is then accepted.
  await expect(checkEntryList('c', [folder(''), file('b'), file('a')], 'mirror')).resolves.toBeUndefined();
});

test('excluded subtrees, roots and single files: each refusal as before', async () => {
  expect(await verdict([folder(''), folder('config'), file('config/x')], 'mirror', ['config'])).toBe(
    'entry "config" is excluded from this component (another component owns it)',
  );
  expect(await verdict([folder('x'), file('x/y/z')], 'files', ['x/y'])).toBe(
    'entry "x/y/z" lies in the excluded "x/y" (another component owns it)',
  );
  expect(await verdict([folder(''), file('a')], 'files')).toBe('the root is listed in a component of single files');
  expect(await verdict([], 'mirror')).toBe('the root is not listed as a directory');
  expect(await verdict([file('')], 'mirror')).toBe('the root is not listed as a directory');
  expect(await verdict([folder(''), { ...file('a'), sha256: undefined }], 'mirror')).toBe(
    'entry "a" is a file without a checksum',
  );
});

/** The checks as they were made on a whole list in memory (a map of every path): the reference. */
function reference(entries: Entry[], mode: 'mirror' | 'files'): boolean {
  const types = new Map<string, Entry['type']>();
  for (const e of entries) {
    if (types.has(e.path)) return false;
    types.set(e.path, e.type);
  }
  if (mode === 'mirror' && types.get('') !== 'dir') return false;
  if (mode === 'files' && types.has('')) return false;
  for (const e of entries) {
    if (!e.path) continue;
    let p = e.path;
    for (let i = p.lastIndexOf('/'); ; i = p.lastIndexOf('/')) {
      const parent = i < 0 ? '' : p.slice(0, i);
      const t = types.get(parent);
      if (p === e.path && mode === 'mirror' && t !== 'dir') return false;
      if (t !== undefined && t !== 'dir') return false;
      if (!parent || mode === 'mirror') break;
      p = parent;
    }
  }
  return true;
}

test('random lists with names that sort between a directory and its contents: the same verdict as the whole-list checks', async () => {
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return Math.floor(seed / 65536) % n; // the high bits: an LCG's low bits cycle
  };
  const names = ['a', 'a.', 'a-b', 'a b', 'a.txt', 'b', 'a0'];
  let accepted = 0;
  for (let round = 0; round < 400; round++) {
    const paths = new Set<string>();
    for (let k = 0; k < 2 + rand(8); k++) {
      const depth = 1 + rand(3);
      paths.add(Array.from({ length: depth }, () => names[rand(names.length)]).join('/'));
    }
    // Mostly whole trees with their parents listed, sometimes with holes or types that break them.
    const withParents = new Set(paths);
    if (rand(4)) {
      for (const p of paths) {
        for (let i = p.indexOf('/'); i > 0; i = p.indexOf('/', i + 1)) withParents.add(p.slice(0, i));
      }
    }
    const entries = [...withParents].map((p): Entry => {
      const r = rand(10);
      const isParent = [...withParents].some((q) => q.startsWith(`${p}/`));
      return isParent && r < 8 ? folder(p) : r < 5 ? file(p) : r < 8 ? folder(p) : link(p);
    });
    const mode = rand(2) ? 'mirror' : 'files';
    if (mode === 'mirror') entries.push(folder(''));
    entries.sort(byPath);
    const want = reference(entries, mode);
    if (want) accepted++;
    expect([entries.map((e) => `${e.type}:${e.path}`).join(' '), (await verdict(entries, mode)) === 'ok']).toEqual([
      entries.map((e) => `${e.type}:${e.path}`).join(' '),
      want,
    ]);
  }
  // Both verdicts are exercised.
  expect(accepted).toBeGreaterThan(40);
  expect(accepted).toBeLessThan(360);
});

test('components checked together over streams: a link made by one component above another root is refused', async () => {
  const app = await stream([folder(''), link('config')]);
  const config = await stream([folder(''), file('config.json')]);
  const err = await caught(
    checkTargetsTogether([
      { id: 'app', root: '/opt/mm', entries: app },
      { id: 'config', root: '/opt/mm/config', entries: config },
    ]),
  );
  expect(err.message).toMatch(
    /component config, the root \/opt\/mm\/config lies at or under the symbolic link \/opt\/mm\/config restored by component app/,
  );
  const tls = await stream([file('opt/mm/config/evil')]);
  const err2 = await caught(
    checkTargetsTogether([
      { id: 'app', root: '/opt/mm', entries: app },
      { id: 'tls', root: '/', entries: tls },
    ]),
  );
  expect(err2.message).toMatch(
    /component tls, entry "opt\/mm\/config\/evil" lies under the symbolic link \/opt\/mm\/config restored by component app/,
  );
});

// The restore checks a component's list in its preflight and again in restoreTree: a spooled list
// (bytes written once) is read once for the same check; any other check of it, or a list in
// memory (which can change), is checked again.
test('a spooled list that passed a check is not read again for that same check; another check still runs', async () => {
  const spool = await EntrySpool.create(dir);
  for (const e of [folder(''), folder('a'), file('a/f')]) await spool.write(e);
  const list = await spool.endSection();
  await spool.close();
  await checkEntryList('c', list, 'mirror', []);
  await rm(spool.file); // a second reading would now fail
  await expect(checkEntryList('c', list, 'mirror', [])).resolves.toBeUndefined();
  // Another mode, exclude or component is another check: it reads the list (and fails here).
  for (const [c, mode, exclude] of [
    ['c', 'files', []],
    ['c', 'mirror', ['a']],
    ['other', 'mirror', []],
  ] as const) {
    await expect(checkEntryList(c, list, mode, exclude)).rejects.toMatchObject({ code: 'ENOENT' });
  }
  // A list in memory is checked each time: changed after a check, the next one sees it.
  const inMemory = [folder(''), folder('a'), file('a/f')];
  await checkEntryList('c', inMemory, 'mirror', []);
  inMemory.push(file('b/../../escape'));
  await expect(checkEntryList('c', inMemory, 'mirror', [])).rejects.toThrow(/escape/);
});

// Components with no symbolic link (a file store's usual index) are not read by the check of
// links between components: their spools counted the links as they were written.
test('components checked together: a spooled list with no link is not read; with a link among them, every list is', async () => {
  const noLinks = await EntrySpool.create(dir);
  for (const e of [folder(''), folder('a'), file('a/f')]) await noLinks.write(e);
  const plain = await noLinks.endSection();
  await noLinks.close();
  await rm(noLinks.file); // a reading would now fail
  await expect(checkTargetsTogether([{ id: 'data', root: '/opt/mm/data', entries: plain }])).resolves.toBeUndefined();

  // A link in another component, not inside this one's root: nothing of this one can lie under
  // it (its root was checked), so its list is not read either.
  const withLink = await stream([folder(''), link('config')]);
  await expect(
    checkTargetsTogether([
      { id: 'app', root: '/opt/mm', entries: withLink },
      { id: 'data', root: '/opt/mm/data/', entries: plain },
    ]),
  ).resolves.toBeUndefined();
  // A link inside its root (whoever lists it): its list is read against it (the removed spool fails).
  for (const root of ['/opt/mm/data', '/opt/mm/data/', '/opt']) {
    const err = await caught(
      checkTargetsTogether([
        { id: 'app', root: '/opt/mm', entries: await stream([folder(''), link('data/x')]) },
        { id: 'data', root, entries: plain },
      ]),
    );
    expect(err).toMatchObject({ code: 'ENOENT' });
  }
});

test("components checked together: an entry deep under another component's link is found after entries that are not", async () => {
  const app = await stream([folder(''), link('config')]);
  const tls = await stream([
    folder(''),
    file('opt/a'),
    file('opt/mm/con'),
    file('opt/mm/config.bak/x'),
    file('opt/mm/config/x/y'),
  ]);
  const err = await caught(
    checkTargetsTogether([
      { id: 'app', root: '/opt/mm', entries: app },
      { id: 'tls', root: '/', entries: tls },
    ]),
  );
  expect(err.message).toMatch(
    /component tls, entry "opt\/mm\/config\/x\/y" lies under the symbolic link \/opt\/mm\/config restored by component app/,
  );
  const fine = await stream([folder(''), file('opt/a'), file('opt/mm/config.bak/x'), file('opt/mm/x/y')]);
  await expect(
    checkTargetsTogether([
      { id: 'app', root: '/opt/mm', entries: app },
      { id: 'tls', root: '/', entries: fine },
    ]),
  ).resolves.toBeUndefined();
});

/** The checks entryPathProblem makes, written the long way: the reference its one-scan fast path must agree with. */
function referenceProblem(p: string): string | undefined {
  if (p === '') return undefined;
  if (p.includes('\0')) return 'contains a NUL byte';
  if (p.startsWith('/')) return 'is absolute';
  for (const seg of p.split('/')) {
    if (seg === '') return 'has an empty segment';
    if (seg.split('\\').some((x) => x === '.' || x === '..')) return 'has a "." or ".." segment';
  }
  return undefined;
}

test('entry paths: each hostile form named by its first problem, and every short path judged as the long way does', () => {
  const cases: Array<[string, string | undefined]> = [
    ['', undefined],
    ['a/b.txt', undefined],
    ['.hidden/..x/x..', undefined],
    ['a\\b', undefined],
    ['a\0b', 'contains a NUL byte'],
    ['/etc/passwd', 'is absolute'],
    ['a//b', 'has an empty segment'],
    ['a/', 'has an empty segment'],
    ['.', 'has a "." or ".." segment'],
    ['a/../../etc', 'has a "." or ".." segment'],
    ['a/./b//c', 'has a "." or ".." segment'],
    ['a//b/..', 'has an empty segment'],
    ['x\\..\\y', 'has a "." or ".." segment'],
    ['..\\', 'has a "." or ".." segment'],
  ];
  for (const [p, want] of cases) expect([p, entryPathProblem(p)]).toEqual([p, want]);
  // Every path of up to 5 characters over the alphabet that matters: 1 + 7 + ... + 7^5 = 19,608.
  const alphabet = ['a', '.', '/', '\\', 'b', '\0', 'c'];
  let n = 0;
  const walk = (p: string): void => {
    expect([p, entryPathProblem(p)]).toEqual([p, referenceProblem(p)]);
    n++;
    if (p.length < 5) for (const c of alphabet) walk(p + c);
  };
  walk('');
  expect(n).toBe(19_608);
});
