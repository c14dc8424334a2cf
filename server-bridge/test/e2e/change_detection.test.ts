/**
 * Change, not size (issue 12 §5): a backup takes settled day directories of attachments whose
 * FileInfo rows did not change from the parent snapshot without walking them; a new attachment in
 * an old day (rows changed) is found at once; a file changed behind Mattermost's back is caught by
 * the periodic full walk (and by --full-walk); a walk state out of step with the parent costs a
 * full walk, never a hole. Real CLI, real PostgreSQL, the sandbox's attachment layout.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, statfs, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseDsn } from '../../src/database/dsn';
import { query } from '../../src/database/sql_client';
import { loadConfig } from '../../src/config/load';
import { discover } from '../../src/discovery/discover';
import type { JobEvent } from '../../src/jobs/events';
import { openContext } from '../../src/jobs/context';
import { planBackup } from '../../src/operations/backup_plan';
import type { CliResult } from '../support/cli';
import { runLocked } from '../support/install_fixture';
import { isUp, setupE2E, type E2E } from '../support/e2e_env';

let env: E2E;
let dataRoot: string;
beforeAll(async () => {
  env = await setupE2E('postgres', {
    size: { users: 5, channels: 3, posts: 200, attachments: 40, attachmentBytes: 40_000 },
  });
}, 240_000);
afterAll(async () => {
  await env?.cleanup();
});

interface Comp {
  id: string;
  root?: string;
  files: number;
  filesRead: number;
  entries: Array<{ path: string; type: string; sha256?: string }>;
}
const data = async (b: CliResult): Promise<Comp> => {
  const m = (await env.cli('show', b.summary?.snapshot.id as string)).summary?.manifest as { components: Comp[] };
  return m.components.find((c) => c.id === 'data') as Comp;
};
const logs = (b: CliResult) =>
  b.events.filter((e) => e.type === 'log').map((e) => `${String(e.level)}: ${String(e.message)}`);
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
/** The walk state a backup saved for its snapshot. */
const stateFile = (b: CliResult) =>
  path.join(path.dirname(env.cfgFile), 'mm-backup-walk', `data@${b.summary?.snapshot.id as string}.json`);
