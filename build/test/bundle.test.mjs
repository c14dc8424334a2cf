import assert from 'node:assert/strict';
import {execFile, execFileSync} from 'node:child_process';
import {existsSync, mkdtempSync, readFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, describe, it} from 'node:test';
import {promisify} from 'node:util';

import {bundleFileName, createBundle} from '../bundle.mjs';
import {ROOT_DIR} from '../manifest.mjs';
import {makePluginTree, realManifest, removeTree} from '../test_support/plugin_tree.mjs';

/** The regular files in a tarball, as `tar -tzf` lists them (directories left out). */
function tarFiles(tarball) {
    return execFileSync('tar', ['-tzf', tarball], {encoding: 'utf8'})
        .split('\n')
        .filter((e) => e && !e.endsWith('/'))
        .sort();
}

function tarRead(tarball, member) {
    return execFileSync('tar', ['-xzOf', tarball, member], {encoding: 'utf8'});
}

describe('createBundle on a prepared tree', () => {
    const dirs = [];
    after(() => dirs.forEach(removeTree));

    function tree(options) {
        const root = makePluginTree(options);
        dirs.push(root);
        return root;
    }

    it('packs plugin.json and the webapp bundle under a directory named after the id', () => {
        const root = tree({
            files: {
                'webapp/dist/main.js': 'window.registerPlugin("x", {});',
                'webapp/src/index.tsx': 'source',
                'webapp/dist/main.js.map': '{}',
            },
        });
        const tarball = createBundle({rootDir: root, build: false});

        assert.equal(tarball, path.join(root, 'dist', 'mattermost-backup-0.1.0.tar.gz'));
        assert.deepEqual(tarFiles(tarball), ['mattermost-backup/plugin.json', 'mattermost-backup/webapp/dist/main.js']);
        assert.deepEqual(JSON.parse(tarRead(tarball, 'mattermost-backup/plugin.json')), realManifest());
        assert.equal(tarRead(tarball, 'mattermost-backup/webapp/dist/main.js'), 'window.registerPlugin("x", {});');
    });

    it('adds assets/ and public/ when they exist', () => {
        const root = tree({
            files: {'webapp/dist/main.js': 'x', 'assets/icon.svg': '<svg/>', 'public/help.html': 'help'},
        });
        const tarball = createBundle({rootDir: root, outDir: path.join(root, 'out'), build: false});
        assert.deepEqual(tarFiles(tarball), [
            'mattermost-backup/assets/icon.svg',
            'mattermost-backup/plugin.json',
            'mattermost-backup/public/help.html',
            'mattermost-backup/webapp/dist/main.js',
        ]);
    });

    it('refuses an invalid manifest before packing anything', () => {
        const root = tree({manifest: {...realManifest(), id: 'Bad Id'}, files: {'webapp/dist/main.js': 'x'}});
        assert.throws(() => createBundle({rootDir: root, build: false}), /plugin.json is invalid:\n.*id: "Bad Id"/);
        assert.equal(existsSync(path.join(root, 'dist')), false);
    });

    it('refuses to pack when the webapp bundle was not built', () => {
        const root = tree();
        assert.throws(
            () => createBundle({rootDir: root, build: false}),
            /webapp.bundle_path: "webapp\/dist\/main.js" does not exist/,
        );
    });
});

describe('node build/bundle.mjs on this repository', () => {
    const outDir = mkdtempSync(path.join(os.tmpdir(), 'mm-plugin-dist-'));
    after(() => removeTree(outDir));

    it('builds the webapp and writes exactly plugin.json and webapp/dist/main.js', async () => {
        const {stdout} = await promisify(execFile)(
            process.execPath,
            [path.join(ROOT_DIR, 'build', 'bundle.mjs'), '--out-dir', outDir],
            {cwd: ROOT_DIR},
        );
        const tarball = path.join(outDir, bundleFileName(realManifest()));
        assert.match(stdout, /plugin bundle written to/);
        assert.deepEqual(tarFiles(tarball), ['mattermost-backup/plugin.json', 'mattermost-backup/webapp/dist/main.js']);
        assert.match(tarRead(tarball, 'mattermost-backup/webapp/dist/main.js'), /registerPlugin/);
        assert.equal(readFileSync(tarball).subarray(0, 2).toString('hex'), '1f8b', 'gzip magic number');
    });
});
