/**
 * The "restoring by hand" block of docs/commands.md, run as written (only its three settings
 * replaced) against a repository whose objects are partly in packs made by PackWriter and partly
 * plain objects/ files: every file comes back byte for byte, and the database object (packed) reaches
 * pg_restore decompressed. pg_restore is a stand-in that records its arguments and input (the real
 * one against a real database runs in test/e2e/restore_by_hand.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { packKey } from '../../src/repository/layout';
import { storePack } from '../../src/repository/pack_store';
import { PackWriter } from '../../src/repository/pack_writer';
import { Repository } from '../../src/repository/repository';
import { LocalStorage } from '../../src/storage/local_storage';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'by-hand-packs-'));
});
afterEach(() => rm(work, { recursive: true, force: true }));

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function readmeBlock(): Promise<string> {
  const readme = await readFile(path.resolve(__dirname, '../../../docs/commands.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## The repository, and restoring by hand'));
  const m = /```sh\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error('docs/commands.md has no restore-by-hand block');
  return m[1] as string;
}

/** Runs the documented block against repository `repo`, snapshot `id`; pg_restore records into `work`. */
async function runBlock(repo: string, id: string): Promise<ReturnType<typeof spawnSync>> {
  const bin = path.join(work, 'bin');
  await mkdir(bin, { recursive: true });
  await writeFile(
    path.join(bin, 'pg_restore'),
    `#!/bin/sh\nprintf '%s\\n' "$@" > "${work}/pg_restore.args"\ncat > "${work}/pg_restore.in"\n`,
  );
  await chmod(path.join(bin, 'pg_restore'), 0o755);
  const block = (await readmeBlock())
    .replace(/^R=.*$/m, `R=${repo}`)
    .replace(/^S=.*$/m, `S=$R/snapshots/${id}.json`)
    .replace(/^DB=.*$/m, 'DB=postgres://nobody@localhost:1/by_hand');
  return spawnSync('bash', ['-euo', 'pipefail', '-c', block], {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` },
  });
}

test('the documented recipe restores objects from packs and from object files alike', async () => {
  const repoDir = path.join(work, 'repo');
  const storage = await LocalStorage.open(repoDir);
  const repo = await Repository.open(storage);
  const staging = storage.describe().local!.tempDir;
  await mkdir(staging, { recursive: true });
  const root = path.join(work, 'restored', 'data');

  // Files: empty, tiny, ones with newlines and NULs, the largest a pack holds, in two packs; one
  // plain object (what every repository holds today); one content both packed and plain.
  const dump = Buffer.from(`PGDMP fake custom-format dump\n${randomBytes(5000).toString('base64')}`);
  const zstd = spawnSync('zstd', ['-q', '-c'], { input: dump });
  expect(zstd.status).toBe(0);
  const dumpObject = zstd.stdout;
  const files: Record<string, Buffer> = {
    'empty.txt': Buffer.alloc(0),
    'a/one.txt': Buffer.from('1'),
    'a/lines.txt': Buffer.from('line one\nline two\n\n'),
    'a/b/nul.bin': Buffer.from([0, 1, 0, 255, 10, 0]),
    'big.bin': randomBytes(128 * 1024),
    'a/name with spaces.jpg': randomBytes(3000),
    'plain.bin': randomBytes(70_000),
    'both.bin': randomBytes(999),
  };
  const packed = Object.keys(files).filter((f) => f !== 'plain.bin');
  const first = PackWriter.open(staging, { bufferSize: 4096 });
  first.addSync(sha(dumpObject), dumpObject);
  for (const f of packed.slice(0, 4)) first.addSync(sha(files[f]!), files[f]!);
  const p1 = first.finishSync();
  await storePack(storage, p1);
  const second = PackWriter.open(staging);
  for (const f of packed.slice(4)) await second.add(sha(files[f]!), files[f]!);
  const p2 = await second.finish();
  await storePack(storage, p2);
  // Plain objects the way mm-backup writes them.
  for (const f of ['plain.bin', 'both.bin']) {
    await writeFile(path.join(work, 'src'), files[f]!);
    await repo.ingestFile(path.join(work, 'src'));
  }
  expect((await readFile(path.join(repoDir, ...packKey(p1.packSha).split('/')))).length).toBe(p1.size);

  const id = '20260101T030000Z-a1b2c3';
  const manifest = {
    id,
    components: [
      {
        id: 'database',
        database: { driver: 'postgres', format: 'pg_custom', compression: 'zstd', object: sha(dumpObject) },
      },
      {
        id: 'data',
        root,
        entries: [
          { path: 'a', type: 'dir' },
          ...Object.entries(files).map(([p, b]) => ({ path: p, type: 'file', size: b.length, sha256: sha(b) })),
        ],
      },
    ],
  };
  await mkdir(path.join(repoDir, 'snapshots'), { recursive: true });
  await writeFile(path.join(repoDir, 'snapshots', `${id}.json`), JSON.stringify(manifest));

  const run = await runBlock(repoDir, id);
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  for (const [p, b] of Object.entries(files)) {
    expect({ p, sha: sha(await readFile(path.join(root, p))) }).toEqual({ p, sha: sha(b) });
  }
  expect((await readFile(path.join(work, 'pg_restore.in'))).equals(dump)).toBe(true);
  expect((await readFile(path.join(work, 'pg_restore.args'), 'utf8')).split('\n')).toEqual([
    '--no-owner',
    '--no-privileges',
    '--exit-on-error',
    '-d',
    'postgres://nobody@localhost:1/by_hand',
    '',
  ]);
});

test('an object in no object file and no pack stops the recipe with its name', async () => {
  const repoDir = path.join(work, 'repo');
  await Repository.open(await LocalStorage.open(repoDir));
  const missing = sha(Buffer.from('never stored'));
  const id = '20260101T030000Z-a1b2c3';
  await mkdir(path.join(repoDir, 'snapshots'), { recursive: true });
  await writeFile(
    path.join(repoDir, 'snapshots', `${id}.json`),
    JSON.stringify({
      id,
      components: [
        { id: 'database', database: { object: missing } },
        { id: 'data', root: work, entries: [] },
      ],
    }),
  );
  const run = await runBlock(repoDir, id);
  expect(run.status).not.toBe(0);
  expect(run.stderr).toContain(`object ${missing} is in no object file and no pack`);
});
