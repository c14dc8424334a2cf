/**
 * verify catches a flipped byte and a missing object; restore refuses a damaged object and a
 * too-new schema; prune keeps everything kept snapshots need (and the newest verified one).
 */
import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { parseDsn } from '../../src/database/dsn';
import { query } from '../../src/database/sql_client';
import { describeTree } from '../support/tree_snapshot';
import { tableDigests } from '../support/db_rows';
import { isUp, setupE2E, type E2E } from '../support/e2e_env';
import { corruptObject, putObjectBack, readStoredObject, removeObject } from '../support/object_files';

let env: E2E;
beforeAll(async () => {
  env = await setupE2E('postgres');
}, 240_000);
afterAll(async () => {
  await env?.cleanup();
});

async function manifest(id: string) {
  return (await env.cli('show', id)).summary?.manifest;
}

test('verify and a deep verify pass on a good snapshot', async () => {
  const b = await env.cli('backup', '--mode', 'online');
  expect(b.code).toBe(0);
  const v = await env.cli('verify', 'latest');
  expect(v.code).toBe(0);
  const deep = await env.cli('verify', 'latest', '--deep');
  expect(deep.stderr).toBe('');
  expect(deep.code).toBe(0);
  expect(deep.events.some((e) => e.type === 'step.finished' && e.step === 'dump-database')).toBe(true);
  const list = await env.cli('list');
  expect(list.summary?.snapshots.at(-1).verification).toBe('deep ok');
});

test('a flipped byte fails verify with exit 4, naming the file and component; restore refuses it where it needs it and changes nothing', async () => {
  const m = await manifest('latest');
  const data = m.components.find((c: { id: string }) => c.id === 'data');
  const entry = data.entries.find((e: { type: string; size?: number }) => e.type === 'file' && (e.size ?? 0) > 10);
  // Its object file, or its slice of a pack (repository.packs).
  const original = await corruptObject(env.repo, entry.sha256, 5);
  try {
    const v = await env.cli('verify', m.id);
    expect(v.code).toBe(4);
    expect(v.stderr).toContain(`data ${entry.path}: content does not match its checksum`);
    // The restore checks presence and sizes before the stop and each object's content as it is
    // written: it refuses this one where it needs it (the file changed since), and puts back.
    await writeFile(path.join(data.root as string, entry.path as string), 'changed since the backup');
    const rowsBefore = await tableDigests(env.sb.dbUrl);
    const treeBefore = await describeTree(env.sb.installDir, [], { dirMtimes: false });
    const r = await env.cli('restore', m.id, '--yes');
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(new RegExp(`component data, .*${entry.sha256.slice(0, 12)}… does not match its checksum`));
    expect(await tableDigests(env.sb.dbUrl)).toEqual(rowsBefore);
    expect(await describeTree(env.sb.installDir, [], { dirMtimes: false })).toEqual(treeBefore);
    expect(await isUp(env.url)).toBe(true);
  } finally {
    await putObjectBack(env.repo, entry.sha256, original);
  }
});

test('a missing object fails verify, naming it, and the restore preflight before Mattermost stops', async () => {
  const m = await manifest('latest');
  const sha = m.components.find((c: { id: string }) => c.id === 'database').database.object;
  // Removed alone: an object file, or taken out of its pack (the pack's other objects stay).
  const original = await readStoredObject(env.repo, sha);
  await removeObject(env.repo, sha);
  try {
    const v = await env.cli('verify', m.id);
    expect(v.code).toBe(4);
    expect(v.stderr).toContain('database database dump: object is missing');
    // The restore's cheap preflight (presence and sizes) refuses it before Mattermost is stopped.
    const r = await env.cli('restore', m.id, '--yes');
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/is damaged and will not be restored: database database dump: object is missing/);
    expect(r.events.some((e) => e.step === 'stop')).toBe(false);
    expect(await isUp(env.url)).toBe(true);
  } finally {
    await putObjectBack(env.repo, sha, original);
  }
  expect((await env.cli('verify', m.id)).code).toBe(0);
});

