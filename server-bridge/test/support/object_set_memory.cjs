// Run with --expose-gc by test/unit/object_sets_memory.test.ts: adds `count` distinct object names
// to one set (kind: prefix | sorter | string, the Set<string> the flat sets replaced) and prints, as
// JSON, how much memory (JS heap plus array buffers, after a full GC) the set holds: at the end,
// and for the sorter also the most seen while its sorted names are read back.
'use strict';
const path = require('node:path');
const { randomBytes } = require('node:crypto');

const dist = path.resolve(__dirname, '..', '..', 'dist', 'core');
const { PrefixSet } = require(path.join(dist, 'hash_set.js'));
const { HashSorter } = require(path.join(dist, 'hash_sort.js'));

const [kind, countArg, dir] = process.argv.slice(2);
const count = Number(countArg);

function used() {
  global.gc();
  global.gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Distinct names, made from random bytes a block at a time (no name is kept by the generator). */
function* names(n) {
  const block = 4096;
  for (let done = 0; done < n; done += block) {
    const buf = randomBytes(32 * block);
    for (let i = 0; i < block && done + i < n; i++) yield buf.toString('hex', i * 32, i * 32 + 32);
  }
}

async function main() {
  const before = used();
  let held;
  let peak = 0;
  if (kind === 'prefix') {
    const s = new PrefixSet();
    for (const n of names(count)) s.add(n);
    if (s.size !== count) throw new Error(`size ${s.size}`);
    held = s;
  } else if (kind === 'string') {
    const s = new Set();
    for (const n of names(count)) s.add(n);
    held = s;
  } else if (kind === 'sorter') {
    const s = new HashSorter(dir);
    let i = 0;
    for (const n of names(count)) await s.add(n, i++, 100);
    peak = used() - before;
    let k = 0;
    for await (const _ of s.distinct()) {
      if (++k % 250_000 === 0) peak = Math.max(peak, used() - before);
    }
    if (k !== count) throw new Error(`distinct ${k}`);
    await s.dispose();
    held = s;
  } else {
    throw new Error(`unknown kind ${kind}`);
  }
  const after = used() - before;
  process.stdout.write(JSON.stringify({ kind, count, bytes: after, peak: Math.max(peak, after), keep: !!held }));
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack));
  process.exit(1);
});
