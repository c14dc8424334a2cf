// Enabling and disabling physical mode from the status area, against the fake sidecar over real
// HTTP (its routes refuse what the real sidecar's schemas refuse): the plan is shown before
// anything starts, and the job is asked to restart PostgreSQL only when the admin ticked the box.

import {cleanup, screen, waitFor, within} from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import React from 'react';

import type {PitrStatus} from '@mm-backup/api';

import {adminConfigWith} from '../../../tests/support/admin_config';
import {job, pitrPlan, startFakeBridge} from '../../../tests/support/fake_bridge';
import type {FakeBridge} from '../../../tests/support/fake_bridge';
import {renderWithStore} from '../../../tests/support/render_dashboard';
import DashboardSetting from '../admin_console/dashboard_setting';
import JobProgress from '../admin_console/job_progress';

const pitrOn: PitrStatus = {
    phase: 'enabled',
    window: null,
    archive: {
        state: 'ok',
        age_seconds: 12,
        failed_count: 0,
        last_archived_at: '2026-11-20T02:59:48.000Z',
        last_failed_at: null,
        waiting_segments: 0,
        problem: null,
    },
    backups: [],
    problem: null,
    checked_at: '2026-11-20T03:00:00.000Z',
};

describe('PitrSetup', () => {
    let bridge: FakeBridge;

    beforeEach(async () => {
        bridge = await startFakeBridge();
        bridge.state.onStartJob = (body) =>
            job('p'.repeat(26), {kind: body.kind as 'pitr-enable', status: 'running', options: body});
    });
    afterEach(async () => {
        cleanup();
        await new Promise((r) => setTimeout(r, 100));
        expect(bridge.rejected).toEqual([]);
        expect(bridge.invalidAnswers).toEqual([]);
        await bridge.close();
    });

    const posts = () => bridge.requests.filter((r) => r.method === 'POST' && r.path === '/v1/jobs');

    async function openEnable() {
        renderWithStore(<DashboardSetting config={adminConfigWith({sidecarurl: bridge.url})} siteUrl={bridge.url} />);
        const area = await screen.findByTestId('pitr-setup');
        expect(area).toHaveAttribute('data-phase', 'off');
        await userEvent.click(within(area).getByRole('button', {name: 'Enable point-in-time recovery'}));
        return screen.findByTestId('pitr-setup-modal');
    }

    it('shows the plan: each check, each setting that changes, whether PostgreSQL must restart', async () => {
        const modal = await openEnable();
        expect(await within(modal).findByTestId('pitr-plan-checks')).toBeInTheDocument();
        expect(screen.getByTestId('pitr-check-pgbackrest')).toHaveTextContent('OK: pgBackRest 2.45');
        expect(screen.getByTestId('pitr-check-archiving')).toHaveAttribute('data-status', 'ok');
        const changes = screen.getByTestId('pitr-plan-changes');
        expect(changes).toHaveTextContent('archive_mode: off → on (needs a PostgreSQL restart)');
        expect(changes).toHaveTextContent("archive_command: '' → pgbackrest archive-push %p (a reload applies it)");
        expect(modal).toHaveTextContent('/var/backups/mm/pgbackrest');
        // Not ticked: the page says what would wait for a restart.
        expect(screen.getByRole('checkbox', {name: /Restart PostgreSQL now/})).not.toBeChecked();
        expect(screen.getByTestId('pitr-restart-pending')).toHaveTextContent(
            'archive_mode wait for a PostgreSQL restart',
        );
        expect(posts()).toEqual([]);
    });

    it('without the box ticked, enable asks for no restart; ticked, it sends restart_postgres true', async () => {
        let modal = await openEnable();
        const enable = within(modal).getByRole('button', {name: 'Enable'});
        await waitFor(() => expect(enable).toBeEnabled());
        await userEvent.click(enable);
        await waitFor(() => expect(screen.queryByTestId('pitr-setup-modal')).not.toBeInTheDocument());
        expect(posts().map((r) => r.body)).toEqual([{kind: 'pitr-enable', restart_postgres: false}]);
        expect(await screen.findByTestId('job-progress')).toHaveTextContent('Enabling point-in-time recovery running');

        cleanup();
        bridge.requests.length = 0;
        bridge.state.jobs.clear();
        modal = await openEnable();
        await userEvent.click(await within(modal).findByRole('checkbox', {name: /Restart PostgreSQL now/}));
        expect(screen.queryByTestId('pitr-restart-pending')).not.toBeInTheDocument();
        await userEvent.click(within(modal).getByRole('button', {name: 'Enable'}));
        await waitFor(() => expect(posts()).toHaveLength(1));
        expect(posts()[0]?.body).toEqual({kind: 'pitr-enable', restart_postgres: true});
    });

    it('a failed check: shown with its hint, and Enable stays disabled', async () => {
        bridge.state.pitrPlan = pitrPlan({
            ready: false,
            changes: [],
            checks: [
                {
                    id: 'pgbackrest',
                    title: 'pgBackRest installed',
                    status: 'failed',
                    detail: 'pgBackRest is not installed',
                    hint: 'apt install pgbackrest',
                },
            ],
        });
        const modal = await openEnable();
        expect(await within(modal).findByTestId('pitr-check-pgbackrest')).toHaveTextContent(
            'FAILED: pgBackRest is not installed (apt install pgbackrest)',
        );
        expect(within(modal).getByRole('button', {name: 'Enable'})).toBeDisabled();
        expect(screen.queryByRole('checkbox', {name: /Restart PostgreSQL now/})).toBeNull();
    });

    it('when on: Disable shows what is put back, and the restart is asked for only when ticked', async () => {
        bridge.state.status = {...bridge.state.status, pitr: pitrOn};
        bridge.state.pitrPlan = pitrPlan({
            phase: 'enabled',
            changes: [],
            restart_needed: false,
            disable: {
                reverts: [
                    {name: 'archive_mode', to: null},
                    {name: 'archive_timeout', to: '0'},
                ],
                restart_needed: true,
            },
        });
        renderWithStore(<DashboardSetting config={adminConfigWith({sidecarurl: bridge.url})} siteUrl={bridge.url} />);
        const area = await screen.findByTestId('pitr-setup');
        expect(area).toHaveAttribute('data-phase', 'enabled');
        expect(within(area).queryByRole('button', {name: 'Enable point-in-time recovery'})).toBeNull();
        await userEvent.click(within(area).getByRole('button', {name: 'Disable point-in-time recovery'}));
        const modal = await screen.findByTestId('pitr-setup-modal');
        expect(await within(modal).findByTestId('pitr-plan-reverts')).toHaveTextContent(
            "archive_mode: reset (PostgreSQL's default or postgresql.conf)",
        );
        expect(screen.getByTestId('pitr-restart-pending')).toHaveTextContent('archive_mode stays on');
        await userEvent.click(within(modal).getByRole('checkbox', {name: /Restart PostgreSQL now/}));
        await userEvent.click(within(modal).getByRole('button', {name: 'Disable'}));
        await waitFor(() => expect(posts()).toHaveLength(1));
        expect(posts()[0]?.body).toEqual({kind: 'pitr-disable', restart_postgres: true});
    });

    it('a finished enable that waits for a restart says so', async () => {
        bridge.state.status = {...bridge.state.status, pitr: {...pitrOn, phase: 'enabling'}};
        bridge.state.jobs.set(
            'q'.repeat(26),
            job('q'.repeat(26), {
                kind: 'pitr-enable',
                status: 'succeeded',
                result: {pending_restart: ['archive_mode']},
            }),
        );
        bridge.state.status = {...bridge.state.status, running_job: null};
        renderWithStore(<DashboardSetting config={adminConfigWith({sidecarurl: bridge.url})} siteUrl={bridge.url} />);
        const area = await screen.findByTestId('pitr-setup');
        expect(area).toHaveAttribute('data-phase', 'enabling');
        expect(within(area).getByTestId('pitr-setup-pending')).toHaveTextContent('waits for a PostgreSQL restart');
        expect(within(area).getByRole('button', {name: 'Finish enabling'})).toBeEnabled();
        cleanup();
        renderWithStore(<JobProgress job={bridge.state.jobs.get('q'.repeat(26))!} />);
        expect(screen.getByTestId('job-pending-restart')).toHaveTextContent(
            'waiting for a PostgreSQL restart: archive_mode',
        );
    });
});
