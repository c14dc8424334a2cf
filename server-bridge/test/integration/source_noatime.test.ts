// A backup reads its sources with O_NOATIME: reading must not write a file's access time (with
// relatime, the first read after each change did, an inode write per new file), and a reader that
// does not own the file (EPERM for O_NOATIME) still reads it.
import { mkdir, mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { closeSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HashPool, readSmall, readSmallSync } from '../../src/repository/hash_pool';
import { Repository } from '../../src/repository/repository';
import { backupTree } from '../../src/repository/tree_backup';
import { openSource, openSourceSync } from '../../src/repository/source_open';
import { LocalStorage } from '../../src/storage/local_storage';
import { collectEntries } from '../../src/manifest/entry_list';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'noatime-'));
});
afterEach(() => rm(work, { recursive: true, force: true }));

const LONG_AGO = new Date('2020-01-02T03:04:05Z');

/** A file whose access time is older than its change: relatime writes it on the next plain read. */
async function staleFile(name: string, bytes: string | Buffer): Promise<string> {
  const f = path.join(work, name);
  await mkdir(path.dirname(f), { recursive: true });
  await writeFile(f, bytes);
  await utimes(f, LONG_AGO, new Date());
  return f;
}

const atimeOf = async (f: string) => (await stat(f)).atimeMs;

test('this filesystem writes access times on a plain read (else the checks below could not fail)', async () => {
  const control = await staleFile('control', 'read me the usual way');
  readFileSync(control);
  expect(await atimeOf(control)).toBeGreaterThan(LONG_AGO.getTime());
});

test('the small-file reads and the hash workers leave access times alone', async () => {
  const pool = new HashPool({ size: 1 });
  try {
    const files = await Promise.all(['a', 'b', 'c', 'd'].map((n) => staleFile(n, `content of ${n}`)));
    const [a, b, c, d] = files as [string, string, string, string];
    expect(readSmallSync(a, 1024)?.size).toBe(12);
    expect((await readSmall(b, 1024))?.size).toBe(12);
    expect((await pool.hash(c)).size).toBe(12);
    expect((await pool.copy(d, path.join(work, 'copy-of-d'))).size).toBe(12);
    for (const f of files) expect(await atimeOf(f)).toBe(LONG_AGO.getTime());
  } finally {
    await pool.close();
  }
});

test('a backup of a tree leaves every access time as it was', async () => {
  const files: string[] = [];
  for (let i = 0; i < 40; i++) files.push(await staleFile(`tree/d${i % 4}/f${i}.txt`, `file ${i} `.repeat(i + 1)));
  files.push(await staleFile('tree/big.bin', Buffer.alloc(300 * 1024, 7))); // past the small-file limit
  const repo = await Repository.open(await LocalStorage.open(path.join(work, 'repo')), { packs: true });
  const res = await backupTree({ root: path.join(work, 'tree'), exclude: [], repo });
  const entries = await collectEntries(res.entries);
  expect(entries.filter((e) => e.type === 'file' && e.sha256)).toHaveLength(41);
  await repo.packs.flush();
  for (const f of files) expect(await atimeOf(f)).toBe(LONG_AGO.getTime());
});

test('a reader that does not own the file opens it without O_NOATIME (EPERM) and reads it', async () => {
  // /etc/passwd: owned by root, readable by all. Root reads it as nobody, anyone else as themselves.
  const file = '/etc/passwd';
  const asOther = async <T>(f: () => T | Promise<T>): Promise<T> => {
    if (process.getuid?.() !== 0) return f();
    process.seteuid?.(65534);
    try {
      return await f();
    } finally {
      process.seteuid?.(0);
    }
  };
  const whole = await asOther(() => readSmallSync(file, 1 << 20));
  expect(whole?.bytes.toString()).toContain('root:');
  const fd = await asOther(() => openSourceSync(file));
  closeSync(fd);
  const fh = await asOther(() => openSource(file));
  expect((await fh.stat()).isFile()).toBe(true);
  await fh.close();
  expect(process.geteuid?.()).toBe(process.getuid?.());
});
