/**
 * The snapshot browser over real HTTP against a real sidecar and a real repository made by a real
 * backup: directory pages with sizes, paging a directory of 50,000 entries, downloads checked
 * against the disk (a tar extracted by the real tar binary), hostile paths, components that hold
 * secrets never downloaded, a swapped object cutting the download off, unsigned snapshots refused.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, readFile, readlink, rename, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setupService, type ServiceEnv } from '../support/service_env';
import { corruptObject, putObjectBack } from '../support/object_files';
import { makeTempDir, removeTempDir } from '@mm-backup/testkit';

const BULK = 50_000;
let env: ServiceEnv;
let id: string;
let repoDir: string;
let scratch: string;

/** Names that sort around '/' in UTF-16 order ('a-b' and 'a.b' come before 'a/x'), unicode, spaces, a long one. */
const TRICKY = ['a', 'a-b', 'a.b', 'a b', 'zé ü', '日本', 'x'.repeat(150)];

beforeAll(async () => {
  env = await setupService();
  scratch = await makeTempDir('browse-');
  repoDir = JSON.parse(await readFile(env.cfgFile, 'utf8')).repository.path;
  const d = env.sb.dataDir;
  // A directory whose children sort around its own subtree, with content to compare.
  await mkdir(path.join(d, 'browse', 'a', 'deep'), { recursive: true });
  await writeFile(path.join(d, 'browse', 'a', 'deep', 'one.txt'), 'one\n');
  await writeFile(path.join(d, 'browse', 'a', 'two.bin'), Buffer.alloc(70_000, 7));
  for (const n of TRICKY.slice(1)) await writeFile(path.join(d, 'browse', n), `content of ${n}\n`);
  await chmod(path.join(d, 'browse', 'a-b'), 0o640);
  await symlink('a/two.bin', path.join(d, 'browse', 'link'));
  // 50,000 entries in one directory (empty files: one object, the walk still sees every one).
  await mkdir(path.join(d, 'bulk'));
  for (let i = 0; i < BULK; i += 1000) {
    await Promise.all(
      Array.from({ length: 1000 }, (_, k) => writeFile(path.join(d, 'bulk', `f${String(i + k).padStart(6, '0')}`), '')),
    );
  }
  const started = await env.api('POST', '/v1/jobs', { body: { kind: 'backup' } });
  expect(started.status).toBe(202);
  await env.sidecar.jobs.idle();
  const job = await env.api('GET', `/v1/jobs/${started.body.id}`);
  expect(job.body.status).toBe('succeeded');
  id = job.body.result.snapshot_id;
}, 600_000);
afterAll(async () => {
  await env?.cleanup();
  if (scratch) await removeTempDir(scratch);
});
afterEach(() => {
  expect(env.rest.violations).toEqual([]);
});

const tree = (q: Record<string, string>, snapshot = id) =>
  env.api('GET', `/v1/snapshots/${snapshot}/tree?${new URLSearchParams(q)}`);

