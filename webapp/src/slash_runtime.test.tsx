// /backup from a channel: the hook's runtime against the fake sidecar over real HTTP, and the
// root component that shows the restore modal and local answers.

import {act, cleanup, screen} from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import React from 'react';

import {startJobRequest} from '@mm-backup/api';
import {combineReducers, legacy_createStore as createStore} from 'redux';
import type {Store} from 'redux';

import {MattermostClient} from 'src/client/mattermost_client';
import SlashRoot from 'src/components/slash_root';
import type {FormatMessage} from 'src/i18n';
import {makeSlashCommandHook} from 'src/slash_command';
import {slashDeps} from 'src/slash_runtime';
import {receivedSidecarUrl} from 'src/state/actions';
import reducer from 'src/state/reducer';
import {pluginState, STATE_KEY} from 'src/state/selectors';

import {CHANNEL_ID, TEAM_ID, job, snapshot, startFakeBridge} from '../tests/support/fake_bridge';
import type {FakeBridge} from '../tests/support/fake_bridge';
import {makeStore, renderWithStore} from '../tests/support/render_dashboard';

const ARGS = {channel_id: CHANNEL_ID, team_id: TEAM_ID, root_id: ''};

describe('/backup runtime', () => {
    let bridge: FakeBridge;

    beforeEach(async () => {
        bridge = await startFakeBridge({snapshots: [snapshot('20261120T030000Z-aaaaaa')]});
    });
    afterEach(async () => {
        cleanup();
        await new Promise((r) => setTimeout(r, 100));
        await bridge.close();
    });

    function setup(store: Store = makeStore(), formatMessage?: FormatMessage) {
        store.dispatch(receivedSidecarUrl(bridge.url));
        const raw = makeSlashCommandHook(
            slashDeps(store, () => undefined, new MattermostClient(bridge.url), formatMessage),
        );
        renderWithStore(<SlashRoot />, store);

        // The hook dispatches to the store the rendered root component reads.
        return async (message: string, args: typeof ARGS) => {
            let result: unknown;
            await act(async () => {
                result = await raw(message, args);
            });
            return result;
        };
    }

    it('/backup restore <id> opens the guarded restore modal in the channel view', async () => {
        const hook = setup();
        await expect(hook('/backup restore 20261120T030000Z-aaaaaa', ARGS)).resolves.toEqual({});
        expect(await screen.findByTestId('restore-overwrites')).toHaveTextContent('database mattermost');
        await userEvent.click(screen.getByRole('button', {name: 'Cancel'}));
        expect(screen.queryByTestId('restore-modal')).not.toBeInTheDocument();
    });

    it('answers /backup list itself when the team has no server-side /backup command', async () => {
        bridge.fail.set('GET /api/v4/commands', {status: 200, body: [{trigger: 'echo'}]});
        const hook = setup();
        await expect(hook('/backup list', ARGS)).resolves.toEqual({});
        expect(await screen.findByTestId('text-modal')).toHaveTextContent(
            '20261120T030000Z-aaaaaa offline schedule 5.0 GB not verified',
        );
        expect(bridge.requests.find((r) => r.path.startsWith('/api/v4/commands'))?.path).toBe(
            `/api/v4/commands?team_id=${TEAM_ID}&custom_only=true`,
        );
    });

    it("answers /backup status in the user's locale from the store (English while there is no other translation)", async () => {
        bridge.fail.set('GET /api/v4/commands', {status: 200, body: []});

        // The webapp's state: the current user's profile holds the locale.
        const store = createStore(
            combineReducers({
                [STATE_KEY]: reducer,
                entities: () => ({users: {currentUserId: 'u1', profiles: {u1: {locale: 'de'}}}}),
            }),
        );
        const hook = setup(store);
        await expect(hook('/backup status', ARGS)).resolves.toEqual({});
        expect(pluginState(store.getState()).slashAnswer?.text.split('\n')).toEqual([
            'No backup yet.',
            'Next backup: 2026-11-21T03:00:00.000Z',
            'No job running.',
            'Repository: 1 snapshot, 80 GB free',
        ]);
    });

    it('adds the recovery window and the archive health to /backup status when physical mode is on', async () => {
        bridge.fail.set('GET /api/v4/commands', {status: 200, body: []});
        bridge.state.status = {
            ...bridge.state.status,
            pitr: {
                phase: 'enabled',
                window: {
                    start: '2026-12-01T10:00:00.000Z',
                    end: '2026-12-02T12:00:00.000Z',
                    oldest_backup: 'f1',
                    newest_backup: 'f1',
                },
                archive: {
                    state: 'failing',
                    age_seconds: 900,
                    failed_count: 2,
                    last_archived_at: '2026-12-02T12:00:00.000Z',
                    last_failed_at: '2026-12-02T12:10:00.000Z',
                    waiting_segments: 3,
                    problem: 'WAL archiving is failing: archive_command failed',
                },
                backups: [],
                problem: null,
                checked_at: '2026-12-02T12:15:00.000Z',
            },
        };
        const store = makeStore();
        await expect(setup(store)('/backup status', ARGS)).resolves.toEqual({});
        expect(pluginState(store.getState()).slashAnswer?.text.split('\n').slice(-3)).toEqual([
            'Recovery window: 2026-12-01T10:00:00.000Z … 2026-12-02T12:00:00.000Z',
            'WAL archive: failing, 2 failures',
            '⚠️ WAL archiving is failing: archive_command failed',
        ]);
    });

    it('/backup now --logical asks the sidecar for a logical dump; plain /backup now does not', async () => {
        bridge.fail.set('GET /api/v4/commands', {status: 200, body: []});
        bridge.state.onStartJob = () => job('n'.repeat(26));
        const hook = setup();
        await expect(hook('/backup now --online --logical', ARGS)).resolves.toEqual({});
        await expect(hook('/backup now', ARGS)).resolves.toEqual({});
        const posts = bridge.requests.filter((r) => r.method === 'POST' && r.path === '/v1/jobs').map((r) => r.body);
        expect(posts).toEqual([{kind: 'backup', mode: 'online', logical: true}, {kind: 'backup'}]);
        for (const p of posts) expect(startJobRequest.safeParse(p).success).toBe(true);
    });

    it('/backup now with a flag mistyped, repeated or contradicting another starts nothing and says why', async () => {
        bridge.fail.set('GET /api/v4/commands', {status: 200, body: []});
        bridge.state.onStartJob = () => job('n'.repeat(26));
        const store = makeStore();
        const hook = setup(store);
        for (const args of [
            '--logcal',
            '\u2014logical',
            '--logical --logical',
            '--online --offline',
            '--online extra',
        ]) {
            await expect(hook(`/backup now ${args}`, ARGS)).resolves.toEqual({});
            expect(pluginState(store.getState()).slashAnswer?.text).toBe(
                `\`now\` takes --online or --offline, and --logical, not "${args}". No backup was started.`,
            );
        }
        expect(bridge.requests.filter((r) => r.method === 'POST' && r.path === '/v1/jobs')).toEqual([]);
        // Case does not matter, as on the server.
        await expect(hook('/backup now --LOGICAL --Offline', ARGS)).resolves.toEqual({});
        const posts = bridge.requests.filter((r) => r.method === 'POST' && r.path === '/v1/jobs').map((r) => r.body);
        expect(posts).toEqual([{kind: 'backup', mode: 'offline', logical: true}]);
    });

    it('words the answers with the formatMessage it is given', async () => {
        bridge.fail.set('GET /api/v4/commands', {status: 200, body: []});
        bridge.state.snapshots = [];
        const seen: string[] = [];
        const hook = setup(makeStore(), (d, values) => {
            seen.push(String(d.id));
            return `<${String(d.id).replace('mattermost-backup.', '')}${values ? ` ${JSON.stringify(values)}` : ''}>`;
        });
        await expect(hook('/backup list', ARGS)).resolves.toEqual({});
        expect(await screen.findByTestId('text-modal')).toHaveTextContent('<slash.no_snapshots>');
        await act(async () => {
            bridge.fail.set('GET /v1/snapshots', {
                status: 500,
                body: {id: 'x', message: 'disk on fire', hint: 'call someone'},
            });
        });
        await hook('/backup list', ARGS);
        expect(seen).toContain('mattermost-backup.slash.sidecar_failed');
    });

    it('passes /backup through when the server has the command, or when it cannot tell', async () => {
        bridge.fail.set('GET /api/v4/commands', {status: 200, body: [{trigger: 'backup'}]});
        const hook = setup();
        await expect(hook('/backup status', ARGS)).resolves.toEqual({message: '/backup status', args: ARGS});
        bridge.fail.set('GET /api/v4/commands', {
            status: 403,
            body: {id: 'api.context.permissions.app_error', message: 'no'},
        });
        await expect(hook('/backup status', {...ARGS, team_id: 'team2'})).resolves.toEqual({
            message: '/backup status',
            args: {...ARGS, team_id: 'team2'},
        });
        expect(bridge.requests.some((r) => r.path === '/v1/status')).toBe(false);
    });
});
