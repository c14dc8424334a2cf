/**
 * Memory stays flat: two backups of a 60k-file store in Mattermost's attachment layout run in a
 * process whose old-generation heap is limited to 28 MB (the walk needs about 10 MB live). The
 * index of 60k files takes about 20 MB more in memory: the code before the streamed index, and the
 * same code with only the parent's index collected into an array in tree_component, ran out of
 * heap within seconds. So an index held in memory anywhere on the backup's path (walk, parent
 * lookup, scan, pre-copy, manifest written and loaded back, the manifest's JSON for show --json and
 * GET …/manifest) fails this test. The child runs the
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

test(`backups of ${FILES} files run in a ${HEAP_MB} MB heap; the second reads nothing`, async () => {
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
  ]);
  if (res.code !== 0) {
    throw new Error(`the backup process failed (${res.code ?? res.signal}):\n${res.stderr.slice(-3000)}`);
  }
  const out = JSON.parse(res.stdout) as {
    first: { files: number; filesRead: number };
    second: { id: string; files: number; filesRead: number };
    manifestJson: { bytes: number; sha256: string };
  };
  expect(out.first).toMatchObject({ files: FILES, filesRead: FILES });
  // Against the parent loaded back from its manifest (merge join), through scan and pre-copy.
  expect(out.second).toMatchObject({ files: FILES, filesRead: 0 });
  // The whole manifest's JSON text, streamed in that heap, is exactly the text made in memory here.
  const repo = await Repository.open(await LocalStorage.open(path.join(work, 'repo')));
  const whole = JSON.stringify(await wholeManifest(await repo.loadSnapshot(out.second.id)));
  expect(out.manifestJson).toEqual({
    bytes: Buffer.byteLength(whole),
    sha256: createHash('sha256').update(whole).digest('hex'),
  });
}, 300_000);
