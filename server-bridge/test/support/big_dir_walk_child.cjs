// Walks a tree through the built code (dist/) in a process the test starts with a small heap,
// checking on the way that every path comes in strictly ascending UTF-16 order: a directory
// listed whole in memory makes it run out of heap. Prints one JSON line with what it saw.
// Usage: node --max-old-space-size=N big_dir_walk_child.cjs <distDir> <treeRoot> [sync|async]
'use strict';
const path = require('node:path');
const { statusBytes } = require('./proc_status.cjs');
const { wholeTree } = require('./whole_tree.cjs');

const [dist, root, mode] = process.argv.slice(2);
const { orderedWalk } = require(path.join(dist, 'repository/ordered_walk.js'));
const { WalkPacer } = require(path.join(dist, 'repository/walk_pacer.js'));
const { spoolDir } = require(path.join(dist, 'manifest/spool_dir.js'));
const { readdirSync } = require('node:fs');

/** Files of a directory sorted on disk, in this process's spool directory. */
const spills = async () => readdirSync(await spoolDir()).filter((n) => n.startsWith('names-')).length;

let peakHeapMb = 0;
const sampler = setInterval(() => {
  peakHeapMb = Math.max(peakHeapMb, process.memoryUsage().heapUsed / 2 ** 20);
}, 100);

(async () => {
  const t0 = Date.now();
  let count = 0;
  let prev;
  let spillsDuring = 0;
  for await (const item of orderedWalk(wholeTree(root, new WalkPacer(mode ? { fixed: mode } : {})))) {
    if (item.listed) await item.listed;
    if (prev !== undefined && !(prev < item.rel)) throw new Error(`out of order: ${prev} then ${item.rel}`);
    prev = item.rel;
    if (++count === 1000) spillsDuring = await spills();
  }
  const spillsAfter = await spills();
  clearInterval(sampler);
  const peakRssMb = statusBytes('VmHWM') / 2 ** 20;
  process.stdout.write(
    `${JSON.stringify({ count, ms: Date.now() - t0, peakRssMb, peakHeapMb, spillsDuring, spillsAfter })}\n`,
  );
})().catch((err) => {
  clearInterval(sampler);
  process.stderr.write(`${err && err.stack ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
