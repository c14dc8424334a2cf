import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { spoolDir } from '../../src/manifest/spool_dir';
import os from 'node:os';
import path from 'node:path';
import { LocalStorage } from '../../src/storage/local_storage';
import { Repository } from '../../src/repository/repository';
import type { Manifest } from '../../src/manifest/manifest';
import { dataManifest } from '../support/manifests';

/** `files` files naming one object, as listings never read them. */
const manifest = (id: string, trigger: Manifest['trigger'], files: number): Manifest =>
  dataManifest(
    id,
    Array.from({ length: files }, () => ({ sha256: 'a'.repeat(64), size: 1 })),
    trigger,
  );

test('summaries drop the file index, follow deletions, and "latest" skips safety snapshots', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'listing-'));
  try {
    const repo = await Repository.open(await LocalStorage.open(dir));
    await repo.writeSnapshot(manifest('20260101T000000Z-aaaaaa', 'cli', 3));
    await repo.writeSnapshot(manifest('20260102T000000Z-bbbbbb', 'safety', 2));
    const first = await repo.listSnapshotSummaries();
    expect(first.manifests.map((m) => m.id)).toEqual(['20260101T000000Z-aaaaaa', '20260102T000000Z-bbbbbb']);
    expect(first.manifests[0]?.components[0]?.entries).toEqual([]);
    expect(first.manifests[0]?.components[0]?.files).toBe(3);
    expect((await repo.loadSnapshot('latest')).id).toBe('20260101T000000Z-aaaaaa');
    expect((await repo.loadSnapshot('latest')).components[0]?.entries).toHaveLength(3); // the full manifest
    await repo.deleteSnapshot('20260101T000000Z-aaaaaa');
    expect((await repo.listSnapshotSummaries()).manifests.map((m) => m.id)).toEqual(['20260102T000000Z-bbbbbb']);
    expect((await repo.loadSnapshot('latest')).id).toBe('20260102T000000Z-bbbbbb');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a newest manifest whose file index is damaged is skipped when looking for the parent', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'listing-'));
  try {
    const repo = await Repository.open(await LocalStorage.open(dir));
    await repo.writeSnapshot(manifest('20260101T000000Z-aaaaaa', 'cli', 3));
    await repo.writeSnapshot(manifest('20260102T000000Z-bbbbbb', 'cli', 3));
    const file = path.join(dir, 'snapshots', '20260102T000000Z-bbbbbb.json');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('{"path":"f1"', '{"path":"f1",,'));
    const parent = await repo.newestSnapshot((m) => m.installDir === '/opt/mattermost');
    expect(parent?.id).toBe('20260101T000000Z-aaaaaa');
    expect(parent?.components[0]?.entries).toHaveLength(3);
    await expect(repo.loadSnapshot('20260102T000000Z-bbbbbb')).rejects.toThrow(/not valid JSON/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('forEachSnapshot spools one file index at a time, releases each, and names the damaged ones', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'listing-'));
  const spools = async () => (await readdir(await spoolDir())).filter((n) => n.startsWith('manifest-')).length;
  try {
    const repo = await Repository.open(await LocalStorage.open(dir));
    const ids = ['20260101T000000Z-aaaaaa', '20260102T000000Z-bbbbbb', '20260103T000000Z-cccccc'];
    for (const id of ids) await repo.writeSnapshot(manifest(id, 'cli', 3));
    const file = path.join(dir, 'snapshots', `${ids[1]}.json`);
    await writeFile(file, (await readFile(file, 'utf8')).replace('"sha256":"a', '"sha256":"z'));
    const before = await spools();
    const seen: Array<[string, number, number]> = [];
    const broken = await repo.forEachSnapshot(async (m) => {
      let n = 0;
      for await (const _ of m.components[0]?.entries ?? []) n++;
      seen.push([m.id, n, (await spools()) - before]);
    });
    expect(seen).toEqual([
      [ids[0], 3, 1],
      [ids[2], 3, 1],
    ]);
    expect(broken.map((b) => b.id)).toEqual([ids[1]]);
    expect(await spools()).toBe(before);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
