// The recovery window and the archive's health as GET /v1/status `pitr` gives them, and the
// point-in-time picker: bounded by the window in local time, sending the chosen wall-clock time
// with this browser's offset (the sidecar refuses a time without one), or `latest`.

import {fireEvent, screen} from '@testing-library/react';
import React from 'react';

import type {PitrStatus} from '@mm-backup/api';
import {fromLocalInput, toLocalInput} from 'src/local_time';

import {renderWithStore} from '../../../tests/support/render_dashboard';

import RecoveryWindow from './recovery_window';

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
    checked_at: '2026-12-02T12:30:10.000Z',
};

describe('RecoveryWindow', () => {
    it('bounds the picker by the window and sends the local time with its offset', () => {
        const picked: string[] = [];
        renderWithStore(<RecoveryWindow pitr={pitr} busy={false} onRestore={(at) => picked.push(at)} />);
        expect(screen.getByTestId('pitr-archive')).toHaveTextContent(
            'healthy, last segment archived 42s ago, 0 failures',
        );
        const input = screen.getByLabelText('Point in time to restore to');
        expect(input).toHaveAttribute('type', 'datetime-local');
        expect(input).toHaveAttribute('min', toLocalInput(pitr.window!.start, 'up'));
        expect(input).toHaveAttribute('max', toLocalInput(pitr.window!.end, 'down'));
        expect(screen.getByTestId('restore-at-zone')).toHaveTextContent(/^Times are in \S+ \(UTC[+-]\d{2}:\d{2}\)$/);
        const go = screen.getByRole('button', {name: 'Restore to this time'});
        expect(go).toBeDisabled();

        // Before the window's start (a second before its rounded-up bound): refused here.
        const before = toLocalInput('2026-12-02T10:00:02.000Z', 'down');
        fireEvent.change(input, {target: {value: before}});
        expect(go).toBeDisabled();
        expect(screen.getByTestId('restore-at-outside')).toHaveTextContent(
            /^Choose a time inside the recovery window \(/,
        );
        // After its end: refused too.
        fireEvent.change(input, {target: {value: toLocalInput('2026-12-02T12:30:01.000Z', 'down')}});
        expect(go).toBeDisabled();

        const inside = toLocalInput('2026-12-02T11:15:30.000Z', 'down');
        fireEvent.change(input, {target: {value: inside}});
        expect(go).toBeEnabled();
        fireEvent.click(go);
        expect(picked).toEqual([fromLocalInput(inside)?.at]);
        expect(Date.parse(picked[0]!)).toBe(Date.parse('2026-12-02T11:15:30.000Z'));
        expect(picked[0]).toMatch(/^2026-12-02T\d{2}:\d{2}:30[+-]\d{2}:\d{2}$/);

        fireEvent.click(screen.getByRole('button', {name: 'Restore to the latest'}));
        expect(picked.at(-1)).toBe('latest');
    });

    it('says when there is no window yet and offers no restore', () => {
        renderWithStore(<RecoveryWindow pitr={{...pitr, window: null}} busy={false} onRestore={() => undefined} />);
        expect(screen.getByTestId('pitr-window')).toHaveTextContent('None yet: no physical backup has been taken');
        expect(screen.queryByTestId('restore-at')).toBeNull();
    });

    it('shows a failing archive and its problem, and no restore while a job runs', () => {
        renderWithStore(
            <RecoveryWindow
                pitr={{
                    ...pitr,
                    archive: {
                        ...pitr.archive,
                        state: 'failing',
                        failed_count: 3,
                        problem: 'WAL archiving is failing: archive_command failed for 000000010000000000000007',
                    },
                }}
                busy={true}
                onRestore={() => undefined}
            />,
        );
        expect(screen.getByTestId('pitr-status')).toHaveAttribute('data-archive-state', 'failing');
        expect(screen.getByTestId('pitr-archive')).toHaveTextContent(
            'FAILING, last segment archived 42s ago, 3 failures',
        );
        expect(screen.getByTestId('pitr-archive-problem')).toHaveTextContent(/WAL archiving is failing/);
        expect(screen.getByRole('button', {name: 'Restore to the latest'})).toBeDisabled();
    });
});
