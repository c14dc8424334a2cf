// Whether a time the picker holds can be restored, as `restore --at` decides it on the sidecar:
// inside the recovery window (which a WAL gap already cut), and not in a hole an earlier
// point-in-time restore left. Said here so that the page refuses it before asking the sidecar,
// with the nearest restorable times (whole seconds, as the picker sends them) to choose instead.

import type {PitrStatus} from '@mm-backup/api';

type Hole = NonNullable<PitrStatus['holes']>[number];

/** Why a time cannot be restored: outside the window (because of a WAL gap or not), or in a hole. */
export type Refusal =
    | {reason: 'before' | 'after' | 'before_gap' | 'after_gap'; earlier?: number; later?: number}
    | {reason: 'hole'; hole: Hole; earlier?: number; later?: number};

export type Verdict = {ok: true} | ({ok: false} & Refusal);

/** What decides it: the window (non-null) and what the status says limits it. */
export type Limits = {
    window: {start: string; end: string};
    holes?: PitrStatus['holes'];
    wal_gap?: PitrStatus['wal_gap'];
};

const SECOND = 1000;
const holeAt = (holes: readonly Hole[], ms: number) =>
    holes.find((h) => ms >= Date.parse(h.from) && ms < Date.parse(h.to));

/**
 * The restorable whole second nearest to `ms` going one way (the picker's granularity), stepping
 * out of holes; undefined when there is none inside the window that way.
 */
function nearest(limits: Limits, ms: number, way: 'earlier' | 'later'): number | undefined {
    const holes = limits.holes ?? [];
    const lo = Math.ceil(Date.parse(limits.window.start) / SECOND) * SECOND;
    const hi = Math.floor(Date.parse(limits.window.end) / SECOND) * SECOND;
    let t = way === 'earlier' ? Math.floor(ms / SECOND) * SECOND : Math.ceil(ms / SECOND) * SECOND;
    // Each step leaves one hole for good (holes are disjoint stretches of one history).
    for (let i = 0; i <= holes.length; i++) {
        if (t < lo || t > hi) {
            return undefined;
        }
        const h = holeAt(holes, t);
        if (!h) {
            return t;
        }
        // A hole holds [from, to): the last second before it, or its end rounded up.
        t =
            way === 'earlier'
                ? Math.ceil(Date.parse(h.from) / SECOND) * SECOND - SECOND
                : Math.ceil(Date.parse(h.to) / SECOND) * SECOND;
    }
    return undefined;
}

/** The verdict on `ms` (an instant picked to the second) against the window, the gap and the holes. */
export function restorable(limits: Limits, ms: number): Verdict {
    const start = Date.parse(limits.window.start);
    const end = Date.parse(limits.window.end);
    const gap = limits.wal_gap;
    if (ms < start) {
        // A gap that does not break the window moves its start after the gap (docs/pitr.md).
        return {
            ok: false,
            reason: gap && !gap.broken ? 'before_gap' : 'before',
            later: nearest(limits, start, 'later'),
        };
    }
    if (ms > end) {
        // A broken gap ends the window before it: nothing written after it can be restored.
        return {ok: false, reason: gap?.broken ? 'after_gap' : 'after', earlier: nearest(limits, end, 'earlier')};
    }
    const hole = holeAt(limits.holes ?? [], ms);
    if (hole) {
        return {
            ok: false,
            reason: 'hole',
            hole,
            earlier: nearest(limits, Date.parse(hole.from) - 1, 'earlier'),
            later: nearest(limits, Date.parse(hole.to), 'later'),
        };
    }
    return {ok: true};
}
