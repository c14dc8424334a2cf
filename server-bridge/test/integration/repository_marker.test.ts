/**
 * One marker shape for the local repository and the off-site copy (repository/marker.ts), and
 * repositories made before it still open: an old local marker (no `encryption`) is read as an
 * unencrypted repository and left as it is.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { LocalStorage } from '../../src/storage/local_storage';
import { MemoryStorage } from '../../src/storage/memory_storage';
import { Repository } from '../../src/repository/repository';
import { readMarker } from '../../src/repository/marker';
import { MARKER_KEY } from '../../src/repository/layout';
import { dataManifest } from '../support/manifests';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'marker-'));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

test('a new repository gets the one marker shape, unencrypted', async () => {
  await Repository.open(await LocalStorage.open(dir));
  const m = JSON.parse(await readFile(path.join(dir, MARKER_KEY), 'utf8'));
  expect(Object.keys(m).sort()).toEqual(['createdAt', 'encryption', 'format', 'id', 'version']);
  expect(m).toMatchObject({ format: 'mm-backup-repository', version: 1, encryption: 'none' });
  expect(m.id).toMatch(/^[0-9a-f]{32}$/);
});

test('a repository with an old-shape marker (before the shapes were unified) opens, lists and restores; its marker is kept', async () => {
  const first = await Repository.open(await LocalStorage.open(dir));
  const obj = await first.ingest(Readable.from([Buffer.from('old content')]));
  await first.writeSnapshot(dataManifest('20250101T000000Z-aaaaaa', [obj]));
  const old = `${JSON.stringify({ format: 'mm-backup-repository', version: 1, id: 'ab'.repeat(16), createdAt: '2025-01-01T00:00:00.000Z' }, null, 2)}\n`;
  await writeFile(path.join(dir, MARKER_KEY), old);

  const repo = await Repository.open(await LocalStorage.open(dir));
  expect((await repo.listSnapshots()).manifests.map((m) => m.id)).toEqual(['20250101T000000Z-aaaaaa']);
  await repo.copyObjectTo(obj.sha256, path.join(dir, 'restored'));
  expect(await readFile(path.join(dir, 'restored'), 'utf8')).toBe('old content');
  expect(await readFile(path.join(dir, MARKER_KEY), 'utf8')).toBe(old);
  expect(await readMarker(repo.storage)).toMatchObject({ id: 'ab'.repeat(16), encryption: 'none' });
});

test('a marker that is not ours is refused, not overwritten', async () => {
  const storage = new MemoryStorage();
  await storage.put(MARKER_KEY, Buffer.from('{"format":"something-else"}'));
  await expect(Repository.open(storage)).rejects.toMatchObject({
    code: 'PRECONDITION_FAILED',
    message: expect.stringMatching(/not an mm-backup repository marker/),
  });
  expect(await readMarker(new MemoryStorage())).toBeUndefined();
});
