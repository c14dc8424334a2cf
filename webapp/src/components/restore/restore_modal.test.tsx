// The restore modal's guard, against the fake sidecar over real HTTP.

import {cleanup, screen, waitFor} from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import React from 'react';

import {adminConfigWith} from '../../../tests/support/admin_config';
import {job, snapshot, startFakeBridge} from '../../../tests/support/fake_bridge';
import type {FakeBridge} from '../../../tests/support/fake_bridge';
import {renderWithStore} from '../../../tests/support/render_dashboard';
import DashboardSetting from '../admin_console/dashboard_setting';

describe('RestoreModal', () => {
    let bridge: FakeBridge;
    const ID = '20261120T030000Z-aaaaaa';

    beforeEach(async () => {
        bridge = await startFakeBridge({snapshots: [snapshot(ID)]});
        bridge.state.onStartJob = () => job('r'.repeat(26), {kind: 'restore', status: 'queued'});
    });
    afterEach(async () => {
        // Unmount first, so no poll is in flight when the server goes away.
        cleanup();
        await new Promise((r) => setTimeout(r, 100));
        await bridge.close();
    });

    async function openModal() {
        renderWithStore(<DashboardSetting config={adminConfigWith({sidecarurl: bridge.url})} siteUrl={bridge.url} />);
        await screen.findByTestId('snapshot-table');
        await userEvent.click(screen.getByRole('button', {name: 'Restore'}));
        return screen.findByTestId('restore-modal');
    }

    it('shows what will be overwritten, the version check and the safety snapshot note', async () => {
        const modal = await openModal();
        expect(await screen.findByTestId('restore-overwrites')).toHaveTextContent('database mattermost (all tables)');
        expect(screen.getByTestId('restore-version-check')).toHaveTextContent(
            'ok: snapshot schema 146, server schema 146',
        );
        expect(modal).toHaveTextContent('A safety snapshot of the current state is taken first');
        expect(bridge.requests.find((r) => r.path === '/v1/restore/prepare')?.body).toEqual({snapshot_id: ID});
    });

    it('keeps Restore disabled until the snapshot id is typed exactly, then starts the restore with the token', async () => {
        await openModal();
        const input = await screen.findByLabelText(/Type the snapshot id/);
        const confirm = screen
            .getAllByRole('button', {name: 'Restore'})
            .find((b) => b.closest('[data-testid="restore-modal"]'))!;
        expect(confirm).toBeDisabled();
        await userEvent.type(input, ID.slice(0, -1));
        expect(confirm).toBeDisabled();
        await userEvent.type(input, 'A');
        expect(confirm).toBeDisabled();
        await userEvent.clear(input);
        await userEvent.type(input, ` ${ID}`);
        expect(confirm).toBeDisabled();
        await userEvent.clear(input);
        await userEvent.type(input, ID);
        expect(confirm).toBeEnabled();
        expect(bridge.requests.some((r) => r.method === 'POST' && r.path === '/v1/jobs')).toBe(false);
        await userEvent.click(confirm);
        await waitFor(() => expect(screen.queryByTestId('restore-modal')).not.toBeInTheDocument());
        expect(bridge.requests.find((r) => r.method === 'POST' && r.path === '/v1/jobs')?.body).toEqual({
            kind: 'restore',
            confirmation_token: 'a'.repeat(32),
        });
        expect(await screen.findByTestId('job-progress')).toHaveTextContent('Restore');
    });

    it('shows the sidecar error when the snapshot cannot be restored', async () => {
        bridge.fail.set('POST /v1/restore/prepare', {
            status: 412,
            body: {
                id: 'mm_backup.precondition_failed',
                message: 'checksum mismatch in objects',
                hint: 'run a deep verify',
                status_code: 412,
            },
        });
        await openModal();
        expect(await screen.findByRole('alert')).toHaveTextContent('checksum mismatch in objects (run a deep verify)');
        expect(screen.queryByLabelText(/Type the snapshot id/)).not.toBeInTheDocument();
    });

    it('Cancel closes without starting anything', async () => {
        await openModal();
        await screen.findByLabelText(/Type the snapshot id/);
        await userEvent.click(screen.getByRole('button', {name: 'Cancel'}));
        expect(screen.queryByTestId('restore-modal')).not.toBeInTheDocument();
        expect(bridge.requests.some((r) => r.method === 'POST' && r.path === '/v1/jobs')).toBe(false);
    });
});
