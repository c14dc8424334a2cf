// Job kinds the page names: a physical backup (`pitr-backup`, whose "-" an ICU select key
// cannot hold) and a point-in-time restore, whose result names its target, not a snapshot.

import {screen} from '@testing-library/react';
import React from 'react';

import type {JobRecord} from '@mm-backup/api';

import {renderWithStore} from '../../../tests/support/render_dashboard';

import JobProgress from './job_progress';

const job = (over: Partial<JobRecord>): JobRecord => ({
    id: 'a'.repeat(26),
    kind: 'backup',
    trigger: 'console',
    options: {},
    status: 'succeeded',
    created_at: '2026-12-02T10:00:00.000Z',
    started_at: '2026-12-02T10:00:00.000Z',
    finished_at: '2026-12-02T10:00:05.000Z',
    duration_ms: 5000,
    steps: [],
    log_tail: [],
    ...over,
});

test('a pitr-backup job is a "Physical backup"', () => {
    renderWithStore(<JobProgress job={job({kind: 'pitr-backup', result: {label: '20261202-100000F'}})} />);
    expect(screen.getByTestId('job-progress')).toHaveTextContent(/^Physical backup succeeded/);
});

test('a restore to a point in time names its target', () => {
    renderWithStore(
        <JobProgress
            job={job({
                kind: 'restore',
                options: {at: '2026-12-02T09:30:00.000Z'},
                result: {target: '2026-12-02T09:30:00.000Z', files_snapshot_id: '20261202T090000Z-abcdef'},
            })}
        />,
    );
    expect(screen.getByTestId('job-progress')).toHaveTextContent(
        /^Restore succeeded — database restored to 2026-12-02T09:30:00.000Z/,
    );
});
