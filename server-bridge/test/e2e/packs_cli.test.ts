// The real CLI against a real PostgreSQL and the Mattermost stand-in, with repository.packs on:
// the backup puts the install's small files into packs (the marker says version 2), restore in
// place puts back every file and row from them, verify passes; a pack damaged afterwards fails
// verify naming the object, and a restore that meets it fails with Mattermost running and the
// install as it was.
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseDsn } from '../../src/database/dsn';
import { query } from '../../src/database/sql_client';
import { describeTree } from '../support/tree_snapshot';
import { tableDigests } from '../support/db_rows';
import { isUp, setupE2E, type E2E } from '../support/e2e_env';

let env: E2E;
beforeAll(async () => {
  env = await setupE2E('postgres');
  await env.writeConfig({ repository: { path: env.repo, packs: true } });
}, 240_000);
afterAll(async () => {
  await env?.cleanup();
});

const tree = () => describeTree(env.sb.installDir, ['data/testfile'], { dirMtimes: false });

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (d.isFile()) out.push(path.join(d.parentPath, d.name));
  }
  return out;
}

let snapshotId = '';
let treeBefore: Record<string, string>;
let rowsBefore: Record<string, string>;

test('a packed backup: small files in packs with their indexes, large ones and the dump as objects, marker version 2', async () => {
  treeBefore = await tree();
  rowsBefore = await tableDigests(env.sb.dbUrl);
  const r = await env.cli('backup');
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  snapshotId = r.summary?.snapshot.id;
  const marker = JSON.parse(await readFile(path.join(env.repo, 'repository.json'), 'utf8'));
  expect(marker.version).toBe(2);
  const packs = await files(path.join(env.repo, 'packs'));
  const indexes = await files(path.join(env.repo, 'index'));
  expect(packs.length).toBeGreaterThan(0);
  expect(indexes.map((f) => path.basename(f, '.json')).sort()).toEqual(packs.map((f) => path.basename(f)).sort());
  // No file of at most 128 KiB is an object file: each is in a pack (the dump, read as a stream, is an object).
  const objects = new Set((await files(path.join(env.repo, 'objects'))).map((f) => path.basename(f)));
  const show = await env.cli('show', snapshotId);
  let small = 0;
  for (const c of show.summary?.manifest.components ?? []) {
    for (const e of (c.entries ?? []) as Array<{ type: string; size?: number; sha256?: string }>) {
      if (e.type !== 'file' || (e.size ?? 0) > 128 * 1024) continue;
      small++;
      expect(objects.has(e.sha256 as string)).toBe(false);
    }
  }
  expect(small).toBeGreaterThan(20);
  const v = await env.cli('verify', snapshotId);
  expect(v.code).toBe(0);
});

test('restore in place from packs puts back every file and every row', async () => {
  const target = parseDsn(env.sb.dbUrl);
  await query(target, 'DELETE FROM posts WHERE id IN (SELECT id FROM posts ORDER BY id LIMIT 25)');
  const small = Object.keys(treeBefore).filter((p) => p.startsWith('config/') && treeBefore[p]?.startsWith('file'));
  await writeFile(path.join(env.sb.installDir, 'config', 'config.json'), '{"broken": true}');
  await appendFile(path.join(env.sb.installDir, small[small.length - 1] as string), 'changed');
  await rm(path.join(env.sb.installDir, 'plugins'), { recursive: true });
  const r = await env.cli('restore', snapshotId, '--yes');
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(await isUp(env.url)).toBe(true);
  expect(await tableDigests(env.sb.dbUrl)).toEqual(rowsBefore);
  expect(await tree()).toEqual(treeBefore);
});

test('prune with packs: a pack only a dropped snapshot used goes, what is kept still verifies', async () => {
  const dir = path.join(env.sb.installDir, 'data', 'prune-packs');
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < 40; i++) await writeFile(path.join(dir, `f${i}.bin`), randomBytes(2000));
  const b = await env.cli('backup', '--mode', 'online');
  expect(b.code).toBe(0);
  await rm(dir, { recursive: true });
  const c = await env.cli('backup', '--mode', 'online');
  expect(c.code).toBe(0);
  await env.writeConfig({
    repository: { path: env.repo, packs: true },
    retention: { keepLast: 1, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 },
  });
  const p = await env.cli('prune');
  expect(p.code).toBe(0);
  expect(p.summary?.removed).toContain(b.summary?.snapshot.id);
  // The 40 files' pack held nothing a kept snapshot uses (or little): removed or rewritten.
  expect(Number(p.summary?.packs_removed ?? 0) + Number(p.summary?.packs_repacked ?? 0)).toBeGreaterThan(0);
  const kept = (await env.cli('list')).summary?.snapshots.map((s: { id: string }) => s.id) as string[];
  expect(kept).toEqual(expect.arrayContaining([snapshotId, c.summary?.snapshot.id]));
  for (const id of kept) expect((await env.cli('verify', id, '--deep')).code).toBe(0);
  const indexes = await files(path.join(env.repo, 'index'));
  expect(indexes.map((f) => path.basename(f, '.json')).sort()).toEqual(
    (await files(path.join(env.repo, 'packs'))).map((f) => path.basename(f)).sort(),
  );
});

test('a damaged pack: verify fails naming the file; a restore fails, Mattermost runs, the install is unchanged', async () => {
  // The index of the pack holding config/config.json, and that object's slice.
  const show = await env.cli('show', snapshotId);
  const config = show.summary?.manifest.components.find((c: { id: string }) => c.id === 'config');
  const entry = config.entries.find((e: { path: string }) => e.path === 'config.json');
  let hit: { pack: string; offset: number } | undefined;
  for (const f of await files(path.join(env.repo, 'index'))) {
    const idx = JSON.parse(await readFile(f, 'utf8'));
    const o = idx.objects.find((x: { sha256: string }) => x.sha256 === entry.sha256);
    if (o) hit = { pack: idx.pack, offset: o.offset };
  }
  expect(hit).toBeDefined();
  const packFile = path.join(env.repo, 'packs', hit!.pack.slice(0, 2), hit!.pack);
  const bytes = await readFile(packFile);
  bytes[hit!.offset] = (bytes[hit!.offset] as number) ^ 0xff;
  await writeFile(packFile, bytes);

  const v = await env.cli('verify', snapshotId);
  expect(v.code).not.toBe(0);
  expect(JSON.stringify(v.summary ?? v.stdout)).toMatch(/config\.json: content does not match its checksum/);

  // Changed since the backup, so the restore must read it (an unchanged file is left as it is).
  await writeFile(path.join(env.sb.installDir, 'config', 'config.json'), '{"changed": "after the damage"}');
  const before = await tree();
  const r = await env.cli('restore', snapshotId, '--yes');
  expect(r.code).not.toBe(0);
  expect(r.stderr + JSON.stringify(r.summary ?? {})).toMatch(/does not match its checksum|damaged/);
  expect(await isUp(env.url)).toBe(true);
  expect(await tree()).toEqual(before);
});
