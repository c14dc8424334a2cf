// The options of orderedWalk over a whole tree as the walk tests and their child processes use
// them (roots [''], nothing excluded, a vanished file an error, warnings dropped): plain CommonJS
// so that a child running the built walk (big_dir_walk_child.cjs) and the TypeScript tests
// (whole_walk.ts, through whole_tree.d.cts) share one copy.
'use strict';

/** @param {string} root @param {unknown} pacer a WalkPacer */
function wholeTree(root, pacer) {
  return {
    root,
    roots: [''],
    excluded: new Set(),
    tolerateVanished: false,
    rootsMayBeMissing: false,
    onWarning: () => undefined,
    pacer,
  };
}

module.exports = { wholeTree };
