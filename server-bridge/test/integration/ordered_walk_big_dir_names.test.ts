/**
 * A directory sorted on disk (name_spill.ts stores names as UTF-8 with a u16 length) walks names
 * that a record format can get wrong exactly as the in-memory path does: newlines and other
 * control bytes, names of the full 255 bytes in 1-, 2-, 3- and 4-byte UTF-8 characters, astral
 * characters next to U+E000-U+FFFF (UTF-16 order differs from code-point order there).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spoolDir } from '../../src/manifest/spool_dir';
import { walkWhole } from '../support/whole_walk';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'walk-big-names-'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

const full = (unit: string, bytes: number): string => unit.repeat(Math.floor(255 / bytes));

const NAMES = [
  'n\nl',
  'n\nl\n',
  '\n',
  '\r\n',
  '\u0001ctl',
  '\u007f',
  '\t',
  'x\u001f',
  'x\u0020',
  'x',
  'x\u002e',
  full('a', 1),
  `${full('a', 1).slice(0, 254)}b`,
  full('é', 2),
  `${full('é', 2)}a`,
  full('中', 3),
  full('\u{1F600}', 4),
  `${full('\u{1F600}', 4)}abc`,
  full('\uE000', 3),
  full('\uFFFD', 3),
  '\u{10FFFF}',
  '\uFFFF',
];

async function walk(mode: 'sync' | 'async', listInMemoryUpTo?: number, exact = false): Promise<string[]> {
  const out: string[] = [];
  // exact: through each directory's handle (/proc/self/fd/<fd>/<name>), with few held at once.
  const held = exact ? { exact, holdUpTo: 2 } : {};
  for await (const item of walkWhole(root, mode, { ...(listInMemoryUpTo ? { listInMemoryUpTo } : {}), ...held })) {
    if (item.listed) expect(await item.listed).toBe(true);
    out.push(`${item.meta.kind}:${item.rel}`);
  }
  return out;
}

test.each(['sync', 'async'] as const)('hostile names: on disk as in memory (%s)', async (mode) => {
  mkdirSync(path.join(root, 'd'));
  for (const n of NAMES) {
    expect(Buffer.byteLength(n)).toBeLessThanOrEqual(255);
    writeFileSync(path.join(root, 'd', n), n);
    // The same names as directories one level down, with a child, so subtrees interleave.
    mkdirSync(path.join(root, 'd', `${n.slice(0, 60)}D`), { recursive: true });
    writeFileSync(path.join(root, 'd', `${n.slice(0, 60)}D`, n), '');
  }
  const inMemory = await walk(mode);
  const dirs = new Set(NAMES.map((n) => `${n.slice(0, 60)}D`));
  expect(inMemory).toHaveLength(2 + NAMES.length + dirs.size * 2 + (NAMES.length - dirs.size)); // every file, every dir and its children
  for (const upTo of [1, 2, 5]) expect(await walk(mode, upTo)).toEqual(inMemory);
  expect(await walk(mode, undefined, true)).toEqual(inMemory);
  expect(await walk(mode, 2, true)).toEqual(inMemory);
  expect((await readdir(await spoolDir())).filter((n) => n.startsWith('names-'))).toEqual([]);
});