test('restore refuses a snapshot whose schema is newer than the server, unless --force', async () => {
  const target = parseDsn(env.sb.dbUrl);
  // The server was "downgraded": its database knows fewer migrations than the snapshot.
  await query(target, 'DELETE FROM db_migrations WHERE version > 120');
  const r = await env.cli('restore', 'latest', '--yes', '--components', 'database');
  expect(r.code).toBe(3);
  expect(r.stderr).toMatch(/schema \(\d+\) is newer than the target server's \(120\)/);
  expect((await query(target, 'SELECT max(version) AS v FROM db_migrations'))[0]?.v).toBe('120');
  const forced = await env.cli('restore', 'latest', '--yes', '--components', 'database', '--force');
  expect(forced.code).toBe(0);
  expect(Number((await query(target, 'SELECT max(version) AS v FROM db_migrations'))[0]?.v)).toBeGreaterThan(120);
});

test('prune keeps what kept snapshots need and the newest verified snapshot', async () => {
  await env.writeConfig({
    retention: { keepLast: 2, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 },
    backup: { mode: 'online' },
  });
  const uploads = path.join(env.sb.installDir, 'data', 'prune-test');
  await mkdir(uploads, { recursive: true });
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    await writeFile(path.join(uploads, `only-in-${i}.txt`), `content unique to run ${i} ${Math.random()}`);
    if (i > 0) await writeFile(path.join(uploads, `only-in-${i - 1}.txt`), `rewritten ${Math.random()}`);
    const b = await env.cli('backup');
    expect(b.code).toBe(0);
    ids.push(b.summary?.snapshot.id);
  }
  const all = (await env.cli('list')).summary?.snapshots.map((s: { id: string }) => s.id) as string[];
  const verified = all[0] as string; // verified by the first test
  const dry = await env.cli('prune', '--dry-run');
  expect(dry.code).toBe(0);
  expect((await env.cli('list')).summary?.snapshots.length).toBe(all.length);
  const expectedRemoved = all.filter((id) => id !== verified && !ids.slice(-2).includes(id));
  expect(dry.summary?.removed.sort()).toEqual(expectedRemoved.sort());
  const p = await env.cli('prune');
  expect(p.code).toBe(0);
  expect(p.summary?.objects_removed).toBeGreaterThan(0);
  const kept = (await env.cli('list')).summary?.snapshots.map((s: { id: string }) => s.id);
  expect(kept.sort()).toEqual([verified, ...ids.slice(-2)].sort());
  for (const id of kept) expect((await env.cli('verify', id)).code).toBe(0);
});

test("a backup's prune sweeps objects only when its retention removed a snapshot; mm-backup prune always sweeps", async () => {
  const uploads = path.join(env.sb.installDir, 'data', 'prune-test');
  const stepStatus = (b: { events: Array<Record<string, unknown>> }, step: string) =>
    b.events.find((e) => e.step === step && (e.type === 'step.finished' || e.type === 'step.skipped'))?.type;
  await env.writeConfig({
    retention: { keepLast: 2, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 },
    backup: { mode: 'online', pruneAfter: true },
  });
  await writeFile(path.join(uploads, 'only-in-a.txt'), `unique ${Math.random()}`);
  const a = await env.cli('backup');
  expect(a.code).toBe(0);
  expect(a.summary?.prune?.removed.length).toBeGreaterThan(0);
  expect(stepStatus(a, 'prune-objects')).toBe('step.finished');
  expect(a.summary?.prune?.objects_removed).toBeGreaterThan(0);

  await env.writeConfig({
    retention: { keepLast: 20, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 },
    backup: { mode: 'online', pruneAfter: true },
  });
  const b = await env.cli('backup');
  expect(b.code).toBe(0);
  expect(b.summary?.prune?.removed).toEqual([]);
  expect(stepStatus(b, 'prune-objects')).toBe('step.skipped');
  expect(b.events.find((e) => e.type === 'step.skipped' && e.step === 'prune-objects')?.reason).toMatch(
    /no snapshot was removed/,
  );
  const p = await env.cli('prune');
  expect(p.code).toBe(0);
  expect(stepStatus(p, 'objects')).toBe('step.finished');
  await env.writeConfig();
});
