import { mkdtemp, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EntrySpool, SpoolReader } from '../../src/manifest/entry_spool';
import type { Entry } from '../../src/manifest/manifest';

// The reader keeps one 256 KiB buffer: these lists are long enough that lines, and the bytes of
// one character, fall across its refills.
const READ_SIZE = 256 * 1024;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'spool-reader-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function entry(i: number, pad = ''): Entry {
  // Two-, three- and four-byte characters, so that some line's character straddles a refill.
  return {
    path: `d/${String(i).padStart(6, '0')} ü€😀 ${pad}`,
    type: 'file',
    mode: 0o644,
    uid: 1,
    gid: 2,
    mtime: `${1700000000000000000 + i}`,
    size: i,
    sha256: 'a'.repeat(64),
    ino: i,
  };
}

async function drain(it: AsyncIterator<Entry>): Promise<Entry[]> {
  const out: Entry[] = [];
  for (let r = await it.next(); !r.done; r = await it.next()) out.push(r.value);
  return out;
}

/** How many of this process's descriptors are open on `file` (a removed one included): other fds come and go. */
async function opensOf(file: string): Promise<number> {
  let n = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target === file || target === `${file} (deleted)`) n++;
  }
  return n;
}

test('sections read back exactly as written, across many refills and characters split between them', async () => {
  const spool = await EntrySpool.create(dir);
  const first = Array.from({ length: 9000 }, (_, i) => entry(i, 'x'.repeat(i % 97)));
  for (const e of first) await spool.write(e);
  const a = await spool.endSection();
  const second = Array.from({ length: 7000 }, (_, i) => entry(100000 + i, 'é'.repeat(i % 89)));
  for (const e of second) await spool.write(e);
  const b = await spool.endSection();
  await spool.close();
  // More than a buffer each: the test would not reach a refill otherwise.
  expect(Buffer.byteLength(first.map((e) => JSON.stringify(e)).join('\n'))).toBeGreaterThan(4 * READ_SIZE);
  expect(await drain(a[Symbol.asyncIterator]())).toEqual(first);
  expect(await drain(b[Symbol.asyncIterator]())).toEqual(second);
  // Read twice, the same (a section is read once per pass).
  expect(await drain(a[Symbol.asyncIterator]())).toEqual(first);
  await spool.discard();
});

test('a line longer than the buffer is read whole, and lines after it still are', async () => {
  const spool = await EntrySpool.create(dir);
  const list = [entry(1), entry(2, 'L'.repeat(3 * READ_SIZE + 11)), entry(3), entry(4, '€'.repeat(READ_SIZE))];
  for (const e of list) await spool.write(e);
  const s = await spool.endSection();
  await spool.close();
  expect(await drain(s[Symbol.asyncIterator]())).toEqual(list);
  await spool.discard();
});

test('skip passes over lines unparsed across refills, then next and lastLine go on from there', async () => {
  const spool = await EntrySpool.create(dir);
  const list = Array.from({ length: 12000 }, (_, i) => entry(i, 'y'.repeat(i % 50)));
  for (const e of list) await spool.write(e);
  const s = await spool.endSection();
  await spool.close();
  const r = s[Symbol.asyncIterator]();
  if (!(r instanceof SpoolReader)) throw new Error('a spooled section is read by a SpoolReader');
  expect(await r.skip(5000)).toBe(5000);
  const n = await r.next();
  expect(n.value).toEqual(list[5000]);
  expect(r.lastLine).toBe(JSON.stringify(list[5000]));
  expect(await r.skip(100000)).toBe(12000 - 5001);
  expect((await r.next()).done).toBe(true);
  expect(r.lastLine).toBeUndefined();
  await spool.discard();
});

test('a last line without its newline is read (and counted by skip); an empty range reads nothing', async () => {
  const file = path.join(dir, 'raw.jsonl');
  const lines = [entry(1), entry(2), entry(3)].map((e) => JSON.stringify(e));
  const text = lines.join('\n');
  await writeFile(file, `garbage-before\n${text}`);
  const start = Buffer.byteLength('garbage-before\n');
  const end = start + Buffer.byteLength(text);
  expect(await drain(new SpoolReader(file, start, end))).toEqual([entry(1), entry(2), entry(3)]);
  const r = new SpoolReader(file, start, end);
  expect(await r.nextLine()).toBe(lines[0]);
  expect(await r.skip(10)).toBe(2);
  expect(await r.nextLine()).toBeUndefined();
  expect(await drain(new SpoolReader(file, start, start))).toEqual([]);
});

test('the file is open only while a reader reads: closed at its end, on return(), and after a read error', async () => {
  const spool = await EntrySpool.create(dir);
  for (let i = 0; i < 20000; i++) await spool.write(entry(i));
  const s = await spool.endSection();
  await spool.close();
  const file = spool.file;
  const whole = s[Symbol.asyncIterator]();
  await whole.next();
  expect(await opensOf(file)).toBe(1);
  expect((await drain(whole)).length).toBe(19999);
  expect(await opensOf(file)).toBe(0);
  // Left part-way, as a for-await loop's break does (a read ahead in flight).
  const part = s[Symbol.asyncIterator]();
  await part.next();
  expect(await opensOf(file)).toBe(1);
  await part.return?.();
  expect(await opensOf(file)).toBe(0);
  expect((await part.next()).done).toBe(true);
  // The file gone before the first read: the error reaches the caller and nothing stays open.
  await spool.discard();
  const gone = s[Symbol.asyncIterator]();
  await expect(gone.next()).rejects.toMatchObject({ code: 'ENOENT' });
  expect(await opensOf(file)).toBe(0);
});

test('a range past the end of the file (a spool cut short) reads what is there and ends, the file closed', async () => {
  const file = path.join(dir, 'short.jsonl');
  const lines = Array.from({ length: 4000 }, (_, i) => JSON.stringify(entry(i, 'z'.repeat(i % 40))));
  const text = `${lines.join('\n')}\n`;
  await writeFile(file, text);
  // Twice the file's length, so that the reads past the first buffer come back short, then empty.
  const got = await drain(new SpoolReader(file, 0, 2 * Buffer.byteLength(text)));
  expect(got.length).toBe(4000);
  expect(got[3999]).toEqual(entry(3999, 'z'.repeat(3999 % 40)));
  expect(await opensOf(file)).toBe(0);
});
