// The overview shows what a killed job left: a stale lock (Mattermost may still be down) and
// jobs marked interrupted, loudly when the install may be half-restored. Status bodies are the
// sidecar's GET /v1/status shape (server-bridge/src/service/sidecar.ts, recovery_state.ts).

import {screen} from '@testing-library/react';
import React from 'react';

import type {Status} from '@mm-backup/api';

import {renderWithStore} from '../../../tests/support/render_dashboard';

import StatusSummary from './status_summary';

const base: Status = {
    mattermost: {url: 'http://127.0.0.1:8065', reachable: true, state: 'ok', version: '11.2.0', schema_version: 300},
    sidecar: {version: '0.1.0', connected: true, problems: []},
    repository: {
        path: '/var/opt/mattermost-backup',
        location: '/var/opt/mattermost-backup',
        snapshots: 1,
        bytes: 1024,
        free_bytes: 1024 ** 3,
        total_bytes: 2 * 1024 ** 3,
    },
    last_backup: null,
    last_backup_job: null,
    next_backup: null,
    running_job: null,
};

describe('StatusSummary after a killed job', () => {
    it('shows a stale lock with what its holder left', () => {
        renderWithStore(
            <StatusSummary
                status={{
                    ...base,
                    lock: {
                        state: 'stale',
                        kind: 'backup',
                        job_id: 'a'.repeat(26),
                        mattermost_stopped: true,
                        message:
                            'STALE LOCK: backup aaaa (pid 42) was killed; Mattermost was stopped by it and may still be down.',
                    },
                }}
            />,
        );
        expect(screen.getByTestId('stale-lock')).toHaveTextContent(
            'A backup job was killed before it finished and left its lock: STALE LOCK: backup aaaa (pid 42) was killed; Mattermost was stopped by it',
        );
    });

    it('shows interrupted jobs, a half-restored install as danger, and no duplicate "last backup failed" for them', () => {
        renderWithStore(
            <StatusSummary
                status={{
                    ...base,
                    lock: {state: 'free', message: 'no job is running'},
                    last_backup_job: {
                        id: 'b'.repeat(26),
                        status: 'failed',
                        error: {code: 'INTERRUPTED', message: 'Backup bbbb was interrupted'},
                    },
                    interrupted_jobs: [
                        {
                            id: 'c'.repeat(26),
                            kind: 'restore',
                            trigger: 'cli',
                            created_at: '2026-12-01T10:00:00.000Z',
                            finished_at: '2026-12-01T10:05:00.000Z',
                            message:
                                '⚠️ Restore cccc was interrupted. ⚠️ The restore took NO safety snapshot: the install may be HALF-RESTORED.',
                        },
                        {
                            id: 'b'.repeat(26),
                            kind: 'backup',
                            trigger: 'console',
                            created_at: '2026-12-01T09:00:00.000Z',
                            message: '⚠️ Backup bbbb was interrupted. Mattermost was started again and is healthy.',
                            hint: 'nothing to do',
                        },
                    ],
                }}
            />,
        );
        const shown = screen.getAllByTestId('interrupted-job');
        expect(shown).toHaveLength(2);
        expect(shown[0]).toHaveTextContent(
            'Interrupted restore job (Dec 01, 2026 10:05 AM): ⚠️ Restore cccc was interrupted. ⚠️ The restore took NO safety snapshot: the install may be HALF-RESTORED.',
        );
        expect(shown[0]).toHaveClass('alert-danger');
        expect(shown[1]).toHaveTextContent('Mattermost was started again and is healthy.');
        expect(shown[1]).toHaveTextContent('nothing to do');
        expect(shown[1]).toHaveClass('alert-warning');
        expect(screen.queryByText(/The last backup failed/)).toBeNull();
        expect(screen.queryByTestId('stale-lock')).toBeNull();
    });

    it('PostgreSQL left down with an unreadable record and no start command: said without them; nothing when null', () => {
        const {unmount} = renderWithStore(
            <StatusSummary
                status={{
                    ...base,
                    postgres_down: {
                        since: null,
                        reason: 'the file does not have the expected form',
                        auto_start: false,
                        start_command: null,
                        last_retry: null,
                        message: '…',
                    },
                }}
            />,
        );
        const banner = screen.getByTestId('postgres-down');
        expect(banner).toHaveTextContent('PostgreSQL may be left DOWN by mm-backup (its record cannot be read)');
        expect(banner).toHaveTextContent('Why: the file does not have the expected form');
        expect(banner).toHaveTextContent('mm-backup does not start it automatically');
        expect(screen.queryByTestId('postgres-down-start')).toBeNull();
        expect(screen.queryByTestId('postgres-down-retry')).toBeNull();
        unmount();
        renderWithStore(<StatusSummary status={{...base, postgres_down: null}} />);
        expect(screen.queryByTestId('postgres-down')).toBeNull();
    });
});
