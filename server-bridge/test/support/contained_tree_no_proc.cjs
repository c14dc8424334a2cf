// Run in a mount namespace of its own: hides /proc under an empty tmpfs, then opens a
// ContainedTree on <root> and prints, as JSON, what happened ({opened: true} or the error's code
// and message) and whether /proc/self/fd could be read. Usage:
// unshare --mount --propagation private [--map-root-user] node contained_tree_no_proc.cjs <distDir> <root>
'use strict';
const path = require('node:path');
const { hideProc } = require('./hide_proc.cjs');

const [dist, root] = process.argv.slice(2);
const procWorks = hideProc();
const { ContainedTree } = require(path.join(dist, 'repository/contained_tree.js'));
let result;
try {
  ContainedTree.open(root).close();
  result = { opened: true };
} catch (e) {
  result = { opened: false, code: e.code, message: e.message, hint: e.hint };
}
process.stdout.write(`${JSON.stringify({ procWorks, uid: process.getuid(), ...result })}\n`);
