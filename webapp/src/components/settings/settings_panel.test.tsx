// The settings form: readable schedule preview, validation before saving, the sidecar's
// 400 messages mapped to fields, and the status channel from the real teams/channels. It
// saves through the Console's Save (setSaveNeeded on change, the registered save action
// sends PUT /v1/settings), played by tests/support/fake_console.ts.

import {cleanup, screen, waitFor, within} from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import React from 'react';

import {adminConfigWith} from '../../../tests/support/admin_config';
import {fakeConsole} from '../../../tests/support/fake_console';
import type {FakeConsole} from '../../../tests/support/fake_console';
import {startFakeBridge} from '../../../tests/support/fake_bridge';
import type {FakeBridge} from '../../../tests/support/fake_bridge';
import {renderWithStore} from '../../../tests/support/render_dashboard';
import DashboardSetting from '../admin_console/dashboard_setting';

describe('SettingsPanel', () => {
    let bridge: FakeBridge;
    let host: FakeConsole;

    beforeEach(async () => {
        bridge = await startFakeBridge();
        host = fakeConsole();
    });
    afterEach(async () => {
        // Unmount first, so no poll is in flight when the server goes away.
        cleanup();
        await new Promise((r) => setTimeout(r, 100));
        await bridge.close();
    });

    async function renderForm() {
        renderWithStore(
            <DashboardSetting config={adminConfigWith({sidecarurl: bridge.url})} siteUrl={bridge.url} {...host} />,
        );
        await screen.findByTestId('settings-form');
        await screen.findByRole('option', {name: 'Ops › Backups'});
    }
    const save = () => host.save();
    const puts = () => bridge.requests.filter((r) => r.method === 'PUT' && r.path === '/v1/settings');

    it('previews the schedule in words and updates it while typing', async () => {
        await renderForm();
        expect(screen.getByTestId('mm-backup-verify-cron-help')).toHaveTextContent('every week on Sunday at 05:00 UTC');
        const cron = screen.getByLabelText('Backup schedule (cron)');
        await userEvent.clear(cron);
        await userEvent.type(cron, '30 2 * * 1-5');
        const tz = screen.getByLabelText('Time zone');
        await userEvent.clear(tz);
        await userEvent.type(tz, 'Europe/Berlin');
        expect(screen.getByTestId('mm-backup-backup-cron-help')).toHaveTextContent(
            'every week on weekdays at 02:30 Europe/Berlin',
        );
        await userEvent.clear(cron);
        await userEvent.type(cron, '*/5 1,2 * * *');
        expect(screen.getByTestId('mm-backup-backup-cron-help')).toHaveTextContent('*/5 1,2 * * *');
    });

    it('shows errors next to the fields and sends nothing while the form is invalid', async () => {
        await renderForm();
        const cron = screen.getByLabelText('Backup schedule (cron)');
        await userEvent.clear(cron);
        await userEvent.type(cron, 'daily');
        const keepLast = screen.getByLabelText('Latest snapshots');
        await userEvent.clear(keepLast);
        await userEvent.type(keepLast, '0');
        const tz = screen.getByLabelText('Time zone');
        await userEvent.clear(tz);
        await userEvent.type(tz, 'Mars/Olympus');
        await userEvent.click(await screen.findByRole('checkbox', {name: 'Database (postgres)'}));
        expect(await save()).toEqual(['Backup settings not saved: correct the marked fields.']);
        expect(document.getElementById('mm-backup-backup-cron-error')).toHaveTextContent(
            'Enter a cron expression with 5 fields',
        );
        expect(document.getElementById('mm-backup-keep-last-error')).toHaveTextContent(
            'Enter a number from 1 to 1000.',
        );
        expect(document.getElementById('mm-backup-timezone-error')).toHaveTextContent('Enter an IANA time zone');
        expect(document.getElementById('mm-backup-exclude-error')).toHaveTextContent('The database cannot be excluded');
        expect(cron).toHaveAttribute('aria-invalid', 'true');
        expect(puts()).toHaveLength(0);
    });

    it("shows validation errors in the user's language", async () => {
        renderWithStore(
            <DashboardSetting config={adminConfigWith({sidecarurl: bridge.url})} siteUrl={bridge.url} {...host} />,
            undefined,
            {
                locale: 'de',
                messages: {
                    'mattermost-backup.settings.error.range': 'Eine Zahl von {min} bis {max} eingeben.',
                },
            },
        );
        await screen.findByTestId('settings-form');
        const keepDaily = screen.getByLabelText('Daily snapshots');
        await userEvent.clear(keepDaily);
        await userEvent.type(keepDaily, '5000');
        await save();
        expect(document.getElementById('mm-backup-keep-daily-error')).toHaveTextContent(
            'Eine Zahl von 0 bis 1000 eingeben.',
        );
        expect(puts()).toHaveLength(0);
    });

    it('saves a valid form as the sidecar expects, with the status channel picked from the list', async () => {
        await renderForm();
        await userEvent.selectOptions(screen.getByLabelText('Status channel'), 'ops/town-square');
        await userEvent.click(await screen.findByRole('checkbox', {name: 'Logs'}));
        const verify = screen.getByLabelText(/Restore drill schedule/);
        await userEvent.clear(verify);
        expect(await save()).toEqual([]);
        expect(puts()[0]?.body).toEqual({
            schedule: {backup: '0 3 * * *', verify: null, timezone: 'UTC', prune_after_backup: true},
            retention: {keep_last: 7, keep_daily: 7, keep_weekly: 4, keep_monthly: 6},
            backup: {mode: 'offline', exclude: ['logs']},
            notify: {successes: 'each', daily_summary_at: '09:00'},
            status_channel: 'ops/town-square',
        });
    });

    it('offers the off-site copy after each backup when the sidecar has the setting (API 2), and sends it', async () => {
        bridge.state.settings = {
            ...bridge.state.settings,
            backup: {...bridge.state.settings.backup, replicate_after: true},
        };
        await renderForm();
        const replicate = screen.getByRole('checkbox', {name: /Copy each backup off-site/});
        expect(replicate).toBeChecked();
        await userEvent.click(replicate);
        expect(await save()).toEqual([]);
        expect((puts()[0]?.body as {backup: {replicate_after?: boolean}}).backup.replicate_after).toBe(false);
    });

    it("enables the Console's Save on a change and registers one save action while mounted", async () => {
        const {unmount} = renderWithStore(
            <DashboardSetting config={adminConfigWith({sidecarurl: bridge.url})} siteUrl={bridge.url} {...host} />,
        );
        await screen.findByTestId('settings-form');
        expect(host.registered()).toBe(1);
        expect(host.saveNeededCalls()).toBe(0);
        await userEvent.click(screen.getByRole('checkbox', {name: /Apply retention after each backup/}));
        expect(host.saveNeededCalls()).toBe(1);
        expect(screen.queryByRole('button', {name: /Save/})).toBeNull();
        unmount();
        expect(host.registered()).toBe(0);
    });

    it('finds time zones by any part of their name and picks one from the list', async () => {
        await renderForm();
        const tz = screen.getByRole('combobox', {name: 'Time zone'});
        await userEvent.clear(tz);
        await userEvent.type(tz, 'new york');
        const list = screen.getByRole('listbox');
        expect(
            within(list)
                .getAllByRole('option')
                .map((o) => o.textContent),
        ).toEqual(['America/New_York']);
        await userEvent.click(within(list).getByRole('option', {name: 'America/New_York'}));
        expect(tz).toHaveValue('America/New_York');
        expect(screen.queryByRole('listbox')).toBeNull();
        await userEvent.clear(tz);
        await userEvent.type(tz, 'berl{ArrowDown}{ArrowUp}{Enter}');
        expect(tz).toHaveValue('Europe/Berlin');
        expect(await save()).toEqual([]);
        expect((puts()[0]?.body as {schedule: {timezone: string}}).schedule.timezone).toBe('Europe/Berlin');
    });

    it('hides the off-site setting from a sidecar that does not have it', async () => {
        await renderForm();
        expect(screen.queryByRole('checkbox', {name: /Copy each backup off-site/})).toBeNull();
    });

    it('names the components as the sidecar lists them (GET /v1/components), and excludes by their ids', async () => {
        bridge.state.components = [
            {
                id: 'database',
                title: 'Datenbank',
                description: 'Die Datenbank.',
                store: 'database',
                location: 'SqlSettings.DataSource',
            },
            {
                id: 'data',
                title: 'Dateiablage (Anhänge)',
                description: 'Hochgeladene Dateien.',
                store: 'files',
                location: 'FileSettings.Directory',
            },
            {
                id: 'bleve',
                title: 'Suchindex',
                description: 'Der Bleve-Index.',
                store: 'files',
                location: 'BleveSettings.IndexDir',
            },
        ];
        await renderForm();
        const exclude = document.getElementById('mm-backup-exclude') as HTMLElement;
        await waitFor(() => expect(within(exclude).getAllByRole('checkbox')).toHaveLength(3));
        expect(
            within(exclude)
                .getAllByRole('checkbox')
                .map((c) => c.closest('label')?.textContent?.trim()),
        ).toEqual(['Datenbank', 'Dateiablage (Anhänge)', 'Suchindex']);
        expect(screen.getByRole('checkbox', {name: 'Suchindex'}).closest('label')).toHaveAttribute(
            'title',
            'Der Bleve-Index.',
        );
        await userEvent.click(screen.getByRole('checkbox', {name: 'Dateiablage (Anhänge)'}));
        expect(await save()).toEqual([]);
        expect((puts()[0]?.body as {backup: {exclude: string[]}}).backup.exclude).toEqual(['data']);
        expect(bridge.requests.filter((r) => r.path === '/v1/components')).toHaveLength(1);
    });

    it('with a sidecar that does not list its components, says so and still offers the ids already excluded', async () => {
        bridge.state.settings = {...bridge.state.settings, backup: {mode: 'offline', exclude: ['logs']}};
        bridge.fail.set('GET /v1/components', {
            status: 404,
            body: {id: 'api.context.404.app_error', message: 'no route GET /v1/components', status_code: 404},
        });
        await renderForm();
        expect(await screen.findByText(/The sidecar did not list its components/)).toBeInTheDocument();
        const exclude = document.getElementById('mm-backup-exclude') as HTMLElement;
        expect(within(exclude).getAllByRole('checkbox')).toHaveLength(1);
        expect(screen.getByRole('checkbox', {name: 'Logs'})).toBeChecked();
    });

    it("puts the sidecar's 400 problems next to the fields they name, by path", async () => {
        bridge.fail.set('PUT /v1/settings', {
            status: 400,
            body: {
                id: 'api.context.invalid_param.app_error',
                status_code: 400,
                // The message text says something else on purpose: the page reads the paths, never the text.
                message: 'the settings are not valid',
                errors: [
                    {path: 'schedule.backup', message: 'invalid cron expression: hour 25 out of range'},
                    {path: 'notify.daily_summary_at', message: 'must be HH:MM'},
                    {path: 'offsite.bucket', message: 'something else broke'},
                ],
            },
        });
        await renderForm();
        await save();
        await waitFor(() =>
            expect(document.getElementById('mm-backup-backup-cron-error')).toHaveTextContent(
                'invalid cron expression: hour 25 out of range',
            ),
        );
        expect(document.getElementById('mm-backup-daily-at-error')).toHaveTextContent('must be HH:MM');
        expect(screen.getByText('offsite.bucket: something else broke')).toBeInTheDocument();
        expect(document.getElementById('mm-backup-keep-last-error')).toBeNull();
    });

    it('shows a 400 without field problems (a sidecar before API 2) whole, above the form', async () => {
        bridge.fail.set('PUT /v1/settings', {
            status: 400,
            body: {
                id: 'api.context.invalid_param.app_error',
                message: 'body.schedule.backup: invalid cron expression',
                status_code: 400,
            },
        });
        await renderForm();
        await save();
        expect(await screen.findByText('body.schedule.backup: invalid cron expression')).toBeInTheDocument();
    });
});
