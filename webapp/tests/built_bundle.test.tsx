// Loads the BUILT dist/main.js the way Mattermost does: as a script in a global scope
// that provides the host's libraries and window.registerPlugin. This checks what unit
// tests of the sources cannot: the webpack externals, the id the bundle registers under
// and the registry methods it calls.

import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';

import {cleanup, screen} from '@testing-library/react';
import React from 'react';
import * as ReactDOM from 'react-dom';
import * as ReactIntl from 'react-intl';
import * as ReactRedux from 'react-redux';
import * as Redux from 'redux';

import {adminConfigWith} from './support/admin_config';
import {startFakeBridge} from './support/fake_bridge';
import {makeStore, renderWithStore} from './support/render_dashboard';

const WEBAPP_DIR = path.resolve(__dirname, '..');
const BUNDLE = path.join(WEBAPP_DIR, 'dist', 'main.js');
const PLUGIN_JSON = path.join(WEBAPP_DIR, '..', 'plugin.json');
const EN_JSON = path.join(WEBAPP_DIR, 'src', 'i18n', 'en.json');

/** Newest modification time among the inputs of the build (manifest.ts is regenerated on every run, so plugin.json stands for it). */
function newestInputMtime(): number {
    const files = [PLUGIN_JSON, path.join(WEBAPP_DIR, 'webpack.config.js'), path.join(WEBAPP_DIR, 'babel.config.js')];
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(dir, {withFileTypes: true})) {
            const full = path.join(dir, entry.name);
            if (entry.isDirectory()) {
                walk(full);
            } else if (entry.name !== 'manifest.ts' && !/\.test\.tsx?$/.test(entry.name)) {
                files.push(full);
            }
        }
    };
    walk(path.join(WEBAPP_DIR, 'src'));

    // The API schema package is bundled from its build (global_setup.js keeps it current).
    walk(path.join(WEBAPP_DIR, '..', 'api', 'dist'));
    return Math.max(...files.map((f) => fs.statSync(f).mtimeMs));
}

/** Builds dist/main.js when it is missing or older than its sources, so the test never checks a stale bundle. */
function ensureBuilt() {
    if (fs.existsSync(BUNDLE) && fs.statSync(BUNDLE).mtimeMs >= newestInputMtime()) {
        return;
    }
    const cli = path.join(path.dirname(require.resolve('webpack-cli/package.json')), 'bin', 'cli.js');
    execFileSync(process.execPath, [cli, '--mode', 'production'], {cwd: WEBAPP_DIR, stdio: 'pipe'});
}

type Call = {method: string; args: unknown[]};

/** The arguments of the one call of `method`. */
function argsOf(calls: Call[], method: string): unknown[] {
    const found = calls.filter((c) => c.method === method);
    expect(found).toHaveLength(1);
    return found[0]!.args;
}

/** A registry that records every method called on it, whatever its name. */
function recordingRegistry(calls: Call[]) {
    return new Proxy(
        {},
        {
            get:
                (_target, method) =>
                (...args: unknown[]) => {
                    calls.push({method: String(method), args});
                    return `registration-${calls.length}`;
                },
        },
    );
}

/** Runs the bundle in a fresh global scope shaped like the Mattermost webapp's window. */
function loadBundle() {
    const registered: Array<{id: string; plugin: {initialize: (registry: unknown, store: unknown) => void}}> = [];
    const visited: string[] = [];
    const sandbox: Record<string, unknown> = {
        // The real React, ReactIntl and ReactRedux instances the test renders with, standing in for
        // the host's: rendering the bundle's component below only works if the bundle
        // uses them rather than copies of its own.
        React,
        ReactDOM,
        ReactIntl,
        Redux,
        ReactRedux,
        PropTypes: {},
        ReactBootstrap: {},
        ReactRouterDom: {},
        WebappUtils: {browserHistory: {push: (p: string) => visited.push(p)}},
        registerPlugin: (id: string, plugin: never) => registered.push({id, plugin}),
        fetch: globalThis.fetch,
        AbortController,
        setTimeout,
        clearTimeout,
        console,
    };
    sandbox.window = sandbox;
    vm.runInNewContext(fs.readFileSync(BUNDLE, 'utf8'), sandbox, {filename: BUNDLE});
    return {registered, visited};
}

