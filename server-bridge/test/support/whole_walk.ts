/** orderedWalk as the walk tests call it: the whole tree under one root, through the real walk. */
import { orderedWalk, type OrderedWalkOptions, type WalkItem } from '../../src/repository/ordered_walk';
import { WalkPacer } from '../../src/repository/walk_pacer';
import { wholeTree } from './whole_tree.cjs';

/**
 * Walks everything under `root` (whole_tree.cjs: roots [''], nothing excluded, a vanished file an
 * error, warnings dropped) with the pacer fixed to `mode`; `opts` add to or replace these options.
 */
export function walkWhole(
  root: string,
  mode: 'sync' | 'async',
  opts: Partial<OrderedWalkOptions> = {},
): AsyncGenerator<WalkItem> {
  return orderedWalk({ ...wholeTree(root, new WalkPacer({ fixed: mode })), ...opts });
}
