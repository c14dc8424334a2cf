import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { collectEntries, EntryCursor, type EntryList } from '../../src/manifest/entry_list';
import { spooledSymlinks } from '../../src/manifest/entry_spool';
import { loadManifestText } from '../../src/manifest/manifest_load';
import type { Entry } from '../../src/manifest/manifest';
import { manifestOf, manifestString } from '../support/manifests';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'manifest-load-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const entry = (p: string, extra: Partial<Entry> = {}): Entry => ({
  path: p,
  type: 'file',
  mode: 0o644,
  uid: 1,
  gid: 2,
  mtime: '1700000000000000000',
  size: 1,
  sha256: 'b'.repeat(64),
  ...extra,
});

const manifest = manifestOf;

const chunks = (s: string, size = 333) =>
  Readable.from(
    Array.from({ length: Math.ceil(s.length / size) }, (_, i) => Buffer.from(s.slice(i * size, (i + 1) * size))),
  );

async function lists(text: string): Promise<{ entries: Entry[][]; lengths: number[]; issues: unknown[] }> {
  const { raw, issues } = await loadManifestText(chunks(text), dir);
  const comps = (raw as { components: Array<{ entries: EntryList }> }).components;
  const entries: Entry[][] = [];
  for (const c of comps) entries.push(await collectEntries(c.entries));
  return { entries, lengths: comps.map((c) => c.entries.length), issues };
}

test('entries are spooled per component, empty lists included, and can be read again and again', async () => {
  const a = Array.from({ length: 2500 }, (_, i) => entry(`d/${String(i).padStart(5, '0')} ü "q"\nnl`));
  const m = manifest([[], a, [], [entry('x')], []]);
  const text = await manifestString(m);
  const { raw } = await loadManifestText(chunks(text, 1000), dir);
  const comps = (raw as { components: Array<{ entries: EntryList }> }).components;
  expect(comps.map((c) => c.entries.length)).toEqual([0, 2500, 0, 1, 0]);
  expect(await collectEntries(comps[1]?.entries as EntryList)).toEqual(a);
  expect(await collectEntries(comps[1]?.entries as EntryList)).toEqual(a); // a second pass reads the same
  expect(await collectEntries(comps[3]?.entries as EntryList)).toEqual([entry('x')]);
});

test('a component out of path order is sorted (duplicates side by side, for the checks to refuse)', async () => {
  const m = manifest([[entry('b'), entry('a/x'), entry('a'), entry('b', { size: 7 }), entry('a.txt')]]);
  const { entries } = await lists(await manifestString(m));
  expect(entries[0]?.map((e) => [e.path, e.size])).toEqual([
    ['a', 1],
    ['a.txt', 1],
    ['a/x', 1],
    ['b', 1],
    ['b', 7],
  ]);
});

test('an older single-line manifest is spooled the same way', async () => {
  const m = manifest([[entry('z'), entry('y')], [entry('q')]]);
  const { entries, lengths } = await lists(JSON.stringify(m));
  expect(lengths).toEqual([2, 1]);
  expect(entries.map((l) => l.map((e) => e.path))).toEqual([['y', 'z'], ['q']]);
});

test('an invalid entry is reported with its place; unknown keys never reach the spool', async () => {
  const bad = manifest([[entry('a')], [entry('b'), { ...entry('c'), sha256: 'nothex' }]]);
  const { issues } = await lists(await manifestString(bad));
  expect(issues).toEqual([expect.objectContaining({ path: ['components', 1, 'entries', 1, 'sha256'] })]);
  const extra = manifest([[{ ...entry('a'), evil: 1 } as Entry]]);
  expect((await lists(await manifestString(extra))).issues).toHaveLength(1);
});

test('a truncated manifest leaves no spool file behind', async () => {
  const text = await manifestString(manifest([Array.from({ length: 3000 }, (_, i) => entry(`f${i}`))]));
  await expect(loadManifestText(chunks(text.slice(0, text.length / 2)), dir)).rejects.toThrow(SyntaxError);
  expect(await readdir(dir)).toEqual([]);
});

test('a cursor finds each path of a walk in order and skips what the walk does not ask for', async () => {
  const text = await manifestString(manifest([['a', 'a.txt', 'a/b', 'a/c', 'd'].map((p) => entry(p))]));
  const { raw } = await loadManifestText(chunks(text), dir);
  const cursor = new EntryCursor((raw as { components: Array<{ entries: EntryList }> }).components[0]?.entries);
  const found = [];
  for (const p of ['a', 'a/b', 'a/bb', 'c', 'd', 'e']) found.push((await cursor.seek(p))?.path);
  expect(found).toEqual(['a', 'a/b', undefined, undefined, 'd', undefined]);
  await cursor.close();
});

// Entry lines are spooled as read (after the schema checked what they parse to), not written again:
// what a later pass parses from the spool must be exactly what was checked, whoever wrote the line.
test('an entry line written by someone else reads back from the spool as the schema saw it; its links are counted', async () => {
  const m = manifest([
    [entry('a'), entry('b'), { ...entry('l'), type: 'symlink', target: 'a', size: undefined, sha256: undefined }],
  ]);
  const text = await manifestString(m);
  const line = JSON.stringify(entry('a'));
  expect(text).toContain(line);
  // A duplicate key (the last one counts, for the schema and for every reader), spaces, a \r.
  const twice = line.replace('{"path":"a"', '{ "path" : "../../etc/passwd" , "path":"a"').replace(/}$/, ' }\r');
  const { entries, issues } = await lists(text.replace(line, twice));
  expect(issues).toEqual([]);
  expect(entries[0]?.map((e) => e.path)).toEqual(['a', 'b', 'l']);
  expect(entries[0]?.[0]).toEqual(entry('a'));
  const { raw } = await loadManifestText(chunks(text), dir);
  expect(spooledSymlinks((raw as { components: Array<{ entries: EntryList }> }).components[0]?.entries)).toBe(1);
  // A key the schema does not know, even one JSON.parse makes an own property of, is refused.
  const proto = line.replace('{"path":"a"', '{"__proto__":{"path":"x"},"path":"a"');
  expect((await lists(text.replace(line, proto))).issues).toHaveLength(1);
});
