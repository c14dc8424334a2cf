// Makes N directories in path order through a ContainedTree (as a restore into a new directory
// does: each listed directory, then a file in it) and prints, as JSON, how much more heap is live
// (after a full collection) while the tree is still open than before: what the tree keeps in
// mind per directory. Usage: node --expose-gc contained_tree_memory.cjs <distDir> <root> <N>
'use strict';
const path = require('node:path');

const [dist, root, n] = process.argv.slice(2);
const { ContainedTree } = require(path.join(dist, 'repository/contained_tree.js'));

const live = () => {
  global.gc();
  return process.memoryUsage().heapUsed;
};
const before = live();
const tree = ContainedTree.open(root);
const meta = { uid: 0, gid: 0, mode: 0o644, chown: false, chmod: false };
tree.makeDirs('data');
for (let i = 0; i < Number(n); i++) {
  const dir = `data/${String(i).padStart(8, '0')}-${'x'.repeat(60)}`;
  tree.inDir('data', (fd) => tree.makeFreshDir(fd, 'data', dir.slice(5)));
  tree.makeDirs(dir);
  tree.inDir(dir, (fd) => tree.createFile(fd, dir, 'f', Buffer.from('x'), meta));
}
const during = live();
tree.close();
process.stdout.write(
  `${JSON.stringify({ grewBytes: during - before, fresh: tree.isFresh(`data/${String(Number(n) - 1).padStart(8, '0')}-${'x'.repeat(60)}`) })}\n`,
);
