// What limits the recovery window on the page: the holes an earlier point-in-time restore left
// and the WAL gap (one that only shortens the window, one that breaks it) are listed in the
// panel, and the picker refuses a time in a hole or past the gap inline, saying why, with the
// nearest restorable times to put into it instead.

import {fireEvent, screen} from '@testing-library/react';
import React from 'react';

import type {PitrStatus} from '@mm-backup/api';
import {fromLocalInput, toLocalInput} from 'src/local_time';

import {renderWithStore} from '../../../tests/support/render_dashboard';

import RecoveryWindow from './recovery_window';

/** An instant as the panel shows it (FormattedDate then FormattedTime, in this zone, in English). */
function shown(iso: string): string {
    const d = new Date(iso);
    const date = new Intl.DateTimeFormat('en', {year: 'numeric', month: 'short', day: '2-digit'}).format(d);
    const time = new Intl.DateTimeFormat('en', {hour: '2-digit', minute: '2-digit', second: '2-digit'}).format(d);
    return `${date} ${time}`;
}

const hole = {
    from: '2026-12-02T11:00:00.250Z',
    to: '2026-12-02T11:20:00.700Z',
    timeline: 1,
    problem:
        '2026-12-02T11:00:00.250Z … 2026-12-02T11:20:00.700Z was on timeline 1 after the point a restore left it at',
};
const pitr: PitrStatus = {
    phase: 'enabled',
    window: {
        start: '2026-12-02T10:00:03.512Z',
        end: '2026-12-02T12:30:00.000Z',
        oldest_backup: '20261202-100000F',
        newest_backup: '20261202-100000F',
    },
    archive: {
        state: 'ok',
        age_seconds: 42,
        failed_count: 0,
        last_archived_at: '2026-12-02T12:30:00.000Z',
        last_failed_at: null,
        waiting_segments: 0,
        problem: null,
    },
    backups: [],
    problem: null,
    timeline: 2,
    holes: [hole],
    checked_at: '2026-12-02T12:30:10.000Z',
};
const gap = {
    last_before: '000000020000000000000004',
    first_after: '000000020000000000000006',
    detected_at: '2026-12-02T12:30:05.000Z',
    problem: 'WAL after segment 000000020000000000000004 up to 000000020000000000000006 is missing (a WAL gap)',
};

const pick = (local: string) =>
    fireEvent.change(screen.getByLabelText('Point in time to restore to'), {target: {value: local}});
const go = () => screen.getByRole('button', {name: 'Restore to this time'});
const suggestions = () =>
    screen.queryAllByTestId('restore-at-suggestion').map((b) => new Date(Number(b.dataset.ms)).toISOString());

