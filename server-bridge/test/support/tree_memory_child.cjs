// Backs up a big tree twice through the built code (dist/) the way a backup job does (a tree
// component's estimate, pre-copy and copy; the manifest written, then loaded back as the parent),
// in a process the test starts with a small heap: an index of the files held in memory anywhere
// on that path makes it run out of heap. Prints one JSON line with what it saw.
// Then restores the second snapshot into <restoreDir>, in the same heap.
// Usage: node --max-old-space-size=N tree_memory_child.cjs <distDir> <treeRoot> <repoDir> <restoreDir>
'use strict';
const path = require('node:path');
const { statusBytes } = require('./proc_status.cjs');

const [dist, tree, repoDir, restoreTo] = process.argv.slice(2);
const { TreeComponent } = require(path.join(dist, 'components/tree_component.js'));
const { Repository } = require(path.join(dist, 'repository/repository.js'));
const { LocalStorage } = require(path.join(dist, 'storage/local_storage.js'));
const { newSnapshotId } = require(path.join(dist, 'core/ids.js'));
const { FORMAT_VERSION } = require(path.join(dist, 'manifest/manifest.js'));
const { manifestJsonChunks } = require(path.join(dist, 'manifest/manifest_json.js'));
const { restoreTree } = require(path.join(dist, 'repository/tree_restore.js'));
const { createHash } = require('node:crypto');

const step = { signal: new AbortController().signal, progress: () => undefined, log: () => undefined };
const peakRssMb = () => statusBytes('VmHWM') / 2 ** 20;

/** One snapshot of the tree: offline runs the pre-copy between the scan and the copy, as a job does. */
async function snapshot(repo, parent, mode) {
  const previous = parent?.components[0];
  const plan = { id: 'data', title: 'File store', kind: 'tree', status: 'included', root: tree, exclude: [] };
  const c = new TreeComponent(plan, path.dirname(tree));
  await c.estimate(previous);
  if (mode === 'offline') await c.precopy({ repo, step, mode, previous });
  const rec = await c.backup({ repo, step, mode, previous });
  const now = new Date().toISOString();
  const id = newSnapshotId();
  await repo.writeSnapshot({
    format: 'mm-backup-snapshot',
    formatVersion: FORMAT_VERSION,
    id,
    parent: parent?.id,
    startedAt: now,
    finishedAt: now,
    mode,
    trigger: 'cli',
    host: 'test',
    installDir: path.dirname(tree),
    mattermost: { configSource: 'file', fileDriver: 'local' },
    components: [rec],
    stats: {
      files: rec.files,
      bytes: rec.bytes,
      newBytes: rec.newBytes,
      filesRead: rec.filesRead,
      durationMs: 0,
      downtimeMs: 0,
    },
  });
  return { id, files: rec.files, filesRead: rec.filesRead };
}

// The largest heap seen (sampled): with a flat index it stays far below the limit the test sets.
let peakHeapMb = 0;
const sampler = setInterval(() => {
  peakHeapMb = Math.max(peakHeapMb, process.memoryUsage().heapUsed / 2 ** 20);
}, 100);

(async () => {
  const repo = await Repository.open(await LocalStorage.open(repoDir));
  const t0 = Date.now();
  const first = await snapshot(repo, undefined, 'online');
  const t1 = Date.now();
  process.stderr.write(`first snapshot done: ${JSON.stringify(first)}\n`);
  const second = await snapshot(repo, await repo.loadSnapshot(first.id), 'offline');
  const t2 = Date.now();
  // The whole manifest as JSON text (show --json, GET …/manifest), hashed as it streams: the
  // test compares it with the text made in memory, which this heap could not hold.
  const hash = createHash('sha256');
  let jsonBytes = 0;
  for await (const chunk of manifestJsonChunks(await repo.loadSnapshot(second.id))) {
    hash.update(chunk);
    jsonBytes += Buffer.byteLength(chunk);
  }
  const manifestJson = { bytes: jsonBytes, sha256: hash.digest('hex') };
  // The snapshot restored into a new directory in the same heap: nothing per file or per
  // directory may be kept in mind (the restore's passes stream the index).
  const t3 = Date.now();
  const record = (await repo.loadSnapshot(second.id)).components[0];
  const restored = await restoreTree({
    entries: record.entries,
    root: restoreTo,
    exclude: [],
    mode: 'mirror',
    repo,
  });
  const t4 = Date.now();
  clearInterval(sampler);
  process.stdout.write(
    `${JSON.stringify({ first, second, manifestJson, restored, firstMs: t1 - t0, secondMs: t2 - t1, restoreMs: t4 - t3, peakRssMb: peakRssMb(), peakHeapMb })}\n`,
  );
})().catch((err) => {
  clearInterval(sampler);
  process.stderr.write(`${err && err.stack ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
