// Drops owners of NameFiles (the files of object names on local disk) without closing them and
// counts this process's open descriptors before and after a garbage collection: the NameFile's
// FinalizationRegistry must close each one. Also closes one explicitly, lets another file take
// its descriptor number, and checks the collection leaves that file open. Prints one JSON line.
// Usage: node --expose-gc name_file_gc_child.cjs <distDir>
'use strict';
const { randomBytes } = require('node:crypto');
const { closeSync, fstatSync, openSync, readdirSync, readlinkSync } = require('node:fs');
const path = require('node:path');

const [dist] = process.argv.slice(2);
const { NameFile } = require(path.join(dist, 'repository/name_file.js'));
const { PackIndexBuilder } = require(path.join(dist, 'repository/pack_index.js'));

const link = (n) => {
  try {
    return readlinkSync(`/proc/self/fd/${n}`);
  } catch {
    return '';
  }
};
const fds = () => readdirSync('/proc/self/fd').length;
const tick = () => new Promise((r) => setTimeout(r, 10));

async function collect() {
  // Finalizers run in a later task than the collection that found their targets dead.
  for (let i = 0; i < 5; i++) {
    global.gc();
    await tick();
  }
}

/** A PackIndex of `n` names, looked up once (its file is read) and returned, never closed. */
function anIndex(n) {
  const b = new PackIndexBuilder();
  const objects = Array.from({ length: n }, (_, i) => ({
    sha256: randomBytes(32).toString('hex'),
    offset: i,
    size: 1,
  }));
  b.add({ pack: randomBytes(32).toString('hex'), size: n, objects });
  const index = b.build();
  if (!index.lookup(objects[n - 1].sha256)) throw new Error('a name just added is not found');
  return index;
}

/** A NameFile with one name written, never closed. Made in a function of its own: a local of the
 * async function below would stay in its saved registers across an await, alive. */
function aNameFile() {
  const f = new NameFile();
  f.appendHex(randomBytes(32).toString('hex'));
  f.flush();
  return f;
}

/** The descriptor number a NameFile had, closed by its owner and then dropped. */
function closedOne() {
  const f = new NameFile();
  const fd = Number(readdirSync('/proc/self/fd').find((n) => /\/names-\w+ \(deleted\)$/.test(link(n))));
  f.close();
  return fd;
}

(async () => {
  await collect();
  const base = fds();
  let held = [];
  for (let i = 0; i < 40; i++) held.push(anIndex(1000));
  for (let i = 0; i < 40; i++) held.push(aNameFile());
  const whileHeld = fds();
  held = [];
  await collect();
  const afterGc = fds();

  // Closed by its owner: the registry must forget it, or collecting it would close whatever file
  // took its descriptor number since.
  const was = closedOne();
  const other = openSync(__filename, 'r');
  await collect();
  let otherOpen = true;
  try {
    fstatSync(other);
    closeSync(other);
  } catch {
    otherOpen = false;
  }
  process.stdout.write(`${JSON.stringify({ base, whileHeld, afterGc, sameNumber: other === was, otherOpen })}\n`);
})().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exitCode = 1;
});
