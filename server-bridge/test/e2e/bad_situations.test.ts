/**
 * Bad situations get a clear answer, and nothing is made worse: a damaged manifest, a repository
 * that lost its marker, a tmp/ that is a symlink, a database server that is down, an undo that
 * fails. Real PostgreSQL, the built CLI, the stand-in, real files.
 */
import { mkdir, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { isUp, setupE2E, type E2E } from '../support/e2e_env';

let env: E2E;
let snapshot: string;
beforeAll(async () => {
  env = await setupE2E('postgres', { size: { attachments: 4, attachmentBytes: 20_000 } });
  const b = await env.cli('backup', '--mode', 'online');
  if (b.code !== 0) throw new Error(`backup failed: ${b.stderr}`);
  snapshot = b.summary?.snapshot.id as string;
}, 240_000);
afterAll(async () => {
  await env?.cleanup();
});

test('verify of a manifest that does not parse: exit 4 (verification failed), naming the manifest', async () => {
  const id = snapshot.replace(/-[0-9a-f]{6}$/, '-dddddd');
  const file = path.join(env.repo, 'snapshots', `${id}.json`);
  await writeFile(file, '{ "id": "truncated');
  try {
    const r = await env.cli('verify', id);
    expect(r.code).toBe(4);
    expect(r.summary?.error.code).toBe('VERIFICATION_FAILED');
    expect(r.stderr).toMatch(new RegExp(`manifest snapshots/${id}\\.json is not valid JSON`));
    expect(r.stderr).not.toMatch(/\n\s+at /);
  } finally {
    await rm(file, { force: true });
  }
});

test('a repository with snapshots but no repository.json: refused with an explanation, never re-created', async () => {
  const marker = path.join(env.repo, 'repository.json');
  await rename(marker, `${marker}.aside`);
  try {
    for (const cmd of [['list'], ['backup', '--mode', 'online']]) {
      const r = await env.cli(...cmd);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/holds mm-backup data \(.+\) but no repository\.json: the repository marker is missing/);
      expect(r.stderr).toMatch(/hint: check that repository\.path points at the repository you mean/);
      expect(await readdir(env.repo)).not.toContain('repository.json');
    }
    expect(await isUp(env.url)).toBe(true);
  } finally {
    await rename(`${marker}.aside`, marker);
  }
  expect((await env.cli('list')).code).toBe(0);
});

test('repository/tmp that is a symlink: refused, and what it points at is left alone', async () => {
  const tmp = path.join(env.repo, 'tmp');
  const victim = path.join(env.root, 'precious');
  await mkdir(victim, { recursive: true });
  await writeFile(path.join(victim, 'keep-me.txt'), "not mm-backup's");
  await rm(tmp, { recursive: true, force: true });
  await symlink(victim, tmp);
  try {
    const r = await env.cli('backup', '--mode', 'online');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/tmp is a symbolic link: mm-backup keeps its temporary files there and empties it/);
    expect(await readFile(path.join(victim, 'keep-me.txt'), 'utf8')).toBe("not mm-backup's");
    expect(await isUp(env.url)).toBe(true);
  } finally {
    await rm(tmp);
    await mkdir(tmp, { mode: 0o700 });
  }
});

test('verify --deep with the database server down says so (host:port, connection refused), not "give the user createdb"', async () => {
  await env.db.stop();
  try {
    const r = await env.cli('verify', snapshot, '--deep');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot connect to the database server 127\.0\.0\.1:\d+: connection refused/);
    expect(r.stderr).toMatch(/hint: check that the database server is running/);
    expect(r.stderr).not.toMatch(/createdb|create databases/);
  } finally {
    await env.db.start();
  }
  const ok = await env.cli('verify', snapshot, '--deep');
  expect(ok.code).toBe(0);
});

// An immutable file (chattr +i) cannot be removed even by root: a real mid-restore failure.
const chattr = spawnSync('chattr', ['--help']).error === undefined;
test('an undo that fails: the error names what could NOT be put back and the safety snapshot', async () => {
  expect(chattr).toBe(true); // e2fsprogs is installed wherever these tests run (.ci/run)
  // pg_restore works once (the restore itself), then fails (the undo's): two real processes.
  const bin = path.join(env.root, 'undo-fails-bin');
  await mkdir(bin, { recursive: true });
  for (const t of ['pg_dump', 'psql']) {
    await symlink(path.join(env.db.binDir, t), path.join(bin, t)).catch(() => undefined);
  }
  const count = path.join(bin, 'count');
  await writeFile(
    path.join(bin, 'pg_restore'),
    `#!/bin/sh
n=$(($(cat "${count}" 2>/dev/null || echo 0) + 1)); echo $n > "${count}"
if [ $n -gt 1 ]; then echo "pg_restore: error: simulated failure of the undo" >&2; exit 1; fi
exec "${env.db.binDir}/pg_restore" "$@"
`,
    { mode: 0o755 },
  );
  const victim = path.join(env.sb.installDir, 'data', 'immutable.bin');
  await writeFile(victim, 'added after the backup, and immutable');
  expect(spawnSync('chattr', ['+i', victim]).status).toBe(0);
  await env.writeConfig({ database: { adminUrl: env.db.adminUrl(env.sb.dbName), pgBinDir: bin } });
  try {
    const r = await env.cli('restore', snapshot, '--yes');
    expect(r.code).toBe(1);
    expect(r.events.some((e) => e.type === 'undo.failed' && e.step === 'restore-database')).toBe(true);
    // Components whose undo worked are named as put back, the others as NOT put back.
    expect(r.stderr).toMatch(
      /\. ([\w, ]*\b)?database\b[\w, ]* could NOT be put back and may be half-restored \([\w, ]+ (was|were) put back\)/,
    );
    expect(r.stderr).toMatch(
      /Safety snapshot (\d{8}T\d{6}Z-[0-9a-f]{6}) holds the state before the restore: mm-backup restore \1 --components [\w,]*database/,
    );
    expect(r.stderr).toMatch(/Undoing it failed for: Restore .*simulated failure of the undo/);
    expect(r.stderr).not.toMatch(/components touched so far were put back/);
    expect(await isUp(env.url)).toBe(true);
  } finally {
    spawnSync('chattr', ['-i', victim]);
    await rm(victim, { force: true });
    await env.writeConfig();
  }
}, 240_000);
