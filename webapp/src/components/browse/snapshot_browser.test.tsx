// The snapshot browser against a real local HTTP server playing the sidecar (tests/support/
// fake_bridge, which refuses what the real API refuses): directories open, breadcrumbs go back,
// pages go forward and back, sizes show, and components that hold secrets offer no download.

import {cleanup, screen, waitFor, within} from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import React from 'react';

import type {TreeEntry, TreePage} from '@mm-backup/api';
import {BridgeClient} from 'src/client/bridge_client';
import {MattermostClient} from 'src/client/mattermost_client';

import {snapshot, startFakeBridge} from '../../../tests/support/fake_bridge';
import type {FakeBridge} from '../../../tests/support/fake_bridge';
import {renderWithStore} from '../../../tests/support/render_dashboard';
import {ClientsProvider} from '../clients_context';

import SnapshotBrowser from './snapshot_browser';

const ID = '20261120T030000Z-abcdef';

/** A small tree: data/ has 150 files and a folder; config/ holds config.json. */
function page(q: URLSearchParams): TreePage | undefined {
    const component = q.get('component') ?? '';
    const path = q.get('path') ?? '';
    const limit = Number(q.get('limit') ?? 100);
    const secrets = component === 'config';
    let all: TreeEntry[];
    if (component === 'config' && path === '') {
        all = [{name: 'config.json', type: 'file'}];
    } else if (component === 'data' && path === '') {
        all = [
            ...Array.from({length: 150}, (_, i) => ({
                name: `f${String(i).padStart(3, '0')}`,
                type: 'file' as const,
                size: 1536,
                mtime: '2026-11-20T03:00:00.000Z',
            })),
            {name: 'users', type: 'dir', files: 2, bytes: 3 * 1024 ** 2, mtime: '2026-11-20T03:00:00.000Z'},
        ];
    } else if (component === 'data' && path === 'users') {
        all = [{name: 'a b.png', type: 'file', size: 2048}];
    } else {
        return undefined;
    }
    const cursor = q.get('cursor');
    const after = cursor ? all.filter((e) => e.name > cursor) : all;
    const entries = after.slice(0, limit);
    return {
        snapshot_id: ID,
        component,
        path,
        secrets,
        downloadable: !secrets,
        trust: 'signed',
        entries,
        next_cursor: after.length > limit ? entries[entries.length - 1]!.name : null,
    };
}

describe('SnapshotBrowser', () => {
    let bridge: FakeBridge;

    beforeEach(async () => {
        bridge = await startFakeBridge();
        bridge.state.tree = (_id, q) => page(q);
    });
    afterEach(async () => {
        cleanup();
        expect(bridge.rejected).toEqual([]);
        expect(bridge.invalidAnswers).toEqual([]);
        await bridge.close();
    });

    function renderBrowser() {
        const clients = {bridge: new BridgeClient(bridge.url), mattermost: new MattermostClient(bridge.url)};
        const snapshots = [
            snapshot(ID, {
                components: [
                    {id: 'database', status: 'included', files: 1, bytes: 1024},
                    {id: 'data', status: 'included', files: 152, bytes: 5 * 1024 ** 2},
                    {id: 'config', status: 'included', files: 1, bytes: 900},
                    {id: 'logs', status: 'skipped', files: 0, bytes: 0},
                ],
            }),
        ];
        return renderWithStore(
            <ClientsProvider clients={clients}>
                <SnapshotBrowser snapshots={snapshots} />
            </ClientsProvider>,
        );
    }

    it('lists a directory with sizes, opens folders, follows breadcrumbs and pages', async () => {
        const user = userEvent.setup();
        renderBrowser();
        // Only included file trees are offered (not the database dump, not a skipped component).
        await waitFor(() =>
            expect(
                within(screen.getByTestId('browse-component'))
                    .getAllByRole('option')
                    .map((o) => o.getAttribute('value')),
            ).toEqual(['data', 'config']),
        );
        await waitFor(() => expect(screen.getAllByTestId('browse-row')).toHaveLength(100));
        expect(screen.getAllByTestId('browse-row')[0]).toHaveTextContent('f000');
        expect(screen.getAllByTestId('browse-row')[0]).toHaveTextContent('1.5 KB');
        expect(screen.getAllByTestId('browse-download')[0]).toHaveAttribute(
            'href',
            `${bridge.url}/v1/snapshots/${ID}/download?component=data&path=f000`,
        );
        expect(screen.getByTestId('browse-download-dir')).toHaveAttribute(
            'href',
            `${bridge.url}/v1/snapshots/${ID}/download?component=data&path=`,
        );
        expect(screen.getByRole('button', {name: 'Previous'})).toBeDisabled();

        await user.click(screen.getByRole('button', {name: 'Next'}));
        await waitFor(() => expect(screen.getAllByTestId('browse-row')).toHaveLength(51));
        expect(screen.getAllByTestId('browse-row')[0]).toHaveTextContent('f100');
        expect(bridge.requests.at(-1)?.path).toContain('cursor=f099');
        expect(screen.getByRole('button', {name: 'Next'})).toBeDisabled();
        const users = screen.getAllByTestId('browse-row').at(-1)!;
        expect(users).toHaveTextContent('users/');
        expect(users).toHaveTextContent('3.0 MB in 2 files');
        // A folder's download is a tar.
        expect(within(users).getByTestId('browse-download')).toHaveTextContent('Download (.tar)');
        await user.click(screen.getByRole('button', {name: 'Previous'}));
        await waitFor(() => expect(screen.getAllByTestId('browse-row')[0]).toHaveTextContent('f000'));
        await user.click(screen.getByRole('button', {name: 'Next'}));
        await waitFor(() => expect(screen.getAllByTestId('browse-row')).toHaveLength(51));

        await user.click(screen.getByRole('button', {name: 'users/'}));
        await waitFor(() => expect(screen.getAllByTestId('browse-row')).toHaveLength(1));
        expect(screen.getByTestId('browse-row')).toHaveTextContent('a b.png');
        expect(screen.getByTestId('browse-download')).toHaveAttribute(
            'href',
            `${bridge.url}/v1/snapshots/${ID}/download?component=data&path=users%2Fa+b.png`,
        );
        expect(screen.getByTestId('browse-breadcrumbs')).toHaveTextContent('data/ users');
        await user.click(within(screen.getByTestId('browse-breadcrumbs')).getByRole('button', {name: 'data'}));
        await waitFor(() => expect(screen.getAllByTestId('browse-row')).toHaveLength(100));
    });

    it('a component that holds secrets shows names only and no download', async () => {
        const user = userEvent.setup();
        renderBrowser();
        await waitFor(() => expect(screen.getAllByTestId('browse-row')).toHaveLength(100));
        await user.selectOptions(screen.getByTestId('browse-component'), 'config');
        expect(await screen.findByTestId('browse-secrets')).toHaveTextContent('holds secrets');
        await waitFor(() => expect(screen.getByTestId('browse-row')).toHaveTextContent('config.json'));
        expect(screen.queryByTestId('browse-download')).toBeNull();
        expect(screen.queryByTestId('browse-download-dir')).toBeNull();
        expect(screen.getByTestId('browse-size')).toHaveTextContent(/^$/);
    });
});
