/**
 * Change detection from the database (issue 12, "change, not size"). Mattermost writes an
 * attachment, its thumbnail and preview under the day of the upload and never touches a past day
 * again except through FileInfo rows: new ones (an import), soft deletes, and permanent deletes.
 * So a day directory some days old whose rows have the same fingerprint as when its entries were
 * recorded is taken from the parent snapshot without being walked; every other directory of the
 * file store (recent days, users/, emoji/, brand/, plugins/, teams/…) is walked every time. What
 * changes behind Mattermost's back (a file edited or removed by hand) is caught by a full walk,
 * made when the last one is `fullWalkDays` old.
 */
import type { WalkState } from './walk_state';
import { plural } from '../core/units';

/** A day directory is settled once it is this many days behind today (UTC): uploads in flight, time zones. */
export const SETTLED_AFTER_DAYS = 2;
const DAY_MS = 24 * 3600 * 1000;

/** What one walk of a tree may take from its parent, and why. */
export interface CarryPlan {
  /** Day directories taken from the parent, with the entries each must hold. */
  carry: Map<string, number>;
  /** Why nothing is carried (a full walk), for the log; undefined when days may be carried. */
  fullWalk?: string;
}

/** YYYYMMDD of a date in UTC. */
function dayOf(t: Date): string {
  return t.toISOString().slice(0, 10).replace(/-/g, '');
}

/**
 * Decides which day directories the walk takes from the parent: those settled at `now` whose
 * current row fingerprint (`days`: fileInfoDays) equals the one the parent's state recorded. A
 * full walk when there is no state, the rows could not be read, the exclusions changed, or the
 * last full walk is `fullWalkDays` old (0: every backup walks everything).
 */
export function planCarry(
  previous: WalkState | undefined,
  days: ReadonlyMap<string, string> | undefined,
  opts: { now: Date; fullWalkDays: number; exclude: readonly string[] },
): CarryPlan {
  const carry = new Map<string, number>();
  if (opts.fullWalkDays <= 0) return { carry, fullWalk: 'backup.fullWalkDays is 0' };
  if (!previous) return { carry, fullWalk: 'no walk state for the parent snapshot' };
  if (!days) return { carry, fullWalk: "the database's file records could not be read" };
  const since = opts.now.getTime() - Date.parse(previous.fullWalkAt);
  if (since < 0) return { carry, fullWalk: 'the last full walk is dated in the future (the clock changed)' };
  if (!(since < opts.fullWalkDays * DAY_MS)) {
    return { carry, fullWalk: `the last full walk is ${plural(opts.fullWalkDays, 'day')} old or more` };
  }
  if ([...opts.exclude].sort().join('\n') !== [...previous.exclude].sort().join('\n')) {
    return { carry, fullWalk: 'the excluded paths changed' };
  }
  const settled = dayOf(new Date(opts.now.getTime() - SETTLED_AFTER_DAYS * DAY_MS));
  for (const [day, rec] of Object.entries(previous.subtrees)) {
    if (day < settled && rec.fp === fingerprintOf(days, day)) carry.set(day, rec.entries);
  }
  return { carry };
}

/** The fingerprint recorded for a day: its rows', or 'none' for a directory without rows. */
export function fingerprintOf(days: ReadonlyMap<string, string>, day: string): string {
  return days.get(day) ?? 'none';
}

/** The walk state of a tree just written: each day directory with its fingerprint and entry count. */
export function nextWalkState(
  previous: WalkState | undefined,
  plan: CarryPlan,
  days: ReadonlyMap<string, string>,
  counts: ReadonlyMap<string, number>,
  opts: { startedAt: Date; exclude: readonly string[] },
): WalkState {
  const subtrees: WalkState['subtrees'] = {};
  for (const [day, entries] of counts) subtrees[day] = { fp: fingerprintOf(days, day), entries };
  // Nothing carried means every path was walked now; otherwise the last full walk stands.
  const fullWalkAt = plan.carry.size === 0 || !previous ? opts.startedAt.toISOString() : previous.fullWalkAt;
  return { fullWalkAt, exclude: [...opts.exclude], subtrees };
}
