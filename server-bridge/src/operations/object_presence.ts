/**
 * The restore's check of a snapshot's objects before Mattermost is stopped: cheap, so that the
 * downtime is not preceded by a read of the whole repository. Every object must exist with the
 * size the manifest gives; its content is hashed once, as it is written (Repository.copyObjectTo,
 * readObjectChecked), and a mismatch then fails the restore, which the safety snapshot undoes.
 * verify (verify_plan.ts checkObjects) still re-hashes everything.
 */
import { TaskPool } from '../core/pool';
import type { VerifyIssue } from '../core/errors';
import type { Manifest } from '../manifest/manifest';
import { kindOf } from '../components/registry';
import type { ObjectRef } from '../components/component';
import type { Repository } from '../repository/repository';
import { objectKey, packKey } from '../repository/layout';
import type { PackLocation } from '../repository/pack_index';
import type { StepContext } from '../jobs/runner';
import { sizesComparable } from '../storage/encrypted_chain';
import type { ObjectInfo } from '../storage/storage';
import { pacedSteps, WalkPacer } from '../repository/walk_pacer';

/** Enough findings to say what is wrong; past this many the check stops looking. */
const MAX_ISSUES = 100;

export { sizesComparable };

/**
 * Objects already checked, remembered by the first 64 bits of their name in a fixed table (2 MiB,
 * direct-mapped: a newer name takes an older one's slot): an object many files share is stat'ed
 * about once, in memory that does not grow with the snapshot. A wrong "seen" (two names with the
 * same 64 bits) only skips a pre-check; the copy still checks that object in full.
 */
class RecentObjects {
  private static readonly SLOTS = 1 << 18;
  private readonly words = new Uint32Array(RecentObjects.SLOTS * 2);

  /** True when `sha256` was seen (and still held); else remembers it. */
  seen(sha256: string): boolean {
    const hi = Number.parseInt(sha256.slice(0, 8), 16);
    const lo = Number.parseInt(sha256.slice(8, 16), 16);
    if (!hi && !lo) return false; // the empty slot's value: never taken as seen
    const at = (lo & (RecentObjects.SLOTS - 1)) * 2;
    if (this.words[at] === hi && this.words[at + 1] === lo) return true;
    this.words[at] = hi;
    this.words[at + 1] = lo;
    return false;
  }
}

/**
 * Checks that every object of `m` (or of the listed components) exists with its size, streaming
 * over the file indexes with a bounded number of stats in flight. `objects`: how many were stat'ed.
 */
export async function checkObjectsPresent(
  repo: Repository,
  m: Manifest,
  ctx: StepContext,
  only?: Set<string>,
  /** How the stats are made; adaptive by default (tests pin a mode). */
  pacerFor?: WalkPacer,
): Promise<{ issues: VerifyIssue[]; objects: number; sizes: boolean }> {
  const sizes = sizesComparable(repo.storage);
  const issues: VerifyIssue[] = [];
  const recent = new RecentObjects();
  const pool = new TaskPool(16);
  const count = { objects: 0, done: 0 };
  const wrong = (o: ObjectRef, info: ObjectInfo | undefined): boolean =>
    !info || (sizes && o.size !== undefined && info.size !== o.size);
  const judge = (component: string, o: ObjectRef, info: ObjectInfo | undefined): void => {
    let problem: string | undefined;
    if (!info) problem = 'object is missing';
    else if (wrong(o, info)) problem = `size ${info.size} differs from the manifest's ${o.size}`;
    if (problem && issues.length < MAX_ISSUES) issues.push({ component, path: o.path, object: o.sha256, problem });
    ctx.progress(++count.done, undefined, 'objects', o.path);
  };
  // A local repository's objects are stat'ed with synchronous calls while the pacer finds that
  // faster (a warm cache: an awaited stat costs a trip through libuv's thread pool, several times
  // the call), else 16 at a time; the loop yields every 20 ms so progress and requests are served.
  const statSync = repo.storage.statSync?.bind(repo.storage);
  const pacer = pacerFor ?? (statSync ? new WalkPacer() : new WalkPacer({ fixed: 'async' }));
  const step = pacedSteps(pacer, pool);
  // A packed object is there when its pack is, whole (the size its index gives): each pack is
  // stat'ed once; the object's own size is the one the index gives.
  await repo.loadPacks({ signal: ctx.signal });
  const packs = new Map<string, boolean>();
  const packed = (loc: PackLocation, info: ObjectInfo | undefined): ObjectInfo | undefined => {
    const whole = !!info && (!sizes || info.size === repo.packs.sizeOfPack(loc.pack));
    packs.set(loc.pack, whole);
    return whole ? { key: packKey(loc.pack), size: loc.size } : undefined;
  };
  // Where an object is, as PackIndex.guess says (no read of its whole name: seconds at a million
  // objects). A wrong guess that finds it present is caught by the restore's hashed read; one that
  // finds it missing is looked up in full before it is reported.
  const syncAt = (sha: string, loc: PackLocation | undefined): ObjectInfo | undefined => {
    if (!loc) return (statSync as (key: string) => ObjectInfo | undefined)(objectKey(sha));
    const known = packs.get(loc.pack);
    if (known !== undefined) return known ? { key: packKey(loc.pack), size: loc.size } : undefined;
    return packed(loc, (statSync as (key: string) => ObjectInfo | undefined)(packKey(loc.pack)));
  };
  const syncInfo = (o: ObjectRef): ObjectInfo | undefined => {
    const guess = repo.packs.guessLoaded(o.sha256);
    const info = syncAt(o.sha256, guess);
    return guess && wrong(o, info) ? syncAt(o.sha256, repo.locateSync(o.sha256)) : info;
  };
  const asyncAt = async (sha: string, loc: PackLocation | undefined): Promise<ObjectInfo | undefined> => {
    if (!loc) return repo.storage.stat(objectKey(sha));
    const known = packs.get(loc.pack);
    if (known !== undefined) return known ? { key: packKey(loc.pack), size: loc.size } : undefined;
    return packed(loc, await repo.storage.stat(packKey(loc.pack)));
  };
  const asyncInfo = async (o: ObjectRef): Promise<ObjectInfo | undefined> => {
    const guess = repo.packs.guessLoaded(o.sha256);
    const info = await asyncAt(o.sha256, guess);
    return guess && wrong(o, info) ? asyncAt(o.sha256, repo.locateSync(o.sha256)) : info;
  };
  try {
    for (const c of m.components) {
      if ((only && !only.has(c.id)) || c.status !== 'included') continue;
      for await (const o of kindOf(c).objects(c)) {
        if (issues.length >= MAX_ISSUES) break;
        if (recent.seen(o.sha256)) continue;
        count.objects++;
        await step(statSync && (() => judge(c.id, o, syncInfo(o))), async () => judge(c.id, o, await asyncInfo(o)));
      }
    }
  } catch (err) {
    await pool.drain().catch(() => undefined);
    throw err;
  }
  await pool.drain();
  return { issues, objects: count.objects, sizes };
}
