/**
 * The "restoring by hand" block of docs/commands.md, run as written (only its three settings replaced):
 * a snapshot restores with bash, jq, zstd and pg_restore alone, without mm-backup.
 */
import { spawnSync } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { parseDsn } from '../../src/database/dsn';
import { findPgBinDir } from '../../src/database/pg_tools';
import { tableDigests } from '../support/db_rows';
import { describeTree } from '../support/tree_snapshot';
import { setupE2E, type E2E } from '../support/e2e_env';

let env: E2E;
beforeAll(async () => {
  env = await setupE2E('postgres');
}, 240_000);
afterAll(async () => {
  await env?.cleanup();
});

async function readmeBlock(): Promise<string> {
  const readme = await readFile(path.resolve(__dirname, '../../../docs/commands.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## The repository, and restoring by hand'));
  const m = /```sh\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error('docs/commands.md has no restore-by-hand block');
  return m[1] as string;
}

test('the restore-by-hand procedure of docs/commands.md restores the database and the file store without mm-backup', async () => {
  const b = await env.cli('backup', '--mode', 'online');
  expect(b.code).toBe(0);
  const id = b.summary?.snapshot.id as string;
  const rows = await tableDigests(env.sb.dbUrl);
  const dataDir = path.join(env.sb.installDir, 'data');
  const files = Object.fromEntries(
    Object.entries(await describeTree(dataDir))
      .filter(([, v]) => v.startsWith('file'))
      .map(([k, v]) => [k, v.split(' ')[1]]),
  );

  // Disaster: the attachments and the database are gone; an empty database is made by hand.
  await rm(dataDir, { recursive: true });
  await env.db.query('postgres', 'CREATE DATABASE by_hand');
  const target = { ...parseDsn(env.db.adminUrl('by_hand')) };
  const block = (await readmeBlock())
    .replace(/^R=.*$/m, `R=${env.repo}`)
    .replace(/^S=.*$/m, `S=$R/snapshots/${id}.json`)
    .replace(/^DB=.*$/m, `DB=postgres://${target.user}@${target.host}:${target.port}/by_hand`);
  const run = spawnSync('bash', ['-euo', 'pipefail', '-c', block], {
    encoding: 'utf8',
    env: { ...process.env, PGPASSWORD: target.password, PATH: `${findPgBinDir() ?? ''}:${process.env.PATH ?? ''}` },
  });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(await tableDigests(env.db.adminUrl('by_hand'))).toEqual(rows);
  const restored = Object.fromEntries(
    Object.entries(await describeTree(dataDir))
      .filter(([, v]) => v.startsWith('file'))
      .map(([k, v]) => [k, v.split(' ')[1]]),
  );
  expect(restored).toEqual(files);
});
