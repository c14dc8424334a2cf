// The status warning for what Connect fixes: said in words, with the Connect action as a
// button (no command in backticks on the page), and gone once connecting has fixed it.

import {cleanup, screen, waitFor, within} from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import React from 'react';

import {adminConfigWith} from '../../../tests/support/admin_config';
import {startFakeBridge} from '../../../tests/support/fake_bridge';
import type {FakeBridge} from '../../../tests/support/fake_bridge';
import {renderWithStore} from '../../../tests/support/render_dashboard';
import DashboardSetting from '../admin_console/dashboard_setting';

// Worded as server-bridge service/sidecar.ts words them.
const NOT_CONNECTED = 'not connected: run `mm-backup connect` (or POST /v1/connect) to set up the bot and /backup';
const NOT_REGISTERED = '/backup is not registered in any team: run `mm-backup connect` with an admin token';
const DISK = 'the repository disk has 1.0 GB free; the official guidance asks for at least 2.0 GB';

describe('ConnectWarning', () => {
    let bridge: FakeBridge;

    beforeEach(async () => {
        bridge = await startFakeBridge();
    });
    afterEach(async () => {
        cleanup();
        await new Promise((r) => setTimeout(r, 100));
        await bridge.close();
    });

    const render = () =>
        renderWithStore(<DashboardSetting config={adminConfigWith({sidecarurl: bridge.url})} siteUrl={bridge.url} />);

    it('says the sidecar is not connected, lists what Connect fixes without the command, and connects from its button', async () => {
        bridge.state.status.sidecar = {
            version: '0.1.0',
            connected: false,
            problems: [NOT_CONNECTED, NOT_REGISTERED, DISK],
        };
        bridge.state.connect = {...bridge.state.connect, connected: false, teams: [], problems: [NOT_CONNECTED]};
        render();
        const warning = await screen.findByTestId('connect-warning');
        expect(warning).toHaveTextContent('Not connected to Mattermost');
        expect(within(warning).getByRole('listitem')).toHaveTextContent(/^\/backup is not registered in any team$/);
        // The other problems stay in the status's list; no backtick shows anywhere.
        expect(screen.getByTestId('setup-problems')).toHaveTextContent(DISK);
        expect(screen.getByTestId('setup-problems')).not.toHaveTextContent('/backup is not registered');
        expect(document.body.textContent).not.toContain('`');

        // What the sidecar says once connected; the page reloads the status after connecting.
        bridge.state.status.sidecar = {version: '0.1.0', connected: true, problems: [DISK]};
        await userEvent.click(within(warning).getByRole('button', {name: 'Connect now'}));
        await waitFor(() => expect(screen.queryByTestId('connect-warning')).toBeNull());
        expect(bridge.requests.some((r) => r.method === 'POST' && r.path === '/v1/connect')).toBe(true);
    });

    it('when connected, offers Connect for a problem connecting again fixes', async () => {
        bridge.state.status.sidecar = {version: '0.1.0', connected: true, problems: [NOT_REGISTERED]};
        render();
        const warning = await screen.findByTestId('connect-warning');
        expect(warning).toHaveTextContent('The connection to Mattermost needs to be set up again');
        expect(within(warning).getByRole('button', {name: 'Connect now'})).toBeEnabled();
        expect(screen.queryByTestId('setup-problems')).toBeNull();
    });

    it('shows nothing when connected without such problems, and code for commands in other problems', async () => {
        bridge.state.status.sidecar = {
            version: '0.1.0',
            connected: true,
            problems: ['set `pitr.stanza` in the config'],
        };
        render();
        const problems = await screen.findByTestId('setup-problems');
        expect(screen.queryByTestId('connect-warning')).toBeNull();
        expect(within(problems).getByText('pitr.stanza').tagName).toBe('CODE');
        expect(problems).toHaveTextContent('set pitr.stanza in the config');
    });
});
