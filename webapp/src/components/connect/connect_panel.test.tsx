// Connect from the page: the admin's session creates the bot and its token, the sidecar
// gets only the bot token; disabled bot creation is explained and can be switched on.

import {cleanup, screen, waitFor} from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import React from 'react';

import {adminConfigWith} from '../../../tests/support/admin_config';
import {CHANNEL_ID, TEAM_ID, startFakeBridge} from '../../../tests/support/fake_bridge';
import type {FakeBridge} from '../../../tests/support/fake_bridge';
import {renderWithStore} from '../../../tests/support/render_dashboard';
import DashboardSetting from '../admin_console/dashboard_setting';

describe('ConnectPanel', () => {
    let bridge: FakeBridge;

    beforeEach(async () => {
        bridge = await startFakeBridge();
        bridge.state.connect = {
            ...bridge.state.connect,
            connected: false,
            teams: [],
            problems: ['not connected: run `mm-backup connect`'],
        };
    });
    afterEach(async () => {
        cleanup();
        await new Promise((r) => setTimeout(r, 100));
        await bridge.close();
    });

    async function renderPanel() {
        renderWithStore(<DashboardSetting config={adminConfigWith({sidecarurl: bridge.url})} siteUrl={bridge.url} />);
        expect(await screen.findByText(/Not connected: the sidecar has no bot/)).toBeInTheDocument();
    }

    it('creates the bot, adds it to the status channel and hands only the bot token to the sidecar', async () => {
        await renderPanel();
        await userEvent.click(screen.getByRole('button', {name: 'Connect'}));
        expect(await screen.findByTestId('connect-report')).toHaveTextContent('The sidecar now uses @mm-backup.');
        expect(bridge.requests.find((r) => r.path === '/api/v4/bots')?.body).toMatchObject({username: 'mm-backup'});
        expect(bridge.state.mm.members).toEqual([
            `teams:${TEAM_ID}:botuser0000000000000000000`,
            `channels:${CHANNEL_ID}:botuser0000000000000000000`,
        ]);
        // /backup is registered in every team with the admin's session, pointing at the sidecar.
        expect(bridge.state.mm.commands.map((c) => `${c.team_id} ${c.trigger} ${c.method} ${c.url}`)).toEqual(
            bridge.state.teams.map((t) => `${t.id} backup P http://sidecar.test/v1/slash`),
        );
        expect(bridge.requests.find((r) => r.path === '/v1/connect' && r.method === 'POST')?.body).toEqual({
            bot_token: bridge.state.mm.tokens[0],
            command_tokens: bridge.state.mm.commands.map((c) => ({
                team_id: c.team_id,
                team_name: bridge.state.teams.find((t) => t.id === c.team_id)?.name,
                command_id: c.id,
                token: c.token,
            })),
        });
        expect(screen.queryByTestId('connect-cli')).toBeNull();
        expect(await screen.findByText(/Connected: the sidecar posts as its bot/)).toBeInTheDocument();
    });

    it('offers to switch on custom slash commands before creating anything', async () => {
        bridge.state.mm.commandsEnabled = false;
        await renderPanel();
        await userEvent.click(screen.getByRole('button', {name: 'Connect'}));
        const alert = await screen.findByRole('alert');
        expect(alert).toHaveTextContent('Custom slash commands are disabled');
        expect(alert).toHaveTextContent('Enable Custom Slash Commands');
        expect(bridge.state.mm.bot).toBeNull();
        await userEvent.click(screen.getByRole('button', {name: 'Enable and connect'}));
        await waitFor(() => expect(bridge.state.mm.configPatches).toEqual([{ServiceSettings: {EnableCommands: true}}]));
        await waitFor(() => expect(bridge.state.mm.commands.length).toBe(bridge.state.teams.length));
    });

    it('offers to allow the sidecar as an untrusted internal connection, keeping the existing entries', async () => {
        bridge.state.connect = {...bridge.state.connect, slash_url: 'http://127.0.0.1:8066/v1/slash'};
        bridge.state.mm.untrusted = 'webhooks.internal';
        await renderPanel();
        await userEvent.click(screen.getByRole('button', {name: 'Connect'}));
        expect(await screen.findByRole('alert')).toHaveTextContent(
            'until "127.0.0.1/32" is an allowed untrusted internal connection',
        );
        await userEvent.click(screen.getByRole('button', {name: 'Enable and connect'}));
        await waitFor(() =>
            expect(bridge.state.mm.configPatches).toEqual([
                {ServiceSettings: {AllowedUntrustedInternalConnections: 'webhooks.internal 127.0.0.1/32'}},
            ]),
        );
        expect(await screen.findByTestId('connect-report')).toHaveTextContent('@mm-backup');
    });

    it('shows the CLI fallback when /backup cannot be registered in a team', async () => {
        bridge.state.teams = [
            ...bridge.state.teams,
            {id: 'broken'.padEnd(26, '0'), name: 'broken', display_name: 'Broken'},
        ];
        await renderPanel();
        const origCommands = bridge.state.mm.commands;
        bridge.fail.set('POST /api/v4/commands', {
            status: 403,
            body: {
                id: 'api.context.permissions.app_error',
                message: 'You do not have the appropriate permissions.',
                status_code: 403,
            },
        });
        await userEvent.click(screen.getByRole('button', {name: 'Connect'}));
        expect(await screen.findByTestId('connect-report-problems')).toHaveTextContent(
            /\/backup could not be registered in team .*appropriate permissions/,
        );
        expect(screen.getByTestId('connect-cli')).toHaveTextContent('connect --admin-token-file');
        expect(origCommands).toEqual([]);
    });

    it("shows why Connect is blocked in the user's language", async () => {
        bridge.state.mm.commandsEnabled = false;
        renderWithStore(
            <DashboardSetting config={adminConfigWith({sidecarurl: bridge.url})} siteUrl={bridge.url} />,
            undefined,
            {
                locale: 'de',
                messages: {
                    'mattermost-backup.connect.connect': 'Verbinden',
                    'mattermost-backup.connect.blocked.commands': 'Eigene Slash-Befehle sind ausgeschaltet.',
                    'mattermost-backup.connect.path.commands': 'Systemkonsole > Integrationen > Eigene Slash-Befehle',
                },
            },
        );
        await userEvent.click(await screen.findByRole('button', {name: 'Verbinden'}));
        const alert = await screen.findByRole('alert');
        expect(alert).toHaveTextContent('Eigene Slash-Befehle sind ausgeschaltet.');
        expect(alert).toHaveTextContent('Systemkonsole > Integrationen > Eigene Slash-Befehle');
        expect(alert).not.toHaveTextContent('Custom slash commands are disabled');
    });

    it('explains disabled bot creation and enables it on request', async () => {
        bridge.state.mm.botCreation = false;
        await renderPanel();
        await userEvent.click(screen.getByRole('button', {name: 'Connect'}));
        const alert = await screen.findByRole('alert');
        expect(alert).toHaveTextContent('Mattermost does not allow creating bot accounts.');
        expect(alert).toHaveTextContent('System Console > Integrations > Bot Accounts > Enable Bot Account Creation');
        await userEvent.click(screen.getByRole('button', {name: 'Enable and connect'}));
        await waitFor(() =>
            expect(bridge.state.mm.configPatches).toEqual([{ServiceSettings: {EnableBotAccountCreation: true}}]),
        );
        expect(await screen.findByTestId('connect-report')).toHaveTextContent('@mm-backup');
    });
});
