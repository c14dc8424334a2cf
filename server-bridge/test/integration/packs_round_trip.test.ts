// A repository opened with packs: small files go into packs/ with their index/ (none into
// objects/), large ones stay object files; every read path (stream, copy, synchronous copy,
// checks) finds packed objects, including from a Repository opened without packs; the marker says
// version 2; a damaged pack is caught by each check.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { collectEntries } from '../../src/manifest/entry_list';
import { INLINE_FILE, Repository } from '../../src/repository/repository';
import { backupTree } from '../../src/repository/tree_backup';
import { WalkPacer } from '../../src/repository/walk_pacer';
import { LocalStorage } from '../../src/storage/local_storage';
import { MemoryStorage } from '../../src/storage/memory_storage';
import { readAll } from '../../src/storage/storage';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'packs-rt-'));
});
afterEach(() => rm(work, { recursive: true, force: true }));

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

async function keysUnder(root: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (abs: string, rel: string): Promise<void> => {
    let names;
    try {
      names = await readdir(abs, { withFileTypes: true });
    } catch {
      return;
    }
    for (const d of names) {
      const r = `${rel}/${d.name}`;
      if (d.isDirectory()) await walk(path.join(abs, d.name), r);
      else out.push(r);
    }
  };
  await walk(path.join(root, dir), dir);
  return out.sort();
}

async function makeTree(root: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (let d = 0; d < 40; d++) {
    const dir = path.join(root, `2026010${d % 9}`, `f${d}`);
    await mkdir(dir, { recursive: true });
    const body = randomBytes(50 + d * 97);
    await writeFile(path.join(dir, 'a.png'), body);
    files.set(`2026010${d % 9}/f${d}/a.png`, body);
    await writeFile(path.join(dir, 'a_thumb.jpg'), 'same thumbnail everywhere');
    files.set(`2026010${d % 9}/f${d}/a_thumb.jpg`, Buffer.from('same thumbnail everywhere'));
  }
  const big = randomBytes(INLINE_FILE + 10);
  await writeFile(path.join(root, 'big.bin'), big);
  files.set('big.bin', big);
  return files;
}

