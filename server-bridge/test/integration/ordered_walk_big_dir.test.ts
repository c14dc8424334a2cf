/**
 * Directories too large to sort in memory are sorted on disk (name_spill.ts) and walked in exactly
 * the order of the in-memory path: shown with the threshold lowered through the walk's option, so
 * that a few hundred real files cross many run boundaries (and more runs than one merge takes),
 * with names whose order is easy to get wrong, exclusions, skipped subtrees, both pacer modes,
 * a file vanishing mid-walk, and the spill files gone after success, a failure and an abort.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { lstat, mkdtemp, readdir, rm, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spoolDir } from '../../src/manifest/spool_dir';
import type { OrderedWalkOptions } from '../../src/repository/ordered_walk';
import { caught } from '../support/caught';
import { walkWhole } from '../support/whole_walk';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'walk-big-dir-'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

/** UTF-16 code-unit order, as the manifest's byPath. */
const utf16 = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Names whose order is easy to get wrong: '.', '-', ' ' and '!' sort below '/'; astral characters (surrogates, 0xD800-) below U+E000-U+FFFF in UTF-16 but above them by code point. */
const TRICKY = [
  'a.txt',
  'a-',
  'a b',
  'a!',
  'a0',
  'ab',
  'b',
  'é',
  'ü.txt',
  '中文',
  '\u{1F600}',
  '\u{1F600}x',
  '\u{10400}',
  '\uFB01le',
  '\uFFFD',
  '\uE000',
  ' lead',
  'x!',
  'x.y',
];

/** A tree: a root directory with TRICKY files, directories 'a' (with 'a/b', 'a/b.c', 'a/b/c'), 'x', 'x-' and 'flat' (`flat` files). */
function makeTree(flat: number): void {
  for (const n of TRICKY) writeFileSync(path.join(root, n), n);
  for (const d of ['a', 'a/b', 'a/b/c', 'x', 'x/y', 'x-', 'x-/z', 'flat', '\u{1F600}d', '\uFB01d']) {
    mkdirSync(path.join(root, d), { recursive: true });
  }
  for (const f of ['a/b.c', 'a/b-', 'a/b/c/d', 'a/b/e', 'x/y/z', 'x/w', 'x-/z/q', '\u{1F600}d/f', '\uFB01d/g']) {
    writeFileSync(path.join(root, f), f);
  }
  for (let i = 0; i < flat; i++) {
    const n = `f${String(i).padStart(4, '0')}${i % 7 === 0 ? '.x' : i % 11 === 0 ? '-' : ''}`;
    if (i % 13 === 0) {
      mkdirSync(path.join(root, 'flat', n));
      writeFileSync(path.join(root, 'flat', n, 'in'), '');
    } else {
      writeFileSync(path.join(root, 'flat', n), '');
    }
  }
}

/** Every path under the root ('' first, the root itself), found without the walk, sorted by full path in UTF-16 order. */
function expected(exclude: string[] = []): string[] {
  const out: string[] = [];
  const visit = (rel: string): void => {
    for (const n of readdirSync(rel ? path.join(root, rel) : root, { withFileTypes: true })) {
      const r = rel ? `${rel}/${n.name}` : n.name;
      if (exclude.includes(r)) continue;
      out.push(r);
      if (n.isDirectory()) visit(r);
    }
  };
  visit('');
  return ['', ...out.sort(utf16)];
}

interface Seen {
  rel: string;
  kind: string;
  skipped?: true;
}

async function walk({
  mode = 'sync',
  ...opts
}: Partial<OrderedWalkOptions> & { mode?: 'sync' | 'async' }): Promise<Seen[]> {
  const out: Seen[] = [];
  for await (const item of walkWhole(root, mode, opts)) {
    if (item.listed) expect(await item.listed).toBe(true);
    out.push({ rel: item.rel, kind: item.meta.kind, ...(item.skipped ? { skipped: true as const } : {}) });
  }
  return out;
}

async function spillFiles(): Promise<string[]> {
  return (await readdir(await spoolDir())).filter((n) => n.startsWith('names-'));
}

