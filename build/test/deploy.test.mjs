import assert from 'node:assert/strict';
import {execFile} from 'node:child_process';
import {mkdtempSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, afterEach, describe, it} from 'node:test';
import {promisify} from 'node:util';

import {DeployError, deployPlugin} from '../deploy.mjs';
import {ROOT_DIR} from '../manifest.mjs';
import {startFakeMattermost, UPLOAD_DISABLED} from '../test_support/fake_mattermost.mjs';
import {realManifest, removeTree} from '../test_support/plugin_tree.mjs';

const TOKEN = 'test-token-5x7q';
const manifest = realManifest();

const dir = mkdtempSync(path.join(os.tmpdir(), 'mm-deploy-test-'));
const bundlePath = path.join(dir, 'mattermost-backup-0.1.0.tar.gz');
writeFileSync(bundlePath, Buffer.from('not really a tarball; the fake does not unpack it'));
after(() => removeTree(dir));

/** Runs the deploy CLI against `siteUrl`; resolves with {code, stdout, stderr} whatever the exit code. */
async function runCli(siteUrl, env = {}) {
    const childEnv = {PATH: process.env.PATH, MM_SERVICESETTINGS_SITEURL: siteUrl, MM_ADMIN_TOKEN: TOKEN, ...env};
    try {
        const {stdout, stderr} = await promisify(execFile)(
            process.execPath,
            [path.join(ROOT_DIR, 'build', 'deploy.mjs'), bundlePath],
            {env: childEnv},
        );
        return {code: 0, stdout, stderr};
    } catch (err) {
        return {code: err.code, stdout: err.stdout, stderr: err.stderr};
    }
}

describe('deployPlugin', () => {
    let mattermost;
    afterEach(() => mattermost?.close());

    it('uploads the bundle as multipart field "plugin" with force=true, then enables the plugin', async () => {
        mattermost = await startFakeMattermost({token: TOKEN, manifest});
        const installed = await deployPlugin({siteUrl: `${mattermost.url}/`, token: TOKEN, bundlePath});

        assert.deepEqual(installed, manifest);
        const [upload, enable, ...rest] = mattermost.requests;
        assert.deepEqual(rest, []);
        assert.equal(upload.method, 'POST');
        assert.equal(upload.path, '/api/v4/plugins');
        assert.equal(upload.authorization, `Bearer ${TOKEN}`);
        assert.match(upload.contentType, /^multipart\/form-data; boundary=/);
        assert.deepEqual(upload.form, {
            plugin: {name: 'mattermost-backup-0.1.0.tar.gz', size: 49},
            force: 'true',
            fields: ['plugin', 'force'],
        });
        assert.deepEqual(
            [enable.method, enable.path, enable.authorization],
            ['POST', '/api/v4/plugins/mattermost-backup/enable', `Bearer ${TOKEN}`],
        );
    });

    it('explains 501 upload_disabled (PluginSettings.EnableUploads) and does not try to enable', async () => {
        mattermost = await startFakeMattermost({token: TOKEN, manifest, uploadReply: () => UPLOAD_DISABLED});
        await assert.rejects(deployPlugin({siteUrl: mattermost.url, token: TOKEN, bundlePath}), (err) => {
            assert.ok(err instanceof DeployError);
            assert.equal(err.status, 501);
            assert.equal(err.serverErrorId, 'app.plugin.upload_disabled.app_error');
            assert.match(err.message, /upload failed: HTTP 501 app.plugin.upload_disabled.app_error/);
            assert.match(err.message, /Set PluginSettings.EnableUploads to true/);
            assert.match(err.message, /RequirePluginSignature=false/);
            return true;
        });
        assert.equal(mattermost.requests.length, 1);
    });

    it('reports a rejected token without repeating it', async () => {
        mattermost = await startFakeMattermost({token: 'another-token', manifest});
        await assert.rejects(deployPlugin({siteUrl: mattermost.url, token: TOKEN, bundlePath}), (err) => {
            assert.equal(err.status, 401);
            assert.match(err.message, /The token was rejected/);
            assert.doesNotMatch(err.message, new RegExp(TOKEN));
            return true;
        });
    });
});

describe('deploy CLI', () => {
    let mattermost;
    afterEach(() => mattermost?.close());

    it('installs and enables, printing progress but never the token', async () => {
        mattermost = await startFakeMattermost({token: TOKEN, manifest});
        const {code, stdout, stderr} = await runCli(mattermost.url);
        assert.equal(code, 0, stderr);
        assert.match(stdout, /mattermost-backup 0.1.0 is installed and enabled/);
        assert.doesNotMatch(stdout + stderr, new RegExp(TOKEN));
    });

    it('exits 1 with the EnableUploads advice on 501', async () => {
        mattermost = await startFakeMattermost({token: TOKEN, manifest, uploadReply: () => UPLOAD_DISABLED});
        const {code, stdout, stderr} = await runCli(mattermost.url);
        assert.equal(code, 1);
        assert.match(stderr, /EnableUploads/);
        assert.doesNotMatch(stdout + stderr, new RegExp(TOKEN));
    });

    it('exits 2 when the site URL or token is missing', async () => {
        const noUrl = await runCli('');
        assert.equal(noUrl.code, 2);
        assert.match(noUrl.stderr, /Set MM_SERVICESETTINGS_SITEURL/);
        const noToken = await runCli('http://127.0.0.1:9', {MM_ADMIN_TOKEN: ''});
        assert.equal(noToken.code, 2);
        assert.match(noToken.stderr, /Set MM_ADMIN_TOKEN/);
    });
});
