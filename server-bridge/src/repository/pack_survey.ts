/**
 * What prune will do with each pack (docs/storage.md "Packs"), decided from the names in use and
 * the repository's listings, without changing anything: the dry run reports exactly this, the
 * real run (pack_sweep.ts) carries it out. Every index file is read once.
 */
import { NotFoundError } from '../core/errors';
import type { PrefixSet } from '../core/hash_set';
import type { Storage } from '../storage/storage';
import { PACK_INDEXES, PACKS, packOfIndexKey, packOfKey } from './layout';
import { PackIndexBuilder, readPackIndexFile, type BrokenPackIndex, type PackLocation } from './pack_index';
import { PackIndexError } from './pack_index_file';

/**
 * A partly used pack is rewritten once at least this share of its bytes is unused. restic's
 * default (max-unused 5%) is a share of the whole repository, weighed across all packs; decided
 * per pack, 25% bounds what a repack costs: at most 3 bytes rewritten (read, and on a bucket
 * downloaded and uploaded again) for each byte it frees, while a pack that lost a few objects is
 * not rewritten by every prune. What stays unused below it is at most a quarter of each pack.
 */
export const REPACK_UNUSED_SHARE = 0.25;

/** One pack with a valid index, and what becomes of it. */
export interface PackFate {
  pack: string;
  /** Bytes and objects, as its index says. */
  size: number;
  count: number;
  /** Objects this pack keeps for the snapshots (a used object held by another pack too is kept by one of them). */
  keptBytes: number;
  keptCount: number;
  /** Used objects whose copy is kept by another pack: not copied when this pack is rewritten. */
  keptElsewhere: Set<string>;
  /**
   * remove: no object of it is used (its index goes, then the pack); repack: its kept objects are
   * copied into new packs, then it is removed; keep: left as it is; missing: the index names a
   * pack that is not there (left alone: verify reports its objects missing).
   */
  fate: 'remove' | 'repack' | 'keep' | 'missing';
}

export interface PackSurvey {
  fates: PackFate[];
  /** Pack files no index names (a backup interrupted between a pack and its index): removed. */
  orphans: Array<{ pack: string; size: number }>;
  /** Index files that could not be used: neither they nor the pack they name are touched. */
  broken: BrokenPackIndex[];
}

/**
 * Surveys every pack. `inUse` says which objects kept snapshots use; a yes for an unused object
 * (a 64-bit prefix collision) only keeps it. An object used and held by several packs (a
 * repack interrupted after its new pack was stored, or two backups that packed the same content)
 * is kept by one of them, chosen alike for all: the present pack (its file listed at the size
 * its index gives) with the largest used share, the first in key order on a tie; the others may
 * then be rewritten or removed without it. Where no copy qualifies, every copy is kept.
 */
export async function surveyPacks(
  storage: Storage,
  inUse: PrefixSet,
  opts: { signal?: AbortSignal } = {},
): Promise<PackSurvey> {
  const indexed = new Set<string>();
  const broken: BrokenPackIndex[] = [];
  const byPack = new Map<string, PackFate>();
  const builder = new PackIndexBuilder();
  for await (const o of storage.list(PACK_INDEXES)) {
    const pack = packOfIndexKey(o.key);
    if (!pack) continue;
    indexed.add(pack);
    let file;
    try {
      file = await readPackIndexFile(storage, o, pack, opts);
    } catch (err) {
      if (err instanceof PackIndexError) broken.push({ key: o.key, problem: err.message });
      else if (!(err instanceof NotFoundError)) throw err;
      continue;
    }
    builder.add(file);
    const fate: PackFate = {
      pack,
      size: file.size,
      count: file.objects.length,
      keptBytes: 0,
      keptCount: 0,
      keptElsewhere: new Set(),
      fate: 'keep',
    };
    for (const obj of file.objects) {
      if (!inUse.has(obj.sha256)) continue;
      fate.keptBytes += obj.size;
      fate.keptCount++;
    }
    byPack.set(pack, fate);
  }
  const files = new Map<string, number>();
  for await (const o of storage.list(PACKS)) {
    const pack = packOfKey(o.key);
    if (pack) files.set(pack, o.size);
  }

  // Used objects in several packs: one keeper each, from the shares counted with every copy.
  const index = builder.build();
  const share = new Map([...byPack.values()].map((f) => [f.pack, f.size ? f.keptBytes / f.size : 0]));
  const sound = (pack: string) => files.get(pack) === byPack.get(pack)?.size;
  for (const sha of index.duplicateNames()) {
    if (!inUse.has(sha)) continue;
    const copies = index.locations(sha).filter((l) => sound(l.pack));
    if (copies.length < 2) continue;
    let keeper = copies[0] as PackLocation;
    for (const c of copies) if ((share.get(c.pack) ?? 0) > (share.get(keeper.pack) ?? 0)) keeper = c;
    for (const c of copies) {
      if (c === keeper) continue;
      const f = byPack.get(c.pack) as PackFate;
      f.keptBytes -= c.size;
      f.keptCount--;
      f.keptElsewhere.add(sha);
    }
  }

  for (const f of byPack.values()) {
    if (!files.has(f.pack)) f.fate = 'missing';
    else if (f.keptCount === 0) f.fate = 'remove';
    else if (f.keptCount < f.count && f.size - f.keptBytes >= REPACK_UNUSED_SHARE * f.size) f.fate = 'repack';
  }
  const orphans = [...files].filter(([pack]) => !indexed.has(pack)).map(([pack, size]) => ({ pack, size }));
  return { fates: [...byPack.values()].sort((a, b) => a.pack.localeCompare(b.pack)), orphans, broken };
}
