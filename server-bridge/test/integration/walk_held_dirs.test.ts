// An exact walk (a backup's, with /proc) holds each directory open while it lists it and looks at
// its children, all through its handle: a directory swapped for a link, a file or another
// directory after the walk lstat'd it leads nowhere else. Before, its listing, its children's
// metadata and its links' targets were read through the link: the names, sizes, owners and link
// targets of a directory the tree's writer may not read were recorded, to be read after a restore.
// Real trees, real swaps between the walk's steps (the walk is lazy in sync mode: each item is
// handed out before the next step is made), both pacers, and no handle left open after a walk.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { collectEntries } from '../../src/manifest/entry_list';
import type { OrderedWalkOptions, WalkItem } from '../../src/repository/ordered_walk';
import { Repository } from '../../src/repository/repository';
import { backupTree } from '../../src/repository/tree_backup';
import { WalkPacer } from '../../src/repository/walk_pacer';
import { LocalStorage } from '../../src/storage/local_storage';
import { caught } from '../support/caught';
import { walkWhole } from '../support/whole_walk';

let work: string;
let root: string;
let outside: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'walk-held-'));
  root = path.join(work, 'tree');
  outside = path.join(work, 'outside');
  await mkdir(root);
  await mkdir(path.join(outside, 'sub'), { recursive: true });
  // What the tree's writer may not read: names, a link's target, a subdirectory's names.
  writeFileSync(path.join(outside, 'outside-name'), 'x');
  symlinkSync('/outside/target', path.join(outside, 'lnk'));
  writeFileSync(path.join(outside, 'sub', 'outside-sub-name'), 'x');
});
afterEach(() => rm(work, { recursive: true, force: true }));

/** The handles this process holds on anything under the test's directory. */
function heldHere(): string[] {
  const held: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const at = readlinkSync(`/proc/self/fd/${fd}`);
      if (at.startsWith(`${work}/`)) held.push(at);
    } catch {
      // closed meanwhile (the listing of the fd directory itself)
    }
  }
  return held;
}

/** Moves tree/`name` aside (to work/`name`.real) and puts a link to `outside` in its place. */
function swapForLink(name: string): void {
  spawnSync('mv', [path.join(root, name), path.join(work, `${name}.real`)]);
  spawnSync('ln', ['-s', outside, path.join(root, name)]);
}

interface Seen {
  rel: string;
  kind: string;
  target?: string;
}

/** Walks the tree (exact), calling `at` after each item is handed out; what it saw and its warnings. */
async function walk(
  mode: 'sync' | 'async',
  opts: Partial<OrderedWalkOptions>,
  at: (item: WalkItem) => void = () => undefined,
): Promise<{ seen: Seen[]; warnings: string[] }> {
  const seen: Seen[] = [];
  const warnings: string[] = [];
  for await (const item of walkWhole(root, mode, { exact: true, onWarning: (w) => warnings.push(w), ...opts })) {
    if (!item.listed || (await item.listed)) {
      seen.push({ rel: item.rel, kind: item.meta.kind, ...(item.target ? { target: item.target } : {}) });
    }
    at(item);
  }
  return { seen, warnings };
}

const leaks = (seen: Seen[]): Seen[] =>
  seen.filter((s) => /outside|^sub/.test(s.rel.split('/').pop() ?? '') || s.target === '/outside/target');

