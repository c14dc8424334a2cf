// Drives the whole dashboard against a real local HTTP server (tests/support/fake_bridge)
// with a real Redux store and user events; only the server's answers are scripted.

import {cleanup, screen, waitFor, within} from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import React from 'react';

import {adminConfigWith} from '../../../tests/support/admin_config';
import {job, snapshot, startFakeBridge} from '../../../tests/support/fake_bridge';
import type {FakeBridge} from '../../../tests/support/fake_bridge';
import {unusedUrl} from '../../../tests/support/fake_sidecar';
import {renderWithStore} from '../../../tests/support/render_dashboard';
import {API_VERSION, startJobRequest} from '@mm-backup/api';
import {setTiming} from 'src/timing';

import DashboardSetting from './dashboard_setting';

describe('DashboardSetting', () => {
    let bridge: FakeBridge;

    beforeAll(() => setTiming({jobPollMs: 40, retryBaseMs: 40, retryMaxMs: 200}));
    beforeEach(async () => {
        bridge = await startFakeBridge();
        document.cookie = 'MMCSRF=csrf-token-1';
    });
    afterEach(async () => {
        // Unmount first, so no poll is in flight when the server goes away.
        cleanup();
        await new Promise((r) => setTimeout(r, 100));
        await bridge.close();
    });

    const renderDashboard = (url = bridge.url) =>
        renderWithStore(<DashboardSetting config={adminConfigWith({sidecarurl: url})} siteUrl={bridge.url} />);

    it('idle with no snapshots: status, empty table, settings and connect', async () => {
        renderDashboard();
        expect(screen.getByText(/Checking the backup sidecar at/)).toBeInTheDocument();
        expect(await screen.findByTestId('snapshots-empty')).toHaveTextContent('No snapshots yet');
        expect(screen.getByTestId('last-backup')).toHaveTextContent('No backup yet');
        expect(screen.getByTestId('repository')).toHaveTextContent('0 snapshots, 0 B used, 80 GB free');
        expect(screen.getByTestId('next-backup')).toHaveTextContent('Nov 21, 2026');
        expect(await screen.findByTestId('mm-backup-backup-cron-help')).toHaveTextContent('every day at 03:00 UTC');
        expect(await screen.findByText(/Connected: the sidecar posts as its bot in ops\/backups/)).toBeInTheDocument();
        expect(screen.queryByTestId('connect-cli')).toBeNull(); // shown only when /backup cannot be registered from the page
    });

    it('PostgreSQL left down: an error banner with why, since when, the start command and the docs, all as text', async () => {
        bridge.state.status.postgres_down = {
            since: '2026-12-03T15:40:00.000Z',
            reason: 'it did not start with the new settings (<img src=x onerror="window.hacked=1">)',
            auto_start: true,
            start_command: "/usr/lib/postgresql/15/bin/pg_ctl start -D '/var/lib/postgresql/15/main'",
            last_retry: {at: '2026-12-03T15:45:00.000Z', outcome: 'down', message: 'FATAL: <b>no</b> shared memory'},
            message: 'PostgreSQL was left DOWN by mm-backup',
        };
        const {container} = renderDashboard();
        const banner = await screen.findByTestId('postgres-down');
        expect(banner).toHaveClass('alert', 'alert-danger');
        expect(banner).toHaveAttribute('role', 'alert');
        expect(banner).toHaveTextContent('PostgreSQL was left DOWN by mm-backup since Dec 03, 2026 3:40 PM');
        expect(screen.getByTestId('postgres-down-reason')).toHaveTextContent(
            'Why: it did not start with the new settings (<img src=x onerror="window.hacked=1">)',
        );
        const start = screen.getByTestId('postgres-down-start');
        expect(start.querySelector('code')).toHaveTextContent(
            "/usr/lib/postgresql/15/bin/pg_ctl start -D '/var/lib/postgresql/15/main'",
        );
        expect(screen.getByTestId('postgres-down-retry')).toHaveTextContent(
            'Last retry (3:45 PM): FATAL: <b>no</b> shared memory',
        );
        expect(banner).toHaveTextContent('docs/pitr.md, section “PostgreSQL left down”');
        // The API's text is text: no element made from it.
        expect(container.querySelector('img')).toBeNull();
        expect(banner.querySelector('b')).toBeNull();
        // It comes before everything else of the overview.
        expect(container.querySelector('.mattermost-backup-status')?.firstElementChild).toBe(banner);
    });

    it('many snapshots: one row each with size, new data, verification and off-site state', async () => {
        bridge.state.snapshots = Array.from({length: 30}, (_, i) =>
            snapshot(`20261120T0300${String(i).padStart(2, '0')}Z-aaaaaa`, {
                verification: {state: i % 3 === 0 ? 'deep_ok' : i % 3 === 1 ? 'ok' : 'failed'},
                offsite: i % 2 ? 'present' : 'absent',
            }),
        );
        bridge.state.status.last_backup = {
            snapshot_id: 'x',
            finished_at: '2026-11-20T03:00:00Z',
            mode: 'offline',
            trigger: 'schedule',
            bytes: 5 * 1024 ** 3,
            new_bytes: 12 * 1024 ** 2,
            duration_ms: 95_000,
            downtime_ms: 61_000,
            verification: 'ok',
        };
        renderDashboard();
        const table = await screen.findByTestId('snapshot-table');
        expect(within(table).getAllByRole('row')).toHaveLength(31);
        const first = table.querySelector('[data-snapshot-id="20261120T030000Z-aaaaaa"]') as HTMLElement;
        expect(first).toHaveTextContent('5.0 GB');
        expect(first).toHaveTextContent('12 MB');
        expect(first).toHaveTextContent('restore drill ok');
        expect(first).toHaveTextContent('absent');
        expect(screen.getByTestId('last-backup')).toHaveTextContent(
            'offline, 5.0 GB (12 MB new), took 1m 35s, Mattermost down for 1m 1s',
        );
    });

    it('a snapshot not signed by a trusted key is marked and cannot be restored from the page', async () => {
        bridge.state.snapshots = [
            snapshot('20261120T030000Z-aaaaaa', {trust: 'signed'}),
            snapshot('20261120T040000Z-bbbbbb', {trust: 'unsigned'}),
            snapshot('20261120T050000Z-cccccc', {trust: 'untrusted'}),
        ];
        renderDashboard();
        const table = await screen.findByTestId('snapshot-table');
        const row = (id: string) => table.querySelector(`[data-snapshot-id="${id}"]`) as HTMLElement;
        const restoreButton = (id: string) => within(row(id)).getByRole('button', {name: 'Restore'});
        expect(within(row('20261120T030000Z-aaaaaa')).queryByTestId('snapshot-trust')).toBeNull();
        expect(restoreButton('20261120T030000Z-aaaaaa')).toBeEnabled();
        expect(within(row('20261120T040000Z-bbbbbb')).getByTestId('snapshot-trust')).toHaveTextContent('not signed');
        expect(within(row('20261120T040000Z-bbbbbb')).getByTestId('snapshot-trust').getAttribute('title')).toMatch(
            /mm-backup sign-snapshots/,
        );
        expect(restoreButton('20261120T040000Z-bbbbbb')).toBeDisabled();
        expect(within(row('20261120T050000Z-cccccc')).getByTestId('snapshot-trust')).toHaveTextContent('untrusted');
        expect(restoreButton('20261120T050000Z-cccccc')).toBeDisabled();
    });

    it('not connected: says what to check when nothing listens at the URL', async () => {
        const url = await unusedUrl();
        const consoleError = jest.spyOn(console, 'error').mockImplementation(() => undefined);
        renderDashboard(url);
        const alert = await screen.findByRole('alert');
        consoleError.mockRestore();
        expect(alert).toHaveTextContent(`Cannot reach the backup sidecar at ${url}.`);
        expect(alert).toHaveTextContent('the sidecar is not running, or the URL, host or port is wrong');
        expect(alert).toHaveTextContent(`Opening ${url}/healthz in this browser should show "status":"ok"`);
        expect(alert).toHaveTextContent('check that the reverse proxy forwards it to http://127.0.0.1:8066');
    });

    it('recognises Mattermost answering in place of the sidecar (no proxy rule)', async () => {
        const html = {status: 200, body: '<!doctype html><title>Mattermost</title>', contentType: 'text/html'};
        bridge.fail.set('GET /v1/status', html);
        bridge.fail.set('GET /healthz', html);
        renderDashboard();
        expect(await screen.findByRole('alert')).toHaveTextContent(
            'The reverse proxy probably does not forward this path to the sidecar',
        );
    });

    it('reports a proxy error and loads after the admin fixes it and checks again', async () => {
        bridge.fail.set('GET /v1/status', {status: 502, body: {message: 'Bad Gateway'}});
        bridge.fail.set('GET /healthz', {status: 502, body: {message: 'Bad Gateway'}});
        renderDashboard();
        const alert = await screen.findByRole('alert');
        expect(alert).toHaveTextContent('The URL answered with an HTTP error');
        expect(alert).toHaveTextContent('Details: HTTP 502');
        bridge.fail.clear();
        await userEvent.click(screen.getByRole('button', {name: 'Check again'}));
        expect(await screen.findByTestId('snapshots-empty')).toBeInTheDocument();
        expect(screen.queryByText(/Cannot reach/)).not.toBeInTheDocument();
    });

    it('unauthorized: the sidecar refused the session', async () => {
        bridge.fail.set('GET /v1/status', {
            status: 401,
            body: {
                id: 'api.context.session_expired.app_error',
                message: 'the Mattermost session is invalid or expired: sign in again',
                status_code: 401,
            },
        });
        renderDashboard();
        const alert = await screen.findByRole('alert');
        expect(alert).toHaveTextContent(
            'The backup sidecar refused your Mattermost session: the Mattermost session is invalid or expired',
        );
        expect(alert).toHaveTextContent('listen.allowedOrigins');
    });

    it('forbidden: the user is not a system admin', async () => {
        bridge.fail.set('GET /v1/status', {
            status: 403,
            body: {id: 'api.context.permissions.app_error', message: '@alice is not a system admin', status_code: 403},
        });
        renderDashboard();
        expect(await screen.findByRole('alert')).toHaveTextContent(
            'Only system admins can manage backups. The sidecar says: @alice is not a system admin',
        );
    });

    it('running: Back up now posts the mode with the CSRF header, shows progress, survives Mattermost restarting, then succeeds', async () => {
        const id = 'b'.repeat(26);
        bridge.state.onStartJob = () => job(id);
        bridge.state.jobs.set(id, job(id));
        renderDashboard();
        await screen.findByTestId('snapshots-empty');
        await userEvent.selectOptions(screen.getByRole('combobox', {name: 'Backup mode'}), 'online');
        await userEvent.click(screen.getByRole('button', {name: 'Back up now'}));

        const post = await waitFor(
            () =>
                bridge.requests.find((r) => r.method === 'POST' && r.path === '/v1/jobs') ??
                Promise.reject(new Error('no POST yet')),
        );
        expect(post?.body).toEqual({kind: 'backup', mode: 'online'});
        expect(post?.headers['x-csrf-token']).toBe('csrf-token-1');
        expect(post?.headers['x-requested-with']).toBe('XMLHttpRequest');

        const progress = await screen.findByTestId('job-progress');
        expect(screen.getByRole('progressbar')).toHaveAttribute('aria-valuenow', '63');
        expect(screen.getByTestId('job-timing')).toHaveTextContent(
            /Dump the database \(50 of 100 MB\) · 63% · elapsed 3\ds · about 1\ds left/,
        );
        expect(progress.querySelectorAll('[data-step-status="succeeded"]')).toHaveLength(2);

        // Mattermost goes down and the proxy drops requests: the page says so and retries.
        // jsdom also logs the dropped connections on the console; expected here.
        const consoleError = jest.spyOn(console, 'error').mockImplementation(() => undefined);
        bridge.fail.set(`GET /v1/jobs/${id}`, 'drop');
        expect(await screen.findByText(/Mattermost is restarting…/)).toBeInTheDocument();
        consoleError.mockRestore();

        bridge.fail.clear();
        bridge.state.snapshots = [snapshot('20261120T030000Z-aaaaaa')];
        bridge.state.jobs.set(
            id,
            job(id, {
                status: 'succeeded',
                finished_at: new Date().toISOString(),
                current_step: undefined,
                progress: undefined,
                result: {snapshot_id: '20261120T030000Z-aaaaaa'},
                steps: job(id).steps.map((s) => ({...s, status: 'succeeded'})),
            }),
        );
        await waitFor(() => expect(screen.getByTestId('job-progress')).toHaveAttribute('data-status', 'succeeded'));
        expect(screen.queryByText(/Mattermost is restarting/)).not.toBeInTheDocument();
        expect(screen.getByTestId('job-progress')).toHaveTextContent(
            'Backup succeeded — snapshot 20261120T030000Z-aaaaaa',
        );
        expect(await screen.findByTestId('snapshot-table')).toHaveTextContent('20261120T030000Z-aaaaaa');
    });

    it('a backup whose off-site copy failed: succeeded, with the warning and what to do', async () => {
        const id = 'w'.repeat(26);
        // POST /v1/jobs answers with this job and GET /v1/jobs/{id} then serves it.
        const done = job(id, {
            status: 'succeeded',
            finished_at: new Date().toISOString(),
            current_step: undefined,
            progress: undefined,
            result: {snapshot_id: '20261120T030000Z-aaaaaa'},
            steps: job(id).steps.map((s) => ({...s, status: 'succeeded'})),
            warnings: [
                {
                    followUp: 'replicate',
                    step: 'offsite-upload',
                    code: 'STORAGE_FAILED',
                    message: 'the off-site copy failed: the bucket did not answer',
                    hint: 'run mm-backup replicate once the bucket is back',
                },
            ],
        });
        bridge.state.onStartJob = () => done;
        renderDashboard();
        await screen.findByTestId('snapshots-empty');
        await userEvent.click(screen.getByRole('button', {name: 'Back up now'}));
        const warnings = await screen.findByTestId('job-warnings');
        expect(screen.getByTestId('job-progress')).toHaveAttribute('data-status', 'succeeded');
        expect(warnings).toHaveTextContent('Done with warnings');
        expect(warnings).toHaveTextContent('the off-site copy failed: the bucket did not answer');
        expect(warnings).toHaveTextContent('run mm-backup replicate once the bucket is back');
    });

    it('Back up now starts in the configured default mode once the settings arrive, until the admin picks another', async () => {
        bridge.state.settings.backup.mode = 'online';
        renderDashboard();
        await screen.findByTestId('settings-form');
        expect(screen.getByRole('combobox', {name: 'Backup mode'})).toHaveValue('online');
        await userEvent.click(screen.getByRole('button', {name: 'Back up now'}));
        const post = await waitFor(
            () =>
                bridge.requests.find((r) => r.method === 'POST' && r.path === '/v1/jobs') ??
                Promise.reject(new Error('no POST yet')),
        );
        expect(post.body).toEqual({kind: 'backup', mode: 'online'});
    });

    it('physical mode: Back up now offers a logical dump, and sends logical only when it is ticked', async () => {
        const pitr = {
            phase: 'enabled',
            window: null,
            archive: {
                state: 'ok',
                age_seconds: 10,
                failed_count: 0,
                last_archived_at: '2026-12-02T12:00:00.000Z',
                last_failed_at: null,
                waiting_segments: 0,
                problem: null,
            },
            backups: [],
            problem: null,
            checked_at: '2026-12-02T12:15:00.000Z',
        };
        bridge.state.status = {...bridge.state.status, pitr};
        bridge.state.onStartJob = () => job('l'.repeat(26));
        renderDashboard();
        await screen.findByTestId('snapshots-empty');
        const option = screen.getByRole('checkbox', {name: /With a logical dump of the database/});
        expect(option).not.toBeChecked();
        await userEvent.click(option);
        await userEvent.click(screen.getByRole('button', {name: 'Back up now'}));
        const post = await waitFor(
            () =>
                bridge.requests.find((r) => r.method === 'POST' && r.path === '/v1/jobs') ??
                Promise.reject(new Error('no POST yet')),
        );
        expect(post.body).toEqual({kind: 'backup', mode: 'offline', logical: true});
        // What the sidecar validates the request with (strict: an unknown field would be a 400).
        expect(startJobRequest.safeParse(post.body).success).toBe(true);
    });

    it('not in physical mode: no logical-dump option, and Back up now sends no logical', async () => {
        renderDashboard();
        await screen.findByTestId('snapshots-empty');
        expect(screen.queryByRole('checkbox', {name: /logical dump/})).toBeNull();
        await userEvent.click(screen.getByRole('button', {name: 'Back up now'}));
        const post = await waitFor(
            () =>
                bridge.requests.find((r) => r.method === 'POST' && r.path === '/v1/jobs') ??
                Promise.reject(new Error('no POST yet')),
        );
        expect(post.body).toEqual({kind: 'backup', mode: 'offline'});
    });

    it('a sidecar older than the plugin (API 1, no version header): the page says to upgrade the sidecar and still works', async () => {
        bridge.state.apiVersion = null;
        renderDashboard();
        expect(await screen.findByTestId('api-skew')).toHaveTextContent(
            `The backup sidecar (mm-backup 0.1.0) speaks API v1, this plugin v${API_VERSION}: upgrade the sidecar`,
        );
        expect(await screen.findByTestId('snapshots-empty')).toBeInTheDocument();
    });

    it('a sidecar newer than the plugin: its new fields are ignored, an answer this page cannot read says so, and the page says to upgrade the plugin', async () => {
        bridge.state.apiVersion = API_VERSION + 1;
        // A field this plugin does not know: read past, not a failure.
        (bridge.state.status as Record<string, unknown>).replication = {lag_seconds: 3};
        // A field this plugin needs, changed in the newer API: the answer cannot be read.
        bridge.fail.set('GET /v1/snapshots', {
            status: 200,
            body: {
                snapshots: [{...snapshot('20261120T030000Z-aaaaaa'), bytes: '5 GiB'}],
                broken: [],
                offsite_warning: null,
            },
        });
        renderDashboard();
        expect(await screen.findByTestId('api-skew')).toHaveTextContent(
            `speaks API v${API_VERSION + 1}, this plugin v${API_VERSION}: upgrade this plugin`,
        );
        expect(await screen.findByTestId('connection-incompatible')).toHaveTextContent(
            "The backup sidecar answered, but this page cannot read the answer: the sidecar's answer to GET /v1/snapshots is not what this plugin expects (snapshots.0.bytes:",
        );
        expect(screen.queryByTestId('snapshot-table')).toBeNull();
    });

    it('the same API version: no banner', async () => {
        renderDashboard();
        await screen.findByTestId('snapshots-empty');
        expect(screen.queryByTestId('api-skew')).toBeNull();
        expect(bridge.invalidAnswers).toEqual([]);
    });

    it('opened while Mattermost is stopped: says it is restarting, retries by itself and loads once it is back', async () => {
        bridge.state.snapshots = [snapshot('20261120T030000Z-aaaaaa')];
        bridge.fail.set('GET /v1/status', {
            status: 503,
            body: {
                id: 'mm_backup.mattermost_unavailable',
                message: 'Mattermost cannot be reached to check this session, and it was not checked recently',
                status_code: 503,
            },
        });
        renderDashboard();
        expect(await screen.findByText(/Mattermost is restarting…/)).toBeInTheDocument();
        const tries = () => bridge.requests.filter((r) => r.method === 'GET' && r.path === '/v1/status').length;
        await waitFor(() => expect(tries()).toBeGreaterThanOrEqual(3));
        bridge.fail.clear();
        expect(await screen.findByTestId('snapshot-table')).toHaveTextContent('20261120T030000Z-aaaaaa');
        expect(screen.queryByText(/Mattermost is restarting/)).not.toBeInTheDocument();
    });

    it('failed: a failed job shows the error and its hint, and the last failure shows in the status', async () => {
        const id = 'c'.repeat(26);
        const failed = job(id, {
            status: 'failed',
            finished_at: new Date().toISOString(),
            error: {code: 'DISK_SPACE', message: 'not enough space in the repository', hint: 'free space or run prune'},
        });
        bridge.state.status.running_job = job(id);
        bridge.state.jobs.set(id, failed);
        bridge.state.status.last_backup_job = null;
        renderDashboard();
        await screen.findByTestId('job-progress');
        bridge.state.status.running_job = null;
        bridge.state.status.last_backup_job = {id, status: 'failed', error: failed.error};
        await waitFor(() => expect(screen.getByTestId('job-progress')).toHaveAttribute('data-status', 'failed'));
        const alerts = await screen.findAllByRole('alert');
        expect(alerts.map((a) => a.textContent).join(' ')).toContain('not enough space in the repository');
        expect(alerts.map((a) => a.textContent).join(' ')).toContain('free space or run prune');
        await waitFor(() => expect(screen.getByText(/The last backup failed: not enough space/)).toBeInTheDocument());
    });

    it('verify and deep verify start verify jobs for the row', async () => {
        bridge.state.snapshots = [snapshot('20261120T030000Z-aaaaaa')];
        renderDashboard();
        await screen.findByTestId('snapshot-table');
        await userEvent.click(screen.getByRole('button', {name: 'Deep verify'}));
        await waitFor(() =>
            expect(
                bridge.requests.filter((r) => r.path === '/v1/jobs' && r.method === 'POST').map((r) => r.body),
            ).toEqual([{kind: 'verify', snapshot_id: '20261120T030000Z-aaaaaa', deep: true}]),
        );
    });

    it('shows a snapshot manifest and the log of the job that made it', async () => {
        bridge.state.snapshots = [snapshot('20261120T030000Z-aaaaaa')];
        bridge.state.jobs.set(
            'd'.repeat(26),
            job('d'.repeat(26), {
                status: 'succeeded',
                result: {snapshot_id: '20261120T030000Z-aaaaaa'},
                log_tail: [{at: 'T', level: 'info', message: 'database dumped'}],
            }),
        );
        renderDashboard();
        await screen.findByTestId('snapshot-table');
        await userEvent.click(screen.getByRole('button', {name: 'Manifest'}));
        expect(await screen.findByTestId('text-modal')).toHaveTextContent('"formatVersion": 1');
        await userEvent.click(screen.getByRole('button', {name: 'Close'}));
        await userEvent.click(screen.getByRole('button', {name: 'Log'}));
        expect(await screen.findByTestId('text-modal')).toHaveTextContent('database dumped');
    });
});