describe.each(['sync', 'async'] as const)('pacer in %s mode', (mode) => {
  test('byPath order across run boundaries and merge rounds, the same as the in-memory walk', async () => {
    makeTree(400);
    const inMemory = await walk({ mode });
    expect(inMemory.map((s) => s.rel)).toEqual(expected());
    // Runs of 3 names: the 400-entry directory makes 134 runs, more than one merge takes (64).
    for (const listInMemoryUpTo of [1, 3, 7, 64]) {
      for (const [lookahead, statAhead] of [
        [1, 1],
        [64, 64],
      ]) {
        const onDisk = await walk({ mode, listInMemoryUpTo, lookahead, statAhead });
        expect(onDisk).toEqual(inMemory);
        // Through each directory's handle, few held at once (the rest reopened as their subtree comes).
        const held = await walk({ mode, listInMemoryUpTo, lookahead, statAhead, exact: true, holdUpTo: 2 });
        expect(held).toEqual(inMemory);
      }
    }
    expect(await spillFiles()).toEqual([]);
  }, 60_000);

  test('exclusions and skipped subtrees, on disk as in memory', async () => {
    makeTree(50);
    const excluded = new Set(['a.txt', 'a/b', 'x-', 'flat/f0003', 'flat/f0013']);
    const skipSubtree = (rel: string): boolean => rel === 'x' || rel === 'flat/f0026';
    const inMemory = await walk({ mode, excluded, skipSubtree });
    const onDisk = await walk({ mode, excluded, skipSubtree, listInMemoryUpTo: 2 });
    expect(onDisk).toEqual(inMemory);
    const rels = onDisk.filter((s) => !s.skipped).map((s) => s.rel);
    expect(rels).toEqual(expected([...excluded]).filter((r) => !r.startsWith('x/') && !r.startsWith('flat/f0026/')));
    // The skipped subtree stands at its place: right after its directory's last entry below '/'.
    const at = onDisk.findIndex((s) => s.skipped && s.rel === 'x');
    expect(onDisk[at]).toEqual({ rel: 'x', kind: 'dir', skipped: true });
    expect(onDisk[at - 1]?.rel).toBe('x.y');
    expect(onDisk.filter((s) => s.skipped).map((s) => s.rel)).toEqual(['flat/f0026', 'x']);
  });
});

test('a file removed mid-walk: left out online, an error offline; no spill file left either way', async () => {
  mkdirSync(path.join(root, 'd'));
  for (let i = 0; i < 200; i++) writeFileSync(path.join(root, 'd', `f${String(i).padStart(3, '0')}`), '');
  const run = async (tolerateVanished: boolean): Promise<string[]> => {
    const rels: string[] = [];
    for await (const item of walkWhole(root, 'sync', { tolerateVanished, statAhead: 1, listInMemoryUpTo: 10 })) {
      rels.push(item.rel);
      if (item.rel === 'd/f050') {
        expect((await spillFiles()).length).toBeGreaterThan(0); // sorted on disk, being merged
        await unlink(path.join(root, 'd', 'f150'));
      }
    }
    return rels;
  };
  const online = await run(true);
  expect(online).toHaveLength(2 + 200 - 1);
  expect(online).not.toContain('d/f150');
  expect(online).toContain('d/f151');
  expect(await spillFiles()).toEqual([]);
  writeFileSync(path.join(root, 'd', 'f150'), '');
  const err = await caught(run(false));
  expect(err.code).toBe('ENOENT');
  expect(await spillFiles()).toEqual([]);
});

test('an abort mid-merge stops the walk and leaves no spill file', async () => {
  mkdirSync(path.join(root, 'big'));
  mkdirSync(path.join(root, 'big2'));
  for (let i = 0; i < 2000; i++) writeFileSync(path.join(root, 'big', `n${i}`), '');
  for (let i = 0; i < 500; i++) writeFileSync(path.join(root, 'big2', `m${i}`), '');
  const top = root;
  for (const mode of ['sync', 'async'] as const) {
    const ac = new AbortController();
    let n = 0;
    let during = 0;
    const err = await caught(
      (async () => {
        for await (const item of walkWhole(top, mode, { signal: ac.signal, listInMemoryUpTo: 100 })) {
          expect(item.rel).toBeDefined();
          if (++n === 700) {
            during = (await spillFiles()).length;
            ac.abort();
          }
        }
      })(),
    );
    expect(err.name).toBe('CancelledError');
    expect(n).toBe(700);
    expect(during).toBeGreaterThan(0);
    expect(await spillFiles()).toEqual([]);
  }
});

test('a consumer that stops early (break) leaves no spill file, also of a directory still being sorted', async () => {
  for (const d of ['p', 'q', 'r']) {
    mkdirSync(path.join(root, d));
    for (let i = 0; i < 300; i++) writeFileSync(path.join(root, d, `e${i}`), '');
  }
  for (const mode of ['sync', 'async'] as const) {
    let n = 0;
    // Runs of 3: 100 per directory, merged in rounds (more than 64), which a stop can interrupt.
    for await (const item of walkWhole(root, mode, { listInMemoryUpTo: 3 })) {
      expect((await lstat(item.abs)).isFile() || item.meta.kind === 'dir').toBe(true);
      if (++n === 10) break;
    }
    // A sort still under way when the walk ended removes what it wrote when it next runs.
    await new Promise((r) => setTimeout(r, 200));
    expect(await spillFiles()).toEqual([]);
  }
});