async function download(q: Record<string, string>, as?: { token: string }) {
  const res = await fetch(`${env.sidecarUrl}/v1/snapshots/${id}/download?${new URLSearchParams(q)}`, {
    headers: { Authorization: `Bearer ${(as ?? env.admin).token}` },
  });
  let body: Buffer | undefined;
  let cutOff: Error | undefined;
  try {
    body = Buffer.from(await res.arrayBuffer());
  } catch (err) {
    cutOff = err as Error;
  }
  return { res, body, cutOff };
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

test('a directory page lists the direct children in path order, with sizes, times and subtree totals', async () => {
  const r = await tree({ component: 'data', path: 'browse' });
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({
    snapshot_id: id,
    component: 'data',
    path: 'browse',
    secrets: false,
    downloadable: true,
    trust: 'signed',
    next_cursor: null,
  });
  const names = [...TRICKY, 'link'].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  expect(r.body.entries.map((e: { name: string }) => e.name)).toEqual(names);
  const a = r.body.entries.find((e: { name: string }) => e.name === 'a');
  // 'a' has its subtree after 'a-b', 'a.b' and 'a b' in the index: counted all the same.
  expect(a).toMatchObject({ type: 'dir', files: 2, bytes: 70_004, mtime: expect.stringMatching(/^\d{4}-/) });
  expect(r.body.entries.find((e: { name: string }) => e.name === 'a-b')).toMatchObject({
    type: 'file',
    size: 'content of a-b\n'.length,
  });
  expect(r.body.entries.find((e: { name: string }) => e.name === 'link')).toMatchObject({ type: 'symlink' });
  // Paged by two: the same names, each once, in order.
  const seen: string[] = [];
  let cursor: string | undefined;
  do {
    const p = await tree({ component: 'data', path: 'browse', limit: '2', ...(cursor ? { cursor } : {}) });
    expect(p.status).toBe(200);
    expect(p.body.entries.length).toBeLessThanOrEqual(2);
    seen.push(...p.body.entries.map((e: { name: string }) => e.name));
    cursor = p.body.next_cursor ?? undefined;
  } while (cursor);
  expect(seen).toEqual(names);
  // The root lists the component's top level; a file or a missing directory is refused clearly.
  const root = await tree({ component: 'data' });
  expect(root.body.entries.map((e: { name: string }) => e.name)).toEqual(expect.arrayContaining(['browse', 'bulk']));
  expect(root.body.entries.find((e: { name: string }) => e.name === 'bulk')).toMatchObject({ files: BULK, bytes: 0 });
  expect((await tree({ component: 'data', path: 'browse/a-b' })).status).toBe(400);
  expect((await tree({ component: 'data', path: 'browse/nope' })).status).toBe(404);
  expect((await tree({ component: 'nope' })).status).toBe(404);
  expect((await tree({ component: 'database' })).body.message).toMatch(/database dump, not a file tree/);
});

test('a directory of 50,000 entries is paged: a page reads only up to itself, never the whole directory', async () => {
  const firstAt = Date.now();
  const first = await tree({ component: 'data', path: 'bulk', limit: '100' });
  const firstMs = Date.now() - firstAt;
  expect(first.status).toBe(200);
  expect(first.body.entries).toHaveLength(100);
  expect(first.body.entries[0]).toMatchObject({ name: 'f000000', type: 'file', size: 0 });
  expect(first.body.next_cursor).toBe('f000099');
  const second = await tree({ component: 'data', path: 'bulk', limit: '100', cursor: 'f000099' });
  expect(second.body.entries[0].name).toBe('f000100');
  // No page can be larger than 1000: the whole directory is never asked for in one answer.
  expect((await tree({ component: 'data', path: 'bulk', limit: '50000' })).status).toBe(400);
  // Every name once, in order, through pages of 1000.
  const walkAt = Date.now();
  let count = 0;
  let cursor: string | undefined;
  let last = '';
  do {
    const p = await tree({ component: 'data', path: 'bulk', limit: '1000', ...(cursor ? { cursor } : {}) });
    for (const e of p.body.entries as Array<{ name: string }>) {
      expect(e.name > last).toBe(true);
      last = e.name;
      count++;
    }
    cursor = p.body.next_cursor ?? undefined;
  } while (cursor);
  const walkMs = Date.now() - walkAt;
  expect(count).toBe(BULK);
  expect(last).toBe(`f0${BULK - 1}`);
  // The first page stopped reading after its 100 names: far cheaper than reading the directory.
  expect(firstMs * 10).toBeLessThan(walkMs);
}, 300_000);

test('a file downloads as its bytes; a directory as a tar whose content equals the files', async () => {
  const f = await download({ component: 'data', path: 'browse/a/two.bin' });
  expect(f.res.status).toBe(200);
  expect(f.res.headers.get('content-type')).toBe('application/octet-stream');
  expect(f.res.headers.get('content-disposition')).toBe(`attachment; filename="two.bin"; filename*=UTF-8''two.bin`);
  expect(f.body?.equals(await readFile(path.join(env.sb.dataDir, 'browse', 'a', 'two.bin')))).toBe(true);

  const t = await download({ component: 'data', path: 'browse' });
  expect(t.res.status).toBe(200);
  expect(t.res.headers.get('content-type')).toBe('application/x-tar');
  const tarFile = path.join(scratch, 'browse.tar');
  await writeFile(tarFile, t.body as Buffer);
  const out = path.join(scratch, 'out');
  await mkdir(out);
  const x = spawnSync('tar', ['-xf', tarFile, '-C', out], { encoding: 'utf8' });
  expect(x.stderr).toBe('');
  expect(x.status).toBe(0);
  expect(await readdir(out)).toEqual(['browse']);
  expect(await describe(path.join(out, 'browse'))).toEqual(await describe(path.join(env.sb.dataDir, 'browse')));
});

// A large object file is read in several chunks; a small file's object (or any packed object) in
// one, held back until checked: either way the answer is a 200 that is cut off.
test.each([
  ['browse/a/two.bin', 70_000],
  ['browse/a/deep/one.txt', 4],
])('a swapped object cuts the download off: the file never arrives whole (%s)', async (rel, size) => {
  const want = sha(await readFile(path.join(env.sb.dataDir, rel)));
  // Other bytes of the same size, in its object file or its slice of a pack.
  const original = await corruptObject(repoDir, want);
  try {
    const f = await download({ component: 'data', path: rel });
    expect(f.res.status).toBe(200); // headers went out before the object was read
    expect(f.cutOff).toBeDefined();
    const t = await download({ component: 'data', path: 'browse/a' });
    expect(t.cutOff).toBeDefined();
  } finally {
    await putObjectBack(repoDir, want, original);
  }
  // Put back, it downloads again.
  expect((await download({ component: 'data', path: rel })).body?.length).toBe(size);
});

test('components that hold secrets: names only, never downloadable, whoever asks', async () => {
  const r = await tree({ component: 'config' });
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({ secrets: true, downloadable: false });
  const cfg = r.body.entries.find((e: { name: string }) => e.name === 'config.json');
  expect(cfg).toEqual({ name: 'config.json', type: 'file' });
  for (const component of ['config', 'env_file', 'tls', 'database', 'config_store']) {
    for (const p of ['', 'config.json']) {
      const d = await download({ component, path: p });
      expect(d.res.status).toBe(403);
      expect(d.body?.toString()).not.toContain(env.sb.dbPassword);
    }
  }
  // The other routes' rules: a non-admin is refused, no session is refused.
  expect((await download({ component: 'data', path: 'browse/a/two.bin' }, env.alice)).res.status).toBe(403);
  expect((await env.api('GET', `/v1/snapshots/${id}/tree?component=data`, { as: null as never })).status).toBe(401);
  expect((await env.api('GET', `/v1/snapshots/${id}/tree?component=data`, { as: env.alice })).status).toBe(403);
});

test.each([
  ['../etc', 400],
  ['browse/../../etc', 400],
  ['/etc/passwd', 400],
  ['browse//a', 400],
  ['./browse', 400],
  ['browse/.', 400],
  ['browse\\..\\x', 400],
  ['browse\0a', 400],
  ['x'.repeat(5000), 400],
])('a hostile path is refused before anything is read (case %#)', async (p, status) => {
  expect((await tree({ component: 'data', path: p })).status).toBe(status);
  expect((await download({ component: 'data', path: p })).res.status).toBe(status);
});

test('hostile query and ids: encoded dots, repeated or unknown keys, bad limits, bad snapshot ids', async () => {
  const raw = (q: string, snap = id) => env.api('GET', `/v1/snapshots/${snap}/tree?${q}`);
  expect((await raw('component=data&path=%2e%2e%2fetc')).status).toBe(400);
  expect((await raw('component=data&path=%2E%2E')).status).toBe(400);
  expect((await raw('component=data&path=browse%00')).status).toBe(400);
  expect((await raw('component=data&path=a&path=b')).status).toBe(400);
  expect((await raw('component=data&extra=1')).status).toBe(400);
  expect((await raw('component=data&limit=0')).status).toBe(400);
  expect((await raw('component=data&limit=abc')).status).toBe(400);
  expect((await raw('component=..%2Fdata')).status).toBe(400);
  expect((await raw('component=data', 'not-an-id')).status).toBe(400);
  expect((await raw('component=data', 'a%20b')).status).toBe(400);
  expect((await raw('component=data', '20990101T000000Z-abcdef')).status).toBe(404);
  // A cursor is a name to start after, never a path: one that matches nothing gives the names after it.
  const after = await raw('component=data&path=browse&cursor=%2e%2e%2f%2e%2e');
  expect(after.status).toBe(200);
  expect(after.body.entries.length).toBeGreaterThan(0);
});

test('a snapshot whose signature is gone is browsable but not downloadable', async () => {
  const sig = path.join(repoDir, 'snapshots', `${id}.sig`);
  const saved = path.join(scratch, 'saved-sig');
  await rename(sig, saved);
  try {
    const d = await download({ component: 'data', path: 'browse/a/two.bin' });
    expect(d.res.status).toBe(422);
    expect(d.body?.toString()).toMatch(/not signed/);
  } finally {
    await rename(saved, sig);
  }
});

/** Each path below `root`: type, permission bits, content hash or link target (tar keeps seconds, not ns). */
async function describe(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string): Promise<void> => {
    const abs = rel ? path.join(root, rel) : root;
    const st = await lstat(abs);
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isDirectory()) {
      out[rel || '.'] = `dir ${mode}`;
      for (const n of (await readdir(abs)).sort()) await walk(rel ? `${rel}/${n}` : n);
    } else if (st.isSymbolicLink()) {
      out[rel] = `symlink ${await readlink(abs)}`;
    } else {
      out[rel] = `file ${mode} ${sha(await readFile(abs))} ${Math.floor(st.mtimeMs / 1000)}`;
    }
  };
  await walk('');
  return out;
}