describe('built bundle dist/main.js', () => {
    beforeAll(ensureBuilt, 120000);

    it('registers under the manifest id and calls the real registry methods', async () => {
        const manifestId = JSON.parse(fs.readFileSync(PLUGIN_JSON, 'utf8')).id;
        const {registered, visited} = loadBundle();
        expect(registered.map((r) => r.id)).toEqual([manifestId]);

        const calls: Call[] = [];
        registered[0]!.plugin.initialize(recordingRegistry(calls), {getState: () => ({}), dispatch: () => undefined});
        expect(calls.map((c) => c.method)).toEqual([
            'registerTranslations',
            'registerReducer',
            'registerAdminConsoleCustomSetting',
            'registerRootComponent',
            'registerSlashCommandWillBePostedHook',
        ]);

        // Mattermost calls this with the user's locale (and again when it changes) and merges the result into its messages.
        const [getTranslations] = argsOf(calls, 'registerTranslations') as [(locale: string) => Record<string, string>];
        const english = JSON.parse(fs.readFileSync(EN_JSON, 'utf8')) as Record<string, string>;
        expect(Object.keys(english).length).toBeGreaterThan(100);
        expect(getTranslations('en')).toEqual(english);
        expect(getTranslations('en')['mattermost-backup.now.button']).toBe('Back up now');
        expect(getTranslations('de')).toEqual(english); // no German file yet: English

        const reducer = argsOf(calls, 'registerReducer')[0] as (state: unknown, action: {type: string}) => unknown;
        expect(reducer(undefined, {type: 'INIT'})).toMatchObject({connection: {kind: 'checking'}, snapshots: null});

        const [key, component, options] = argsOf(calls, 'registerAdminConsoleCustomSetting');
        expect(key).toBe('Dashboard');
        expect(typeof component).toBe('function');
        expect(options).toEqual({showTitle: false});

        const hook = argsOf(calls, 'registerSlashCommandWillBePostedHook')[0] as (
            message: string,
            args: object,
        ) => Promise<unknown>;
        const args = {channel_id: 'c', team_id: 't'};
        await expect(hook('/backup settings', args)).resolves.toEqual({});
        expect(visited).toEqual([`/admin_console/plugins/plugin_${manifestId}`]);
        await expect(hook('/echo hello', args)).resolves.toEqual({message: '/echo hello', args});
    });

    it('renders its Dashboard setting with the host React and ReactIntl', async () => {
        const {registered} = loadBundle();
        const calls: Call[] = [];
        const store = makeStore();
        registered[0]!.plugin.initialize(recordingRegistry(calls), store);
        const Dashboard = argsOf(calls, 'registerAdminConsoleCustomSetting')[1] as React.ComponentType<{
            config: unknown;
            siteUrl: string;
        }>;

        const bridge = await startFakeBridge();
        try {
            renderWithStore(
                <Dashboard config={adminConfigWith({sidecarurl: bridge.url})} siteUrl={bridge.url} />,
                store,
            );
            expect(await screen.findByTestId('snapshots-empty')).toBeInTheDocument();
            expect(screen.getByTestId('mattermost')).toHaveTextContent('sidecar 0.1.0');
        } finally {
            cleanup();
            await new Promise((r) => setTimeout(r, 100));
            await bridge.close();
        }
    });

    it('contains no bundled copy of React or react-intl', () => {
        const code = fs.readFileSync(BUNDLE, 'utf8');
        expect(code).not.toMatch(/__SECRET_INTERNALS_DO_NOT_USE_OR_YOU_WILL_BE_FIRED/);
        expect(code).not.toMatch(/IntlProvider/);
        expect(code).not.toMatch(/useSyncExternalStoreWithSelector/);
    });
});
