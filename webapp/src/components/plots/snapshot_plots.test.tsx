// The plots draw one mark per plotted snapshot in each metric, on a round axis, oldest first,
// leave safety snapshots out, and add the recovery window when physical mode has one.

import {screen, within} from '@testing-library/react';
import React from 'react';

import {snapshot} from '../../../tests/support/fake_bridge';
import {renderWithStore} from '../../../tests/support/render_dashboard';

import {barHeight, niceMax} from './plot_scale';
import SnapshotPlots, {PLOTTED} from './snapshot_plots';

const ids = (n: number) => Array.from({length: n}, (_, i) => `20261120T0${String(i).padStart(2, '0')}00Z-abcdef`);

describe('SnapshotPlots', () => {
    it('draws one bar per snapshot in each plot, oldest on the left, safety snapshots left out', () => {
        const list = ids(5)
            .reverse()
            .map((id, i) => snapshot(id, {bytes: (i + 1) * 1024 ** 2, downtime_ms: i * 1000, trigger: 'schedule'}));
        list.splice(2, 0, snapshot('20261120T021500Z-ffffff', {trigger: 'safety'}));
        renderWithStore(<SnapshotPlots snapshots={list} />);
        for (const key of ['bytes', 'new_bytes', 'duration_ms', 'downtime_ms']) {
            const marks = within(screen.getByTestId(`plot-${key}`)).getAllByTestId('plot-mark');
            expect(marks.map((m) => m.getAttribute('data-snapshot'))).toEqual(ids(5));
        }
        const size = within(screen.getByTestId('plot-bytes'));
        // Newest (5 MB) is the tallest and sits on the right; the axis top is a round 5.0 MB.
        const heights = size.getAllByTestId('plot-mark').map((m) => Number(m.getAttribute('height')));
        expect(heights).toEqual([...heights].sort((a, b) => b - a));
        expect(size.getAllByTestId('plot-label')[0]).toHaveTextContent('5.0 MB');
        // A downtime of 0 is drawn as no bar, not a 1px one.
        expect(
            Number(
                within(screen.getByTestId('plot-downtime_ms'))
                    .getAllByTestId('plot-mark')
                    .at(-1)!
                    .getAttribute('height'),
            ),
        ).toBe(0);
        expect(screen.queryByTestId('plot-window')).toBeNull();
    });

    it(`plots at most the last ${PLOTTED} and shows the recovery window with a tick per snapshot`, () => {
        const list = ids(40)
            .reverse()
            .map((id) => snapshot(id));
        renderWithStore(
            <SnapshotPlots
                snapshots={list}
                pitr={
                    {
                        window: {
                            start: '2026-11-20T00:00:00.000Z',
                            end: '2026-11-20T03:00:00.000Z',
                            oldest_backup: 'a',
                            newest_backup: 'b',
                        },
                    } as never
                }
            />,
        );
        expect(within(screen.getByTestId('plot-bytes')).getAllByTestId('plot-mark')).toHaveLength(PLOTTED);
        expect(within(screen.getByTestId('plot-window')).getAllByTestId('plot-mark')).toHaveLength(PLOTTED);
        expect(screen.getByTestId('plot-window-band')).toBeInTheDocument();
    });

    it('rounds axes to 1, 2 or 5 times a power (of 1024 for bytes)', () => {
        expect(niceMax(0)).toBe(1);
        expect(niceMax(3)).toBe(5);
        expect(niceMax(95_000)).toBe(100_000);
        expect(niceMax(1500, true)).toBe(2 * 1024);
        expect(niceMax(5 * 1024 ** 3, true)).toBe(5 * 1024 ** 3);
        expect(barHeight(0, 10, 100)).toBe(0);
        expect(barHeight(0.001, 10, 100)).toBe(1);
        expect(barHeight(20, 10, 100)).toBe(100);
    });
});
