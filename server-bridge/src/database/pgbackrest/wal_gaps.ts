/**
 * Gaps in the archived WAL and what they do to the recovery window. pgbackrest verify lists the
 * archive as ranges of consecutive segments; two ranges of one timeline with segments missing
 * between them are a gap. Recovery replays WAL in order, so no restore crosses a gap: only a
 * backup that starts after it reaches the times after it. Pure: inputs in, facts out.
 */
import type { StanzaInfo } from './info';
import type { RecoveryWindow } from './recovery_window';
import type { WalRange } from './verify_output';

export interface WalGap {
  archiveId: string;
  /** The last segment present before the missing ones, and the first present after them. */
  lastBefore: string;
  firstAfter: string;
}

/** Gaps inside each timeline (a new timeline starting is no gap), in archive order. */
export function walGaps(ranges: WalRange[]): WalGap[] {
  const gaps: WalGap[] = [];
  const sorted = [...ranges].sort((a, b) =>
    a.archiveId === b.archiveId ? (a.start < b.start ? -1 : 1) : a.archiveId < b.archiveId ? -1 : 1,
  );
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1] as WalRange;
    const cur = sorted[i] as WalRange;
    if (prev.archiveId === cur.archiveId && prev.stop.slice(0, 8) === cur.start.slice(0, 8)) {
      gaps.push({ archiveId: cur.archiveId, lastBefore: prev.stop, firstAfter: cur.start });
    }
  }
  return gaps;
}

export interface GapEffect {
  /** The window that can still be reached in one piece up to the newest time, or the part before the gap. */
  window?: RecoveryWindow;
  /** The gap that limits it; undefined when no gap concerns the kept backups. */
  gap?: WalGap;
  /** True when no backup starts after the gap: nothing after the gap can be restored. */
  broken: boolean;
  problem?: string;
}

/**
 * The window with `gaps` applied. A gap matters when its WAL is still kept (it lies after the
 * oldest kept backup's first segment). Segment names of one timeline sort in WAL order, and a
 * later timeline's after it. With a backup starting after the newest such gap, the window starts
 * at that backup's stop; without one it ends at the stop of the newest backup before the gap.
 */
export function applyGaps(
  window: RecoveryWindow | undefined,
  stanza: StanzaInfo | undefined,
  gaps: WalGap[],
  /**
   * How segment names compare: whole names by default (one timeline sorts in WAL order, a later
   * one after it); along one history (timelines.ts) by segment number, the timeline left out.
   */
  key: (segment: string) => string = (x) => x,
): GapEffect {
  const backups = [...(stanza?.backup ?? [])].sort((x, y) => x.timestamp.start - y.timestamp.start);
  const first = backups[0]?.archive?.start;
  if (!window || !first) return { window, broken: false };
  const relevant = gaps
    .filter((g) => key(g.firstAfter) > key(first))
    .sort((a, b) => (key(a.firstAfter) < key(b.firstAfter) ? -1 : 1));
  const gap = relevant[relevant.length - 1];
  if (!gap) return { window, broken: false };
  const missing = `WAL after segment ${gap.lastBefore} up to ${gap.firstAfter} is missing from the archive (a WAL gap)`;
  const after = backups.find((b) => b.archive?.start && key(b.archive.start) >= key(gap.firstAfter));
  if (after) {
    const start = new Date(after.timestamp.stop * 1000);
    return {
      window: { ...window, start, oldestBackup: after.label },
      gap,
      broken: false,
      problem: `${missing}: no restore crosses it, so the recovery window starts at ${start.toISOString()} (backup ${after.label})`,
    };
  }
  const before = backups.filter((b) => b.archive?.stop && key(b.archive.stop) <= key(gap.lastBefore)).pop();
  const problem = `${missing} and no backup was taken after it: nothing written after the gap can be restored. Take a full physical backup now: mm-backup pitr backup --type full`;
  if (!before) return { window: undefined, gap, broken: true, problem };
  return {
    window: { ...window, end: new Date(before.timestamp.stop * 1000), newestBackup: before.label },
    gap,
    broken: true,
    problem,
  };
}
