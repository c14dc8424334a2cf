import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { spoolDir } from '../../src/manifest/spool_dir';
import os from 'node:os';
import path from 'node:path';
import { LocalStorage } from '../../src/storage/local_storage';
import { Repository } from '../../src/repository/repository';
import { SummaryStore } from '../../src/repository/summary_store';
import type { Storage } from '../../src/storage/storage';
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

/** The real LocalStorage, counting the manifests read whole (storage.load of a snapshots/ key). */
async function counted(dir: string): Promise<{ storage: Storage; loads: string[] }> {
  const inner = await LocalStorage.open(dir);
  const loads: string[] = [];
  const storage = new Proxy(inner, {
    get(target, prop, receiver) {
      const real = Reflect.get(target, prop, receiver);
      if (typeof real !== 'function') return real;
      if (prop === 'load') {
        return (key: string, ...rest: unknown[]) => {
          if (key.startsWith('snapshots/')) loads.push(key);
          return (real as (...a: unknown[]) => unknown).call(target, key, ...rest);
        };
      }
      return real.bind(target);
    },
  });
  return { storage, loads };
}

test('summaries kept on the host answer the retention and the parent search of a new process, never a listing', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'listing-'));
  const keyFile = path.join(dir, 'state', 'mm-backup-signing.key');
  const repoDir = path.join(dir, 'repo');
  const open = async () => {
    const c = await counted(repoDir);
    const store = SummaryStore.beside(keyFile, c.storage.describe().location);
    return { repo: await Repository.open(c.storage, { summaries: store }), loads: c.loads };
  };
  const A = '20260101T000000Z-aaaaaa';
  const B = '20260102T000000Z-bbbbbb';
  try {
    await mkdir(path.dirname(keyFile));
    await mkdir(repoDir);
    const first = await open();
    await first.repo.writeSnapshot(manifest(A, 'cli', 3));
    await first.repo.writeSnapshot(manifest(B, 'cli', 2));
    // The process that wrote them lists them without reading them back.
    expect((await first.repo.listSnapshotSummaries()).manifests.map((m) => m.id)).toEqual([A, B]);
    expect(first.loads).toEqual([]);

    // A new process: the retention's listing reads no manifest, and its summaries carry the
    // checksum of the bytes in the repository (what a signature check compares).
    const next = await open();
    const kept = await next.repo.listSnapshotSummaries({ kept: true });
    expect(kept.manifests.map((m) => [m.id, m.components[0]?.files])).toEqual([
      [A, 3],
      [B, 2],
    ]);
    expect(next.loads).toEqual([]);
    const bytesOfB = await readFile(path.join(repoDir, 'snapshots', `${B}.json`));
    const shaOfB = createHash('sha256').update(bytesOfB).digest('hex');
    expect(next.repo.manifestOrigin(kept.manifests[1] as Manifest)).toEqual({ keyId: B, sha256: shaOfB });
    // A listing for the admin reads the repository as it is.
    await next.repo.listSnapshotSummaries();
    expect(next.loads).toEqual([`snapshots/${A}.json`, `snapshots/${B}.json`]);

    // The parent search reads the newest manifest once, whole (it read it twice: a summary, then whole).
    const third = await open();
    const parent = await third.repo.newestSnapshot((m) => m.installDir === '/opt/mattermost');
    expect(parent?.id).toBe(B);
    expect(parent?.components[0]?.entries).toHaveLength(2);
    expect(third.loads).toEqual([`snapshots/${B}.json`]);

    // B replaced by someone else (another size): read again, by the retention too.
    const other = path.join(dir, 'other');
    await mkdir(other);
    await (await Repository.open(await LocalStorage.open(other))).writeSnapshot(manifest(B, 'cli', 7));
    await copyFile(path.join(other, 'snapshots', `${B}.json`), path.join(repoDir, 'snapshots', `${B}.json`));
    const fourth = await open();
    const after = await fourth.repo.listSnapshotSummaries({ kept: true });
    expect(after.manifests.map((m) => m.components[0]?.files)).toEqual([3, 7]);
    expect(fourth.loads).toEqual([`snapshots/${B}.json`]);
    // A parent whose kept summary no longer matches the manifest is matched again on the whole one.
    const fifth = await open();
    await writeFile(
      path.join(repoDir, 'snapshots', `${B}.json`),
      (await readFile(path.join(repoDir, 'snapshots', `${B}.json`), 'utf8')).replace(
        '"installDir":"/opt/mattermost"',
        '"installDir":"/opt/mattermosX"',
      ),
    );
    const older = await fifth.repo.newestSnapshot((m) => m.installDir === '/opt/mattermost');
    expect(older?.id).toBe(A);

    // Deleting a snapshot drops its kept summary.
    await fifth.repo.deleteSnapshot(A);
    const names = await readdir(path.join(dir, 'state', 'mm-backup-summaries'));
    expect(names.some((n) => n.includes(A))).toBe(false);
    expect(names.some((n) => n.includes(B))).toBe(true);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