test.each(['sync', 'async'] as const)(
  'a %s backup packs small files (objects/ only the large one) and every read path finds them',
  async (mode) => {
    const root = path.join(work, 'tree');
    const files = await makeTree(root);
    const repoDir = path.join(work, 'repo');
    const repo = await Repository.open(await LocalStorage.open(repoDir), { packs: true });
    const res = await backupTree({ root, exclude: [], repo, pacer: new WalkPacer({ fixed: mode }) });
    const entries = (await collectEntries(res.entries)).filter((e) => e.type === 'file');
    await repo.packs.flush();
    expect(JSON.parse(await readFile(path.join(repoDir, 'repository.json'), 'utf8')).version).toBe(2);
    // Only the large file is an object file; the rest is one pack and its index.
    expect(await keysUnder(repoDir, 'objects')).toEqual([
      `objects/${sha(files.get('big.bin')!).slice(0, 2)}/${sha(files.get('big.bin')!)}`,
    ]);
    const packs = await keysUnder(repoDir, 'packs');
    expect(packs).toHaveLength(1);
    const packSha = packs[0]!.split('/').at(-1)!;
    expect(sha(await readFile(path.join(repoDir, packs[0]!)))).toBe(packSha);
    expect(await keysUnder(repoDir, 'index')).toEqual([`index/${packSha}.json`]);
    // The duplicate thumbnail is packed once: 40 distinct a.png and one thumbnail.
    const index = JSON.parse(await readFile(path.join(repoDir, 'index', `${packSha}.json`), 'utf8'));
    expect(index.objects).toHaveLength(41);
    expect(res.newBytes).toBe(
      [...new Map(entries.map((e) => [e.sha256, e.size ?? 0])).values()].reduce((a, b) => a + b, 0),
    );

    // A reader that does not pack (another job, another host) reads every object.
    const reader = await Repository.open(await LocalStorage.open(repoDir));
    await reader.loadPacks();
    const out = path.join(work, 'out');
    await mkdir(out);
    for (const e of entries) {
      const want = files.get(e.path)!;
      expect(sha(want)).toBe(e.sha256);
      expect(await reader.readObjectBytes(e.sha256!)).toEqual(want);
      expect(await readAll(await reader.readObject(e.sha256!))).toEqual(want);
      const dest = path.join(out, sha(e.path));
      await reader.copyObjectTo(e.sha256!, dest);
      expect(await readFile(dest)).toEqual(want);
      if (want.length <= INLINE_FILE) {
        expect(reader.readSmallObjectSync(e.sha256!)).toEqual(want);
        expect(reader.checkSmallObjectSync(e.sha256!, want.length)).toBeUndefined();
      }
      expect(await reader.checkObject(e.sha256!, want.length)).toBeUndefined();
      expect(await reader.hasObject(e.sha256!)).toBe(true);
    }

    // Unchanged tree, same repository: nothing new, no second pack.
    const again = await Repository.open(await LocalStorage.open(repoDir), { packs: true });
    const res2 = await backupTree({ root, exclude: [], repo: again, pacer: new WalkPacer({ fixed: mode }) });
    await collectEntries(res2.entries);
    await again.packs.flush();
    expect(res2.newBytes).toBe(0);
    expect(await keysUnder(repoDir, 'packs')).toEqual(packs);

    // One byte of the pack changed: the object in it fails every check, the others still pass.
    const victim = entries.find((e) => e.path.endsWith('f7/a.png'))!;
    const loc = (await reader.locate(victim.sha256!))!;
    const packFile = path.join(repoDir, packs[0]!);
    const bytes = await readFile(packFile);
    bytes[loc.offset] = (bytes[loc.offset] as number) ^ 1;
    await writeFile(packFile, bytes);
    expect(await reader.checkObject(victim.sha256!, loc.size)).toMatch(/does not match its checksum/);
    expect(reader.checkSmallObjectSync(victim.sha256!, loc.size)).toMatch(/does not match its checksum/);
    await expect(reader.copyObjectTo(victim.sha256!, path.join(out, 'victim'))).rejects.toThrow(
      /does not match its checksum/,
    );
    expect(() => reader.readSmallObjectSync(victim.sha256!)).toThrow(/does not match its checksum/);
    expect(await readdir(out)).not.toContain('victim');
    const other = entries.find((e) => e.path.endsWith('f8/a.png'))!;
    expect(await reader.checkObject(other.sha256!, undefined)).toBeUndefined();
    // The pack gone: its objects are missing, by name.
    await rm(packFile);
    expect(await reader.checkObject(other.sha256!, undefined)).toMatch(/missing/);
    expect(reader.checkSmallObjectSync(other.sha256!, undefined)).toMatch(/missing/);
  },
);

test('a bucket-like storage: packed objects are read by range once, then the pack whole (checked against its name)', async () => {
  const storage = new MemoryStorage();
  const repo = await Repository.open(storage, { packs: true, stagingDir: path.join(work, 'stage') });
  await mkdir(path.join(work, 'stage'));
  const root = path.join(work, 'tree');
  const files = await makeTree(root);
  const res = await backupTree({ root, exclude: [], repo });
  const entries = (await collectEntries(res.entries)).filter((e) => e.type === 'file');
  await repo.packs.flush();
  const keys: string[] = [];
  for await (const o of storage.list('')) keys.push(o.key);
  expect(keys.filter((k) => k.startsWith('packs/'))).toHaveLength(1);
  expect(keys.filter((k) => k.startsWith('objects/'))).toHaveLength(1);
  const reader = await Repository.open(storage);
  for (const e of entries) expect(await reader.readObjectBytes(e.sha256!)).toEqual(files.get(e.path));
  // A pack whose bytes were replaced (same length) is refused whole once it is read whole.
  const packKey = keys.find((k) => k.startsWith('packs/'))!;
  const body = await readAll(await storage.get(packKey));
  body[body.length - 1] = (body[body.length - 1] as number) ^ 1;
  await storage.put(packKey, body);
  const fresh = await Repository.open(storage);
  const two = entries.filter((e) => e.path.endsWith('a.png')).slice(0, 2);
  await fresh.readObjectBytes(two[0]!.sha256!); // by range: the first object is intact
  await expect(fresh.readObjectBytes(two[1]!.sha256!)).rejects.toThrow(/pack .* is damaged/);
});
