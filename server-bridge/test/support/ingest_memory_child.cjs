// Stores the files a test made through the built code (dist/) the way a backup does
// (Repository.ingestFile, 16 at a time, each with its listed size) and reports how far the
// process's resident memory rose meanwhile: the kernel's high-water mark (VmHWM), which no peak
// escapes, reset after a warm-up that starts the hash pool's workers. Prints one JSON line.
// Usage: node ingest_memory_child.cjs <distDir> <repoDir> <file>...
'use strict';
const { statSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const { statusBytes: status } = require('./proc_status.cjs');

const [dist, repoDir, ...files] = process.argv.slice(2);
const { Repository } = require(path.join(dist, 'repository/repository.js'));
const { LocalStorage } = require(path.join(dist, 'storage/local_storage.js'));
const { TaskPool } = require(path.join(dist, 'core/pool.js'));

(async () => {
  const repo = await Repository.open(await LocalStorage.open(repoDir));
  // Warm-up: files just over the inline size go to the workers; two at once start both of a
  // 2-core pool (and the staging directory, the object store's first directories).
  const warm = files.filter((f) => path.basename(f).startsWith('warm'));
  await Promise.all(warm.map((f) => repo.ingestFile(f, { size: statSync(f).size })));
  global.gc?.();
  // Linux resets VmHWM to the current RSS on "5" (since 4.0); without it, the current RSS is the base.
  let reset = true;
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    reset = false;
  }
  const base = reset ? status('VmHWM') : status('VmRSS');
  const pool = new TaskPool(16);
  const stored = {};
  for (const f of files) {
    if (warm.includes(f)) continue;
    await pool.add(async () => {
      stored[path.basename(f)] = (await repo.ingestFile(f, { size: statSync(f).size })).sha256;
    });
  }
  await pool.drain();
  process.stdout.write(`${JSON.stringify({ reset, baseBytes: base, peakBytes: status('VmHWM'), stored })}\n`);
  process.exit(0);
})().catch((err) => {
  process.stderr.write(`${err && err.stack ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
