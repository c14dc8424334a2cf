#!/usr/bin/env node
// `npm run dist`: checks plugin.json, builds the webapp and packs the plugin bundle
// dist/<id>-<version>.tar.gz in the layout the Mattermost server installs: one top
// directory named after the id holding plugin.json, the webapp bundle and, if present,
// assets/ and public/.
//
// Usage: node build/bundle.mjs [--skip-build] [--out-dir <dir>]

import {cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {pathToFileURL} from 'node:url';

import {checkManifest, readManifest, ROOT_DIR} from './manifest.mjs';
import {runProcess} from './run_process.mjs';

/** Optional bundle directories the server knows about, copied when they exist. */
export const EXTRA_DIRS = ['assets', 'public'];

/** The bundle's file name, as the starter template names it. */
export function bundleFileName(manifest) {
    return `${manifest.id}-${manifest.version}.tar.gz`;
}

function assertValid(errors) {
    if (errors.length) {
        throw new Error(`plugin.json is invalid:\n${errors.map((e) => `  - ${e}`).join('\n')}`);
    }
}

/** Copies the bundle contents of `rootDir` into `pluginDir`. */
function stage(rootDir, manifest, pluginDir) {
    mkdirSync(pluginDir, {recursive: true});

    // Written from the parsed manifest (like the template does), so the bundle gets
    // plain JSON whatever the source formatting.
    writeFileSync(path.join(pluginDir, 'plugin.json'), `${JSON.stringify(manifest, null, 4)}\n`);
    if (manifest.webapp) {
        const bundlePath = manifest.webapp.bundle_path;
        mkdirSync(path.dirname(path.join(pluginDir, bundlePath)), {recursive: true});
        cpSync(path.join(rootDir, bundlePath), path.join(pluginDir, bundlePath));
    }
    for (const dir of EXTRA_DIRS) {
        if (existsSync(path.join(rootDir, dir))) {
            cpSync(path.join(rootDir, dir), path.join(pluginDir, dir), {recursive: true});
        }
    }
}

/**
 * Builds (unless `build` is false) and packs the plugin of `rootDir` into
 * `<outDir>/<id>-<version>.tar.gz`, replacing an older file of that name.
 * Throws when the manifest is invalid, the build fails or the bundle file is missing.
 * @returns {string} the path of the tarball
 */
export function createBundle({rootDir = ROOT_DIR, outDir = path.join(rootDir, 'dist'), build = true} = {}) {
    assertValid(checkManifest(rootDir));
    if (build) {
        runProcess('npm', ['run', 'build', '-w', 'webapp'], {cwd: rootDir});
    }
    assertValid(checkManifest(rootDir, {requireBundle: true}));

    const manifest = readManifest(rootDir);
    const staging = mkdtempSync(path.join(os.tmpdir(), 'mm-plugin-bundle-'));
    try {
        stage(rootDir, manifest, path.join(staging, manifest.id));
        mkdirSync(outDir, {recursive: true});
        const target = path.resolve(outDir, bundleFileName(manifest));
        rmSync(target, {force: true});
        runProcess('tar', ['-czf', target, '-C', staging, manifest.id]);
        return target;
    } finally {
        rmSync(staging, {recursive: true, force: true});
    }
}

function parseArgs(argv) {
    const options = {build: !argv.includes('--skip-build')};
    const outIndex = argv.indexOf('--out-dir');
    if (outIndex !== -1) {
        if (!argv[outIndex + 1]) {
            throw new Error('--out-dir needs a directory');
        }
        options.outDir = path.resolve(argv[outIndex + 1]);
    }
    return options;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
    try {
        const target = createBundle(parseArgs(process.argv.slice(2)));
        console.log(`plugin bundle written to ${path.relative(process.cwd(), target) || target}`);
    } catch (err) {
        console.error(err.message);
        process.exitCode = 1;
    }
}
