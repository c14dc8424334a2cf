// Backs up <tree> into a new repository at <repo> once told to on stdin, after printing
// `ready <threads>` (the threads this process runs then: main, V8's and libuv's, all started).
// The test runs it a second time under RLIMIT_NPROC at exactly that count (prlimit), so that no
// thread more can start: the reading thread and the hash threads fail with EAGAIN. Prints, as
// JSON, the paths and checksums recorded, the warnings and the hash threads alive at the end; then
// restores that list into <restored> (the writer threads make new small files) and prints the
// restore's warnings and the checksums of the files written.
// Usage: node thread_limit_child.cjs <distDir> <tree> <repo> <restored>
'use strict';
const path = require('node:path');
const { mkdir, readFile } = require('node:fs/promises');
const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');

const [dist, tree, repoDir, restored] = process.argv.slice(2);
const { Repository } = require(path.join(dist, 'repository/repository.js'));
const { LocalStorage } = require(path.join(dist, 'storage/local_storage.js'));
const { backupTree } = require(path.join(dist, 'repository/tree_backup.js'));
const { collectEntries } = require(path.join(dist, 'manifest/entry_list.js'));
const { sharedHashPool } = require(path.join(dist, 'repository/hash_pool.js'));
const { restoreTree } = require(path.join(dist, 'repository/tree_restore.js'));
const { WalkPacer } = require(path.join(dist, 'repository/walk_pacer.js'));

(async () => {
  const repo = await Repository.open(await LocalStorage.open(repoDir), { packs: true });
  await repo.prepareWrites();
  await readFile(__filename); // libuv's threads start with the first call that needs them
  const threads = /Threads:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1];
  process.stdout.write(`ready ${threads}\n`);
  await new Promise((resolve) => process.stdin.once('data', resolve));
  process.stdin.pause();
  const r = await backupTree({ root: tree, exclude: [], repo, smallReaderAfter: 0 });
  const entries = await collectEntries(r.entries);
  await repo.packs.flush();
  const out = {
    entries: entries.map((e) => [e.path, e.sha256 ?? null]),
    warnings: r.warnings,
    readByThread: r.readByThread,
    hashThreads: sharedHashPool().threads,
  };
  await mkdir(restored);
  const back = await restoreTree({
    entries,
    root: restored,
    exclude: [],
    mode: 'mirror',
    repo,
    pacer: new WalkPacer({ fixed: 'sync' }),
  });
  out.restoreWarnings = back.warnings;
  out.restored = [];
  for (const e of entries) {
    if (e.type !== 'file') continue;
    const data = await readFile(path.join(restored, e.path));
    out.restored.push([e.path, createHash('sha256').update(data).digest('hex')]);
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
})().catch((e) => {
  process.stdout.write(`${JSON.stringify({ error: String(e && e.stack) })}\n`);
  process.exit(1);
});