describe('RecoveryWindow with holes and a WAL gap', () => {
    it('lists the hole and refuses a time in it, offering the times on either side', () => {
        const picked: string[] = [];
        renderWithStore(<RecoveryWindow pitr={pitr} busy={false} onRestore={(at) => picked.push(at)} />);
        const row = screen.getByTestId('pitr-hole');
        expect(row).toHaveAttribute('data-timeline', '1');
        expect(row).toHaveTextContent(
            `Not restorable${shown(hole.from)} to ${shown(hole.to)}: only timeline 1 held it, abandoned by an earlier point-in-time restore`,
        );
        expect(screen.getByTestId('pitr-hole-problem')).toHaveTextContent(hole.problem);
        expect(screen.queryByTestId('pitr-wal-gap')).toBeNull();

        // The last whole second before the hole is restorable; the next one is in it.
        pick(toLocalInput('2026-12-02T11:00:00.000Z', 'down'));
        expect(go()).toBeEnabled();
        pick(toLocalInput('2026-12-02T11:00:01.000Z', 'down'));
        expect(go()).toBeDisabled();
        pick(toLocalInput('2026-12-02T11:10:00.000Z', 'down'));
        expect(go()).toBeDisabled();
        const refusal = screen.getByTestId('restore-at-outside');
        expect(refusal).toHaveAttribute('data-reason', 'hole');
        expect(refusal).toHaveTextContent(
            `Not restorable: ${shown(hole.from)} to ${shown(hole.to)} was held only by timeline 1, which an earlier point-in-time restore abandoned.`,
        );
        expect(suggestions()).toEqual(['2026-12-02T11:00:00.000Z', '2026-12-02T11:20:01.000Z']);

        // A suggestion goes into the picker and is restorable.
        fireEvent.click(screen.getAllByTestId('restore-at-suggestion')[1]!);
        // (jsdom writes the value normalized, with milliseconds; a browser without: both read alike.)
        const value = screen.getByLabelText<HTMLInputElement>('Point in time to restore to').value;
        expect(fromLocalInput(value)?.ms).toBe(Date.parse('2026-12-02T11:20:01.000Z'));
        expect(screen.queryByTestId('restore-at-outside')).toBeNull();
        fireEvent.click(go());
        expect(Date.parse(picked[0]!)).toBe(Date.parse('2026-12-02T11:20:01.000Z'));
        expect(picked[0]).toBe(fromLocalInput(toLocalInput('2026-12-02T11:20:01.000Z', 'down'))?.at);
    });

    it('a gap that shortens the window: said so, and a time before it is refused naming the gap', () => {
        renderWithStore(
            <RecoveryWindow
                pitr={{...pitr, wal_gap: {...gap, broken: false}}}
                busy={false}
                onRestore={() => undefined}
            />,
        );
        const row = screen.getByTestId('pitr-wal-gap');
        expect(row).toHaveAttribute('data-broken', 'false');
        expect(row.querySelector('td')).not.toHaveClass('error-text');
        expect(row).toHaveTextContent(
            `Shortens the window: the WAL after segment ${gap.last_before} up to ${gap.first_after} is missing and no restore crosses it, so the window starts after it, at ${shown(pitr.window!.start)}.`,
        );
        expect(row).toHaveTextContent(`Found ${shown(gap.detected_at)}`);
        expect(screen.getByRole('button', {name: 'Restore to the latest'})).toBeEnabled();

        pick(toLocalInput('2026-12-02T09:59:00.000Z', 'down'));
        expect(go()).toBeDisabled();
        const refusal = screen.getByTestId('restore-at-outside');
        expect(refusal).toHaveAttribute('data-reason', 'before_gap');
        expect(refusal).toHaveTextContent(
            `Not restorable: a WAL gap lies after this time and no restore crosses it; the recovery window starts at ${shown(pitr.window!.start)}.`,
        );
        expect(suggestions()).toEqual(['2026-12-02T10:00:04.000Z']);
    });

    it('a gap that breaks the window: said as an error, nothing past it is offered, nor the latest', () => {
        renderWithStore(
            <RecoveryWindow
                pitr={{...pitr, wal_gap: {...gap, broken: true}}}
                busy={false}
                onRestore={() => undefined}
            />,
        );
        const row = screen.getByTestId('pitr-wal-gap');
        expect(row).toHaveAttribute('data-broken', 'true');
        expect(row.querySelector('td')).toHaveClass('error-text');
        expect(row).toHaveTextContent(/^WAL gapBreaks the window: .* nothing written after the gap can be restored/);
        expect(screen.getByRole('button', {name: 'Restore to the latest'})).toBeDisabled();
        expect(screen.getByTestId('restore-at-no-latest')).toHaveTextContent(
            'The latest cannot be reached past the WAL gap.',
        );

        pick(toLocalInput('2026-12-02T12:30:01.000Z', 'down'));
        expect(go()).toBeDisabled();
        const refusal = screen.getByTestId('restore-at-outside');
        expect(refusal).toHaveAttribute('data-reason', 'after_gap');
        expect(refusal).toHaveTextContent(
            `Not restorable: a WAL gap breaks the recovery window; nothing written after ${shown(pitr.window!.end)} can be restored.`,
        );
        expect(suggestions()).toEqual(['2026-12-02T12:30:00.000Z']);
    });

    it('a gap that leaves no window: none restorable, not "no backup yet"', () => {
        renderWithStore(
            <RecoveryWindow
                pitr={{...pitr, window: null, holes: undefined, wal_gap: {...gap, broken: true}}}
                busy={false}
                onRestore={() => undefined}
            />,
        );
        expect(screen.getByTestId('pitr-window')).toHaveTextContent(
            'None: the WAL gap below leaves nothing restorable',
        );
        expect(screen.getByTestId('pitr-wal-gap')).toHaveAttribute('data-broken', 'true');
        expect(screen.queryByTestId('restore-at')).toBeNull();
    });
});
