import type { OrderedWalkOptions } from '../../src/repository/ordered_walk';
import type { WalkPacer } from '../../src/repository/walk_pacer';

/** The orderedWalk options of a walk over all of `root` with `pacer` (see whole_tree.cjs). */
export function wholeTree(root: string, pacer: WalkPacer): OrderedWalkOptions;