describe('a directory swapped for a link after its lstat, before its listing (sync: listed at its entry)', () => {
  beforeEach(() => {
    writeFileSync(path.join(root, 'a'), 'a');
    mkdirSync(path.join(root, 'b'));
    writeFileSync(path.join(root, 'b', 'inside'), 'x');
  });
  // The root's children are lstat'd in one batch at 'a': the swap after 'a' comes between b's lstat and its listing.
  const swapAfterA = (item: WalkItem): void => {
    if (item.rel === 'a') swapForLink('b');
  };

  test('offline: the walk fails with EMOVED, naming the directory', async () => {
    const err = await caught(walk('sync', {}, swapAfterA));
    expect(err.code).toBe('EMOVED');
    expect(err.message).toBe(
      `EMOVED: the directory ${JSON.stringify(path.join(root, 'b'))} was replaced by a link or a file since it was listed`,
    );
    expect(heldHere()).toEqual([]);
  });

  test('online: the directory is left out with a warning; nothing under the link is listed', async () => {
    const { seen, warnings } = await walk('sync', { tolerateVanished: true }, swapAfterA);
    expect(seen).toEqual([
      { rel: '', kind: 'dir' },
      { rel: 'a', kind: 'file' },
    ]);
    expect(warnings).toEqual([expect.stringMatching(/^EMOVED: the directory .*tree\/b" was replaced .*; left out$/)]);
    expect(heldHere()).toEqual([]);
  });

  test('without the handles (exact off, as without /proc) the link was followed: what this closes', async () => {
    const { seen } = await walk('sync', { tolerateVanished: true, exact: false }, swapAfterA);
    expect(leaks(seen).map((s) => s.rel)).toEqual(['b/lnk', 'b/outside-name', 'b/sub', 'b/sub/outside-sub-name']);
  });
});

describe.each(['sync', 'async'] as const)('a directory swapped for a link after its listing (%s)', (mode) => {
  beforeEach(() => {
    mkdirSync(path.join(root, 'd', 'sub'), { recursive: true });
    writeFileSync(path.join(root, 'd', 'f'), 'f');
    symlinkSync('inside-target', path.join(root, 'd', 'lnk'));
    writeFileSync(path.join(root, 'd', 'sub', 'g'), 'g');
  });
  const swapAtD = (item: WalkItem): void => {
    if (item.rel === 'd') swapForLink('d');
  };

  test('its children are the listed directory`s, as they were: names, metadata, link targets, subdirectories', async () => {
    const { seen, warnings } = await walk(mode, {}, swapAtD);
    expect(seen).toEqual([
      { rel: '', kind: 'dir' },
      { rel: 'd', kind: 'dir' },
      { rel: 'd/f', kind: 'file' },
      { rel: 'd/lnk', kind: 'symlink', target: 'inside-target' },
      { rel: 'd/sub', kind: 'dir' },
      { rel: 'd/sub/g', kind: 'file' },
    ]);
    expect(warnings).toEqual([]);
    expect(heldHere()).toEqual([]);
  });
});

test('without the handles (exact off) a directory swapped after its listing was read on the link`s side: what this closes', async () => {
  mkdirSync(path.join(root, 'd', 'sub'), { recursive: true });
  writeFileSync(path.join(root, 'd', 'f'), 'f');
  symlinkSync('inside-target', path.join(root, 'd', 'lnk'));
  const { seen } = await walk('sync', { tolerateVanished: true, exact: false }, (item) => {
    if (item.rel === 'd') swapForLink('d');
  });
  expect(leaks(seen)).toEqual([
    { rel: 'd/lnk', kind: 'symlink', target: '/outside/target' },
    { rel: 'd/sub', kind: 'dir' },
    { rel: 'd/sub/outside-sub-name', kind: 'file' },
  ]);
});

describe.each(['sync', 'async'] as const)('past the directories held at once (%s)', (mode) => {
  // 'c', 'c.', 'c..', ...: each name's subtree ('c/') sorts after every longer name ('.' < '/'),
  // so all are listed before the first subtree comes; with holdUpTo 4 most are closed meanwhile
  // and reopened (through their parent's handle) as their subtree comes.
  const names = Array.from({ length: 40 }, (_, i) => `c${'.'.repeat(i)}`);
  beforeEach(() => {
    for (const n of names) {
      mkdirSync(path.join(root, n));
      writeFileSync(path.join(root, n, 'f'), n);
    }
  });

  test('the walk is the same as with every directory held, and closes every handle', async () => {
    const all = await walk(mode, {});
    const few = await walk(mode, { holdUpTo: 4 });
    expect(few).toEqual(all);
    expect(all.seen).toHaveLength(1 + 2 * names.length);
    expect(heldHere()).toEqual([]);
  });

  test('a directory replaced by another after its listing is not walked: EMOVED offline, left out online', async () => {
    const victim = names[5] as string;
    // Before the victim's subtree comes, another directory (with other files) takes its name.
    const replace = (item: WalkItem): void => {
      if (item.rel !== names[30]) return;
      spawnSync('mv', [path.join(root, victim), path.join(work, 'victim.real')]);
      mkdirSync(path.join(root, victim));
      writeFileSync(path.join(root, victim, 'put-there-since'), '');
    };
    const err = await caught(walk(mode, { holdUpTo: 4 }, replace));
    expect(err.code).toBe('EMOVED');
    expect(err.message).toContain(`${JSON.stringify(path.join(root, victim))} was replaced since it was listed`);
    expect(heldHere()).toEqual([]);

    await rm(path.join(root, victim), { recursive: true });
    spawnSync('mv', [path.join(work, 'victim.real'), path.join(root, victim)]);
    const { seen, warnings } = await walk(mode, { holdUpTo: 4, tolerateVanished: true }, replace);
    const rels = seen.map((s) => s.rel);
    expect(rels).toContain(victim); // its entry came before
    expect(rels.filter((r) => r.startsWith(`${victim}/`))).toEqual([]);
    expect(warnings).toEqual([expect.stringMatching(/was replaced since it was listed; left out$/)]);
    expect(heldHere()).toEqual([]);
  });
});

test('an aborted walk and one the consumer stops early close every handle', async () => {
  for (let i = 0; i < 50; i++) {
    mkdirSync(path.join(root, `d${i}`, 'e'), { recursive: true });
    writeFileSync(path.join(root, `d${i}`, 'e', 'f'), '');
  }
  const top = root;
  for (const mode of ['sync', 'async'] as const) {
    let n = 0;
    for await (const item of walkWhole(top, mode, { exact: true })) {
      expect(item.rel).toBeDefined();
      if (++n === 60) break;
    }
    // A listing in flight when the walk ended closes its handle when it comes back.
    await new Promise((r) => setTimeout(r, 200));
    expect(heldHere()).toEqual([]);
    const ac = new AbortController();
    n = 0;
    const err = await caught(
      (async () => {
        for await (const item of walkWhole(top, mode, { exact: true, signal: ac.signal })) {
          expect(item.rel).toBeDefined();
          if (++n === 60) ac.abort();
        }
      })(),
    );
    expect(err.name).toBe('CancelledError');
    await new Promise((r) => setTimeout(r, 200));
    expect(heldHere()).toEqual([]);
  }
});

test('a backup records the listed directory`s link target, not the one behind a link swapped in after its listing', async () => {
  mkdirSync(path.join(root, 'd'));
  symlinkSync('inside-target', path.join(root, 'd', 'lnk'));
  writeFileSync(path.join(root, 'd-1'), 'stored first');
  const repo = await Repository.open(await LocalStorage.open(path.join(work, 'repo')), { packs: true });
  await repo.prepareWrites();
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
      swapForLink('d');
    },
  });
  const entries = await collectEntries(r.entries);
  await repo.packs.flush();
  expect(swapped).toBe(true);
  expect(entries.map((e) => [e.path, e.target])).toEqual([
    ['', undefined],
    ['d', undefined],
    ['d-1', undefined],
    ['d/lnk', 'inside-target'],
  ]);
  expect(r.warnings).toEqual([]);
});
