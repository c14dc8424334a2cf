/**
 * Memory stays flat: two backups of a 60k-file store in Mattermost's attachment layout run in a
 * process whose old-generation heap is limited to 28 MB (the walk needs about 10 MB live). The
 * index of 60k files takes about 20 MB more in memory: the code before the streamed index, and the
 * same code with only the parent's index collected into an array in tree_component, ran out of
 * heap within seconds. So an index held in memory anywhere on the backup's path (walk, parent
 * lookup, scan, pre-copy, manifest written and loaded back, the manifest's JSON for show --json and
 * GET …/manifest) fails this test; so does one kept while the snapshot is restored into a new
 * directory (in the same heap). The child runs the
 * built code (dist/), like the CLI tests: rebuild before running it.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { wholeManifest } from '../../src/manifest/whole_manifest';
import { Repository } from '../../src/repository/repository';
import { LocalStorage } from '../../src/storage/local_storage';
import { DIST, runNode, SUPPORT } from '../support/memory_child';

const FILES = 60_000;
const HEAP_MB = 28;
// A small young generation: by default it grows to tens of MB, which under so small a limit makes
// V8 collect the whole heap over and over (the run took minutes instead of seconds).
const SEMI_SPACE_MB = 2;

let work: string;
beforeEach(async () => {
  // Many tiny files: on tmpfs where there is one, so that making them does not take most of the test's time.
  work = await mkdtemp(path.join(existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'tree-memory-'));
});
afterEach(() => rm(work, { recursive: true, force: true }));

test(`backups of ${FILES} files and their restore run in a ${HEAP_MB} MB heap; the second backup reads nothing`, async () => {
  const tree = path.join(work, 'data-root');
  const made = await runNode([path.join(SUPPORT, 'attachment_tree.cjs'), tree, String(FILES), 'shared']);
  expect(made.code).toBe(0);
  const res = await runNode([
    `--max-old-space-size=${HEAP_MB}`,
    `--max-semi-space-size=${SEMI_SPACE_MB}`,
    path.join(SUPPORT, 'tree_memory_child.cjs'),
    DIST,
    tree,
    path.join(work, 'repo'),
    path.join(work, 'restored'),
  ]);
  if (res.code !== 0) {
    throw new Error(`the backup process failed (${res.code ?? res.signal}):\n${res.stderr.slice(-3000)}`);
  }
  const out = JSON.parse(res.stdout) as {
    first: { files: number; filesRead: number };
    second: { id: string; files: number; filesRead: number };
    manifestJson: { bytes: number; sha256: string };
    restored: { written: number; unchanged: number; removed: number; bytes: number };
    peakHeapMb: number;
  };
  expect(out.first).toMatchObject({ files: FILES, filesRead: FILES });
  // Against the parent loaded back from its manifest (merge join), through scan and pre-copy.
  expect(out.second).toMatchObject({ files: FILES, filesRead: 0 });
  // Restored into a new directory in the same heap: every file written.
  expect(out.restored).toMatchObject({ written: FILES, unchanged: 0, removed: 0 });
  // The whole manifest's JSON text, streamed in that heap, is exactly the text made in memory here.
  const repo = await Repository.open(await LocalStorage.open(path.join(work, 'repo')));
  const whole = JSON.stringify(await wholeManifest(await repo.loadSnapshot(out.second.id)));
  expect(out.manifestJson).toEqual({
    bytes: Buffer.byteLength(whole),
    sha256: createHash('sha256').update(whole).digest('hex'),
  });
}, 300_000);

// What a restore keeps in mind per directory (which it made, which it checked) must not grow
// with the tree: 40k directories of a new install (made in path order, a file in each) leave
// less than 1 MB more live heap; keeping every directory's name took 6.6 MB.
test('a restore keeps the directories it is working in in mind, not every directory it made', async () => {
  const N = 40_000;
  const res = await runNode([
    '--expose-gc',
    path.join(SUPPORT, 'contained_tree_memory.cjs'),
    DIST,
    path.join(work, 'new-install'),
    String(N),
  ]);
  if (res.code !== 0) throw new Error(`the child failed (${res.code ?? res.signal}):\n${res.stderr.slice(-3000)}`);
  const out = JSON.parse(res.stdout) as { grewBytes: number; fresh: boolean };
  expect(out.fresh).toBe(true); // the directory worked in is still known as made here
  expect(out.grewBytes).toBeLessThan(1024 * 1024);
}, 120_000);
