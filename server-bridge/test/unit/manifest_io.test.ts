import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { loadManifestText } from '../../src/manifest/manifest_load';
import { isSpooledList } from '../../src/manifest/entry_spool';
import { manifestText, readManifestText } from '../../src/manifest/manifest_io';
import { parseManifest, type Entry, type Manifest } from '../../src/manifest/manifest';
import { manifestOf, type PlainManifest } from '../support/manifests';

function entry(i: number, extra: Partial<Entry> = {}): Entry {
  return {
    path: `d/${i} ü "q"\nnl`,
    type: 'file',
    mode: 0o644,
    uid: 1,
    gid: 2,
    mtime: `${1700000000000000000 + i}`,
    size: i,
    sha256: 'a'.repeat(64),
    ino: i,
    ...extra,
  };
}

function manifest(counts: number[]): PlainManifest {
  return manifestOf(counts.map((n, c) => Array.from({ length: n }, (_, i) => entry(c * 10000 + i))));
}

const text = async (m: Manifest) => {
  let out = '';
  for await (const s of manifestText(m)) out += s;
  return out;
};
const chunked = (s: string, size: number) =>
  Readable.from(
    Array.from({ length: Math.ceil(s.length / size) }, (_, i) => Buffer.from(s.slice(i * size, (i + 1) * size))),
  );

test('the written text is plain JSON equal to the manifest, one entry per line', async () => {
  const m = manifest([0, 3, 2500]);
  const t = await text(m);
  expect(JSON.parse(t)).toEqual(m);
  expect(t.split('\n').filter((l) => l.replace(/^,/, '').startsWith('{"path"'))).toHaveLength(2503);
});

test('reading back, in any chunking (split UTF-8 included), gives the same manifest', async () => {
  const m = manifest([2, 0, 1500]);
  const t = await text(m);
  for (const size of [1, 7, 4096, t.length]) {
    expect(await readManifestText(chunked(t, size), { entries: true })).toEqual(m);
  }
});

test('entries: false skips the file lists but keeps everything else', async () => {
  const m = manifest([5, 7]);
  const raw = (await readManifestText(chunked(await text(m), 100), { entries: false })) as Manifest;
  expect(raw.components.map((c) => c.entries.length)).toEqual([0, 0]);
  expect(raw.components.map((c) => c.files)).toEqual([5, 7]);
  expect(raw.id).toBe(m.id);
});

test('an older single-line manifest and a pretty-printed one are still read', async () => {
  const m = manifest([3, 1]);
  expect(await readManifestText(chunked(JSON.stringify(m), 10), { entries: true })).toEqual(m);
  expect(await readManifestText(chunked(JSON.stringify(m, null, 2), 10), { entries: true })).toEqual(m);
});

test('a 32 MB line (a huge single-line manifest, perhaps hostile) is read in time linear in its length', async () => {
  // Before: the line was appended to one string searched at every chunk, copied each time:
  // 25 MB took 17 s of CPU, 50 MB 54 s. Now well under a second; 10 s leaves room for a busy machine.
  const chunk = Buffer.alloc(64 * 1024, 'a');
  const count = 512;
  const started = Date.now();
  const raw = (await readManifestText(
    Readable.from(
      (function* gen() {
        yield Buffer.from('{"a":"');
        for (let i = 0; i < count; i++) yield chunk;
        yield Buffer.from('"}');
      })(),
    ),
    { entries: true },
  )) as { a: string };
  expect(raw.a).toHaveLength(count * chunk.length);
  expect(Date.now() - started).toBeLessThan(10_000);
});

test('a line longer than any string can be is refused as it grows, not held whole (here with a small limit)', async () => {
  // Before: the whole line was held until the join threw a RangeError (1.5 GB held for a 1.5 GB line).
  const chunk = Buffer.alloc(64 * 1024, 'a');
  let pulled = 0;
  const input = Readable.from(
    (function* gen() {
      yield Buffer.from('{"a":"');
      for (let i = 0; i < 64; i++) {
        pulled++;
        yield chunk;
      }
      yield Buffer.from('"}');
    })(),
  );
  await expect(readManifestText(input, { entries: true, maxLineChars: 256 * 1024 })).rejects.toThrow(
    /a manifest line longer than 262144 characters/,
  );
  expect(pulled).toBeLessThanOrEqual(6);
});

test('a truncated manifest is refused', async () => {
  const t = await text(manifest([10]));
  await expect(readManifestText(chunked(t.slice(0, Math.floor(t.length / 2)), 50), { entries: true })).rejects.toThrow(
    SyntaxError,
  );
  await expect(readManifestText(chunked(t.slice(0, -4), 50), { entries: true })).rejects.toThrow(SyntaxError);
});

test('parseManifest checks every entry and keeps the input objects (no copy of the index)', () => {
  const m = manifest([3]);
  const ok = parseManifest(m);
  expect(ok.success).toBe(true);
  if (ok.success) expect((ok.data.components[0]?.entries as Entry[])[1]).toBe(m.components[0]?.entries[1]);
  const bad = manifest([3]);
  (bad.components[0]?.entries[2] as unknown as Record<string, unknown>).sha256 = 'nothex';
  const res = parseManifest(bad);
  expect(res.success).toBe(false);
  if (!res.success) expect(res.issues[0]?.path).toEqual(['components', 0, 'entries', 2, 'sha256']);
  const extra = manifest([1]);
  (extra.components[0]?.entries[0] as unknown as Record<string, unknown>).evil = 1;
  expect(parseManifest(extra).success).toBe(false);
  const traversal = manifest([1]);
  (traversal.components[0]?.entries[0] as Entry).path = '../etc/passwd';
  expect(parseManifest(traversal).success).toBe(false);
});

test('a manifest whose lists are spooled is written from the spooled lines: the same text, each line as it was read', async () => {
  const m = manifest([3, 0, 2500]);
  const t = await text(m);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'manifest-io-'));
  try {
    // As loaded from a repository: the lists are spooled, each line as it came.
    const loaded = await loadManifestText(chunked(t, 4096), dir);
    expect(isSpooledList((loaded.raw as Manifest).components[2]?.entries)).toBe(true);
    expect(await text(loaded.raw as Manifest)).toBe(t);
    // A line laid out otherwise (spaces, an escape) is copied as it is, and still reads as the entry.
    const odd = t.replace(/^(,?)\{"path":"d\/2 /m, '$1{ "path" : "d\\u002f2 ');
    expect(odd).not.toBe(t);
    const again = await loadManifestText(chunked(odd, 4096), dir);
    const written = await text(again.raw as Manifest);
    expect(written).toBe(odd);
    expect(JSON.parse(written)).toEqual(m);
    await loaded.spool.discard();
    await again.spool.discard();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
