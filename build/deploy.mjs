#!/usr/bin/env node
// `npm run deploy`: installs the plugin bundle on a running Mattermost server through
// the REST API (POST /api/v4/plugins, then POST /api/v4/plugins/<id>/enable), using the
// starter template's environment variables MM_SERVICESETTINGS_SITEURL and MM_ADMIN_TOKEN.
// The token is sent only in the Authorization header and never printed.
//
// Usage: node build/deploy.mjs [bundle.tar.gz]   (default: dist/<id>-<version>.tar.gz)

import {existsSync, readFileSync} from 'node:fs';
import path from 'node:path';
import {pathToFileURL} from 'node:url';

import {bundleFileName} from './bundle.mjs';
import {readManifest, ROOT_DIR} from './manifest.mjs';

/** A failed deploy step; `message` is safe to print (it never contains the token). */
export class DeployError extends Error {
    constructor(message, {status, serverErrorId, cause} = {}) {
        super(message, {cause});
        this.name = 'DeployError';
        this.status = status;
        this.serverErrorId = serverErrorId;
    }
}

/** The command was called wrongly (missing environment, no bundle); exit code 2. */
export class DeployUsageError extends DeployError {
    constructor(message) {
        super(message);
        this.name = 'DeployUsageError';
    }
}

// Advice for the Mattermost error ids an admin can fix in the server configuration.
const ADVICE = {
    'app.plugin.upload_disabled.app_error':
        'Plugin uploads are disabled on this server. Set PluginSettings.EnableUploads to true ' +
        '(config.json, or MM_PLUGINSETTINGS_ENABLEUPLOADS=true in the environment, then restart), and keep ' +
        'PluginSettings.Enable=true and PluginSettings.RequirePluginSignature=false. Alternatively upload the ' +
        'bundle by hand in System Console > Plugins > Plugin Management, or with mmctl plugin add.',
    'app.plugin.disabled.app_error':
        'Plugins are disabled on this server. Set PluginSettings.Enable to true and retry.',
};

function redact(text, token) {
    return token ? String(text).split(token).join('[redacted]') : String(text);
}

/** Turns a non-2xx answer into a DeployError, using Mattermost's `{id, message}` error body. */
async function failure(response, step, token) {
    const text = await response.text().catch(() => '');
    let body = {};
    try {
        body = JSON.parse(text);
    } catch {
        // Not Mattermost's JSON error shape (e.g. a proxy page); report the status only.
    }
    const serverErrorId = typeof body.id === 'string' ? body.id : undefined;
    const serverMessage = typeof body.message === 'string' ? body.message : text.slice(0, 200);
    let advice = ADVICE[serverErrorId];
    if (!advice && response.status === 401) {
        advice =
            'The token was rejected. Check MM_ADMIN_TOKEN (a personal access token or session token of a system admin).';
    } else if (!advice && response.status === 403) {
        advice =
            "The token's user may not manage plugins; it needs the sysconsole_write_plugins permission (a system admin has it).";
    } else if (!advice && response.status === 413) {
        advice = 'The bundle is larger than FileSettings.MaxFileSize allows.';
    }
    const summary = `${step} failed: HTTP ${response.status}${serverErrorId ? ` ${serverErrorId}` : ''}${serverMessage ? ` (${serverMessage})` : ''}`;
    return new DeployError(redact(advice ? `${summary}\n${advice}` : summary, token), {
        status: response.status,
        serverErrorId,
    });
}

async function request(fetchImpl, url, init, step, token) {
    try {
        return await fetchImpl(url, init);
    } catch (err) {
        throw new DeployError(
            `${step} failed: cannot reach ${url}: ${redact(err.cause?.message ?? err.message, token)}`,
            {cause: err},
        );
    }
}

/**
 * Uploads `bundlePath` (replacing an installed plugin with the same id) and enables it.
 * @param {{siteUrl: string, token: string, bundlePath: string, fetchImpl?: typeof fetch, log?: (line: string) => void}} options
 * @returns {Promise<object>} the manifest the server reports for the installed plugin
 * @throws {DeployError} on any failure, with advice for the common server settings
 */
export async function deployPlugin({siteUrl, token, bundlePath, fetchImpl = fetch, log = () => undefined}) {
    const base = siteUrl.replace(/\/+$/, '');
    const headers = {Authorization: `Bearer ${token}`, 'X-Requested-With': 'XMLHttpRequest'};

    const form = new FormData();
    form.append('plugin', new Blob([readFileSync(bundlePath)], {type: 'application/gzip'}), path.basename(bundlePath));
    form.append('force', 'true');
    log(`uploading ${path.basename(bundlePath)} to ${base}`);
    const upload = await request(
        fetchImpl,
        `${base}/api/v4/plugins`,
        {method: 'POST', headers, body: form},
        'upload',
        token,
    );

    // The server answers 201 with the installed manifest; the OpenAPI spec says 200.
    if (upload.status !== 201 && upload.status !== 200) {
        throw await failure(upload, 'upload', token);
    }
    const installed = await upload.json();

    log(`enabling ${installed.id}`);
    const enable = await request(
        fetchImpl,
        `${base}/api/v4/plugins/${encodeURIComponent(installed.id)}/enable`,
        {method: 'POST', headers},
        'enable',
        token,
    );
    if (!enable.ok) {
        throw await failure(enable, 'enable', token);
    }
    return installed;
}

/** Reads the target from the environment; throws DeployUsageError naming what is missing. */
export function deployOptionsFromEnv(env, argv, rootDir = ROOT_DIR) {
    const siteUrl = env.MM_SERVICESETTINGS_SITEURL;
    const token = env.MM_ADMIN_TOKEN;
    if (!siteUrl || !/^https?:\/\//.test(siteUrl)) {
        throw new DeployUsageError(
            "Set MM_SERVICESETTINGS_SITEURL to the server's site URL, e.g. https://chat.example.com",
        );
    }
    if (!token) {
        throw new DeployUsageError("Set MM_ADMIN_TOKEN to a system admin's personal access token");
    }
    const bundlePath = argv[0]
        ? path.resolve(argv[0])
        : path.join(rootDir, 'dist', bundleFileName(readManifest(rootDir)));
    if (!existsSync(bundlePath)) {
        throw new DeployUsageError(`${bundlePath} does not exist; run npm run dist first`);
    }
    return {siteUrl, token, bundlePath};
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
    try {
        const options = deployOptionsFromEnv(process.env, process.argv.slice(2));
        const installed = await deployPlugin({...options, log: (line) => console.log(line)});
        console.log(`${installed.id} ${installed.version} is installed and enabled`);
    } catch (err) {
        console.error(err.message);
        process.exitCode = err instanceof DeployUsageError ? 2 : 1;
    }
}
