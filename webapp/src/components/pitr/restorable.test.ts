// The nearest restorable times the picker offers step over every hole in the way and stay
// inside the window; a hole at an edge of the window leaves only the other side.

import {restorable} from './restorable';

const window = {start: '2026-12-02T10:00:00.000Z', end: '2026-12-02T12:00:00.000Z'};
const hole = (from: string, to: string, timeline = 1) => ({from, to, timeline, problem: 'abandoned'});
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const at = (s: string) => Date.parse(s);

describe('restorable', () => {
    it('steps over adjacent holes to the nearest restorable second on each side', () => {
        const holes = [
            hole('2026-12-02T10:30:00.000Z', '2026-12-02T10:40:00.000Z'),
            hole('2026-12-02T10:40:00.000Z', '2026-12-02T10:50:00.400Z', 2),
        ];
        const v = restorable({window, holes}, at('2026-12-02T10:35:00.000Z'));
        expect(v.ok).toBe(false);
        expect(v.ok ? undefined : [v.reason, iso(v.earlier), iso(v.later)]).toEqual([
            'hole',
            '2026-12-02T10:29:59.000Z',
            '2026-12-02T10:50:01.000Z',
        ]);
        expect(restorable({window, holes}, at('2026-12-02T10:50:01.000Z'))).toEqual({ok: true});
    });

    it('a hole at the window edges offers only the side inside the window', () => {
        const holes = [
            hole('2026-12-02T09:00:00.000Z', '2026-12-02T10:10:00.000Z'),
            hole('2026-12-02T11:50:00.000Z', '2026-12-02T12:10:00.000Z'),
        ];
        const first = restorable({window, holes}, at('2026-12-02T10:05:00.000Z'));
        expect(first.ok ? undefined : [iso(first.earlier), iso(first.later)]).toEqual([
            undefined,
            '2026-12-02T10:10:00.000Z',
        ]);
        const last = restorable({window, holes}, at('2026-12-02T11:55:00.000Z'));
        expect(last.ok ? undefined : [iso(last.earlier), iso(last.later)]).toEqual([
            '2026-12-02T11:49:59.000Z',
            undefined,
        ]);
        // Before the window, its start is in a hole: the first second after that hole.
        const before = restorable({window, holes}, at('2026-12-02T09:30:00.000Z'));
        expect(before.ok ? undefined : [before.reason, iso(before.later)]).toEqual([
            'before',
            '2026-12-02T10:10:00.000Z',
        ]);
    });
});