const backup = async (...extra: string[]) => {
  const b = await env.cli('backup', '--mode', 'online', ...extra);
  expect({ code: b.code, stderr: b.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
  return b;
};

/** The first attachment file (not a thumbnail) under a day directory. */
async function someFile(day: string): Promise<string> {
  const walk = async (rel: string): Promise<string | undefined> => {
    for (const d of await readdir(path.join(dataRoot, rel), { withFileTypes: true })) {
      const r = `${rel}/${d.name}`;
      if (d.isDirectory()) {
        const found = await walk(r);
        if (found) return found;
      } else if (!/_(thumb|preview)\.jpg$/.test(d.name)) return r;
    }
    return undefined;
  };
  return (await walk(day)) as string;
}

test('settled days are carried, new rows are seen, hand edits wait for the full walk, a bad state costs a full walk', async () => {
  const b1 = await backup();
  const d1 = await data(b1);
  dataRoot = d1.root as string;
  // The repository has room for the whole disk: no scan, the copy is the only walk.
  expect(logs(b1).join('\n')).toMatch(/the copy walked every directory \(no walk state for the parent snapshot\)/);
  expect(logs(b1).join('\n')).not.toMatch(/the scan/);
  const state1 = JSON.parse(await readFile(stateFile(b1), 'utf8')) as { subtrees: Record<string, unknown> };
  // Well behind the two days after which a day counts as settled.
  const cutoff = new Date(Date.now() - 5 * 24 * 3600 * 1000).toISOString().slice(0, 10).replace(/-/g, '');
  const settled = (await readdir(dataRoot)).filter((d) => /^\d{8}$/.test(d) && d < cutoff).sort();
  expect(settled.length).toBeGreaterThanOrEqual(2);
  expect(Object.keys(state1.subtrees)).toEqual(expect.arrayContaining(settled));
  const [dayA, dayB] = settled as [string, string];

  // Behind Mattermost's back: a file of day A edited by hand (no row changes).
  const edited = await someFile(dayA);
  await writeFile(path.join(dataRoot, edited), 'edited by hand');
  // Through Mattermost: a new attachment in day B (an import), file first, then its row.
  const added = `${dayB}/teams/noteam/channels/imported/users/admin/importedfile00000000000/report.txt`;
  await mkdir(path.dirname(path.join(dataRoot, added)), { recursive: true });
  await writeFile(path.join(dataRoot, added), 'imported attachment');
  await query(
    parseDsn(env.sb.dbUrl),
    `INSERT INTO fileinfo (id, path, thumbnailpath, previewpath, name, extension, size, createat, updateat, deleteat, archived)
     VALUES ('importedfile00000000000000', $1, '', '', 'report.txt', 'txt', 19, $2, $2, 0, false)`,
    [added, Date.now()],
  );

  const b2 = await backup();
  const d2 = await data(b2);
  const hash2 = Object.fromEntries(d2.entries.map((e) => [e.path, e.sha256]));
  expect(logs(b2).join('\n')).toMatch(/the copy took \d+ entries of \d+ settled day directories from the parent/);
  expect(hash2[added]).toBe(sha('imported attachment')); // its day's rows changed: walked
  expect(hash2[edited]).toBe(Object.fromEntries(d1.entries.map((e) => [e.path, e.sha256]))[edited]); // not looked at
  expect(d2.filesRead).toBe(1);
  expect(d2.files).toBe(d1.files + 1);

  // --full-walk catches the hand edit now.
  const b3 = await backup('--full-walk');
  expect(logs(b3).join('\n')).toMatch(/walked every directory \(backup.fullWalkDays is 0\)/);
  expect(Object.fromEntries((await data(b3)).entries.map((e) => [e.path, e.sha256]))[edited]).toBe(
    sha('edited by hand'),
  );

  // The periodic full walk: another hand edit, and the last full walk made 8 days ago.
  await writeFile(path.join(dataRoot, edited), 'edited again');
  const b4 = await backup();
  expect(Object.fromEntries((await data(b4)).entries.map((e) => [e.path, e.sha256]))[edited]).toBe(
    sha('edited by hand'),
  );
  const state = JSON.parse(await readFile(stateFile(b4), 'utf8')) as { fullWalkAt: string };
  state.fullWalkAt = new Date(Date.now() - 8 * 24 * 3600 * 1000).toISOString();
  await writeFile(stateFile(b4), JSON.stringify(state));
  const b5 = await backup();
  expect(logs(b5).join('\n')).toMatch(/walked every directory \(the last full walk is 7 days old or more\)/);
  expect(Object.fromEntries((await data(b5)).entries.map((e) => [e.path, e.sha256]))[edited]).toBe(sha('edited again'));

  // A walk state out of step with its parent (an entry count that is not the parent's): the
  // carry is abandoned for a full walk, the snapshot is complete, and the state is right again.
  const bad = JSON.parse(await readFile(stateFile(b5), 'utf8')) as { subtrees: Record<string, { entries: number }> };
  (bad.subtrees[dayA] as { entries: number }).entries += 5;
  await writeFile(stateFile(b5), JSON.stringify(bad));
  await writeFile(path.join(dataRoot, edited), 'edited a third time');
  const b6 = await backup();
  expect(logs(b6).join('\n')).toMatch(
    new RegExp(
      `warn: .*under ${dayA}, its walk state says \\d+: the walk stops rather than leave a hole; walked every directory instead`,
    ),
  );
  const d6 = await data(b6);
  expect(Object.fromEntries(d6.entries.map((e) => [e.path, e.sha256]))[edited]).toBe(sha('edited a third time'));
  expect(d6.entries.map((e) => e.path)).toEqual((await data(b5)).entries.map((e) => e.path));
  const b7 = await backup();
  expect(logs(b7).join('\n')).toMatch(/took \d+ entries of \d+ settled day directories/);
  expect((await data(b7)).entries.map((e) => e.path)).toEqual(d6.entries.map((e) => e.path));
  expect(await isUp(env.url)).toBe(true);
}, 300_000);

test('offline: the pass made during the stop joins settled days in as the manifest is written; the snapshot is whole and verifies', async () => {
  const on = await backup();
  const off = await env.cli('backup', '--mode', 'offline');
  expect({ code: off.code, stderr: off.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
  expect(logs(off).join('\n')).toMatch(
    /the copy took (\d+) entries of \d+ settled day directories from the parent without walking them \(\1 entries of them joined in as the manifest is written\)/,
  );
  const byPath = (c: Comp) => c.entries.map((e) => [e.path, e.type, e.sha256]);
  const [dOn, dOff] = [await data(on), await data(off)];
  expect(byPath(dOff)).toEqual(byPath(dOn));
  expect(dOff.files).toBe(dOn.files);
  const v = await env.cli('verify', off.summary?.snapshot.id as string);
  expect(v.code).toBe(0);
  expect(await isUp(env.url)).toBe(true);
}, 300_000);

test('offline, nothing changed: the pack index is loaded while Mattermost still runs, not during the stop', async () => {
  // In this process, on the sandbox's real stand-in and repository, to look at the repository the
  // moment the stop begins: the pre-copy stored nothing, so only its explicit preparation loads it.
  await backup();
  const cfg = await loadConfig(env.cfgFile);
  const ec = await openContext(cfg);
  const d = await discover(cfg);
  const seen: Array<{ step: string; ready: boolean }> = [];
  const events: JobEvent[] = [];
  const r = await runLocked(
    ec,
    (lock) => planBackup(ec, d, lock, { mode: 'offline', trigger: 'cli' }).job,
    events,
    (e) => {
      if (e.type === 'step.started') seen.push({ step: e.step, ready: ec.repo.packs.ready });
    },
  );
  expect(r.error).toBeUndefined();
  const precopied = events.find((e) => e.type === 'step.finished' && e.step === 'precopy');
  expect(precopied?.type === 'step.finished' && precopied.summary).toMatch(/^0 changed files/);
  expect(seen.find((s) => s.step === 'precopy')).toEqual({ step: 'precopy', ready: false });
  expect(seen.find((s) => s.step === 'stop')).toEqual({ step: 'stop', ready: true });
  expect(await isUp(env.url)).toBe(true);
}, 300_000);

// Two configs in one directory share the signing key, and so the directory of walk states: a
// backup to the other repository must not take this one's parent state away (one file per
// component held only the last backup's, and the next backup here walked every path).
test('a backup to another repository in between: the next backup here still carries the settled days', async () => {
  await backup();
  const otherRepo = path.join(path.dirname(env.cfgFile), 'other-repo');
  await env.writeConfig({ repository: { path: otherRepo } });
  try {
    const other = await backup();
    expect(logs(other).join('\n')).toMatch(/the copy walked every directory \(no walk state for the parent snapshot\)/);
  } finally {
    await env.writeConfig();
  }
  const again = await backup();
  expect(logs(again).join('\n')).toMatch(
    /the copy took [1-9]\d* entries of [1-9]\d* settled day directories from the parent/,
  );
  expect(await isUp(env.url)).toBe(true);
}, 300_000);

// A repository with room for this install but not for the whole disk: the first backup scans,
// and the scan leaves a walk state. Its index lists every file without a checksum, so the online
// copy walks every day instead of carrying it from that index (which would look at each file alone).
test('online, after a scan: the copy walks the days whose files the scan could not hash, and the snapshot is whole', async () => {
  const reference = await data(await backup());
  const repoDir = path.join(path.dirname(env.cfgFile), 'scanned-repo');
  await mkdir(repoDir, { recursive: true });
  const free = (await statfs(repoDir)).bavail * (await statfs(repoDir)).bsize;
  await env.writeConfig({ repository: { path: repoDir, reserveBytes: free - 200 * 1024 * 1024 } });
  try {
    const b = await backup();
    const text = logs(b).join('\n');
    expect(text).toMatch(/^info: the scan /m);
    const copy = /the copy took (\d+) entries of (\d+) settled day directories/.exec(text);
    expect(Number(copy?.[2])).toBeGreaterThanOrEqual(2);
    expect(copy?.[1]).toBe('0');
    const d = await data(b);
    expect(d.entries.map((e) => [e.path, e.type, e.sha256])).toEqual(
      reference.entries.map((e) => [e.path, e.type, e.sha256]),
    );
    expect(d.filesRead).toBe(reference.files);
  } finally {
    await env.writeConfig();
  }
  expect(await isUp(env.url)).toBe(true);
}, 300_000);
