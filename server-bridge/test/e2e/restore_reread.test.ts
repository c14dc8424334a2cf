/**
 * Nothing is read again after a restore (issue 12): a restore writes files with new inodes and
 * mtimes to the microsecond, so it records what it wrote (repository/restore_index.ts) and the next
 * backup compares against that instead of re-reading every file; a file changed after the restore
 * is still read. Real CLI, real database, the stand-in.
 */
import { existsSync } from 'node:fs';
import { lstat, readdir, rm, writeFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { isUp, setupE2E, type E2E } from '../support/e2e_env';

let env: E2E;
beforeAll(async () => {
  env = await setupE2E('postgres', {
    size: { users: 5, channels: 3, posts: 60, attachments: 30, attachmentBytes: 50_000 },
  });
}, 240_000);
afterAll(async () => {
  await env?.cleanup();
});

interface Comp {
  id: string;
  status: string;
  root?: string;
  database?: unknown;
  files: number;
  filesRead: number;
  entries: Array<{ path: string; type: string; mtime: string; sha256?: string; size?: number }>;
}

const manifest = async (id: string) => (await env.cli('show', id)).summary?.manifest as { components: Comp[] };
const trees = (m: { components: Comp[] }) => m.components.filter((c) => c.status === 'included' && !c.database);
const indexFile = (component: string) =>
  path.join(path.dirname(env.cfgFile), 'mm-backup-restored', `${component}.jsonl`);

/** Empties the file store (its entries all get rewritten by the restore: new inodes, new mtimes). */
async function emptyFileStore(root: string): Promise<void> {
  for (const name of await readdir(root)) await rm(path.join(root, name), { recursive: true, force: true });
}

test('after an in-place restore the next backup reads no file, and the restored mtimes are the snapshot’s to the microsecond', async () => {
  const b1 = await env.cli('backup', '--mode', 'online');
  expect(b1.code).toBe(0);
  const m1 = await manifest(b1.summary?.snapshot.id as string);
  const data = m1.components.find((c) => c.id === 'data') as Comp;
  expect(data.files).toBeGreaterThan(20);
  await emptyFileStore(data.root as string);
  await writeFile(path.join(env.sb.installDir, 'config', 'config.json'), '{"changed": "after the backup"}');

  const r = await env.cli('restore', b1.summary?.snapshot.id as string, '--yes');
  expect(r.code).toBe(0);
  expect(await isUp(env.url)).toBe(true);
  // What a restore can set: utimes takes seconds as a double, so the microsecond (the snapshot
  // keeps nanoseconds; the post-restore index keeps what is on disk, to the nanosecond).
  for (const e of data.entries.filter((x) => x.type === 'file')) {
    const st = await lstat(path.join(data.root as string, e.path), { bigint: true });
    expect([e.path, st.mtimeNs / 1000n]).toEqual([e.path, BigInt(e.mtime) / 1000n]);
  }
  for (const c of trees(m1)) expect(existsSync(indexFile(c.id))).toBe(true);

  const b2 = await env.cli('backup', '--mode', 'online');
  expect(b2.code).toBe(0);
  expect(b2.events.find((e) => e.type === 'step.finished' && e.step === 'preflight')?.summary).toMatch(
    /as restored: .*\bdata\b/,
  );
  const m2 = await manifest(b2.summary?.snapshot.id as string);
  // The stand-in writes its log while it runs (changed since the restore, rightly read).
  const read = Object.fromEntries(trees(m2).map((c) => [c.id, c.filesRead]));
  expect({ ...read, logs: 0 }).toEqual(Object.fromEntries(trees(m2).map((c) => [c.id, 0])));
  const data2 = m2.components.find((c) => c.id === 'data') as Comp;
  expect(data2.files).toBe(data.files);
  // The same content, with the metadata as it is on disk now (the next backup's parent).
  const sha = (c: Comp) => Object.fromEntries(c.entries.filter((e) => e.sha256).map((e) => [e.path, e.sha256]));
  expect(sha(data2)).toEqual(sha(data));
  for (const e of data2.entries.filter((x) => x.type === 'file')) {
    const st = await lstat(path.join(data2.root as string, e.path), { bigint: true });
    expect([e.path, e.mtime]).toEqual([e.path, st.mtimeNs.toString()]);
  }
  // Spent: the new snapshot is the parent from now on.
  for (const c of trees(m1)) expect(existsSync(indexFile(c.id))).toBe(false);
}, 300_000);

test('a file changed after the restore is read by the next backup', async () => {
  const last = (await env.cli('list')).summary?.snapshots
    .filter((s: { trigger: string }) => s.trigger !== 'safety')
    .at(-1);
  const m = await manifest(last.id as string);
  const data = m.components.find((c) => c.id === 'data') as Comp;
  await emptyFileStore(data.root as string);
  expect((await env.cli('restore', last.id as string, '--yes', '--components', 'data')).code).toBe(0);
  expect(existsSync(indexFile('data'))).toBe(true);
  // Same size, other bytes, written after the restore: only its mtime (and not its inode) says so.
  const file = data.entries.find((e) => e.type === 'file' && (e.size ?? 0) > 100) as Comp['entries'][number];
  const abs = path.join(data.root as string, file.path);
  const before = await readFile(abs);
  const changed = Buffer.from(before);
  changed[0] = (changed[0] as number) ^ 0xff;
  await writeFile(abs, changed);
  const b = await env.cli('backup', '--mode', 'online');
  expect(b.code).toBe(0);
  const after = (await manifest(b.summary?.snapshot.id as string)).components.find((c) => c.id === 'data') as Comp;
  expect(after.filesRead).toBe(1);
  const entry = after.entries.find((e) => e.path === file.path);
  expect(entry?.sha256).not.toBe(file.sha256);
  expect(entry?.size).toBe(file.size);
}, 300_000);
