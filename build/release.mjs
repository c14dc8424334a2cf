#!/usr/bin/env node
// `npm run release`: the sidecar's release artifact, dist/mm-backup-<version>.tar.gz. It holds one
// directory, mm-backup-<version>/, with the packed sidecar (the runtime-only npm tarball of
// build/package_bridge.mjs), install.sh, the systemd unit, the nginx snippet, and install-package.json:
// the package.json of the install prefix, naming the tarball and carrying this project's npm
// overrides (npm applies overrides only to a root project, so `npm install -g` of the tarball alone
// would not). On the host: tar -xzf mm-backup-<version>.tar.gz && sudo ./mm-backup-<version>/install.sh
//
// Usage: node build/release.mjs [--skip-build] [--out-dir <dir>]

import {copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {pathToFileURL} from 'node:url';

import {ROOT_DIR} from './manifest.mjs';
import {packBridge} from './package_bridge.mjs';
import {runProcess} from './run_process.mjs';

const PACKAGING = path.join(ROOT_DIR, 'build', 'packaging');
/** The files of build/packaging/ that travel in the release. */
export const RELEASE_FILES = ['install.sh', 'mm-backup.service', 'nginx-mm-backup.conf'];

/** The install prefix's package.json: the packed sidecar as its one dependency, and the root's overrides. */
export function installPackageJson(bridgePkg, tarballName, rootPkg) {
    return {
        name: 'mm-backup-install',
        private: true,
        description: `mm-backup ${bridgePkg.version}, installed by install.sh (runtime dependencies only)`,
        dependencies: {[bridgePkg.name]: `file:./${tarballName}`},
        ...(rootPkg.overrides ? {overrides: rootPkg.overrides} : {}),
    };
}

/**
 * Packs the sidecar (building it unless build is false) and writes <outDir>/mm-backup-<version>.tar.gz.
 * Returns the artifact's path; throws when a step fails.
 */
export function createRelease({
    rootDir = ROOT_DIR,
    outDir = path.join(rootDir, 'dist'),
    build = true,
    quiet = false,
} = {}) {
    const bridgePkg = JSON.parse(readFileSync(path.join(rootDir, 'server-bridge', 'package.json'), 'utf8'));
    const rootPkg = JSON.parse(readFileSync(path.join(rootDir, 'package.json'), 'utf8'));
    const name = `mm-backup-${bridgePkg.version}`;
    const staging = mkdtempSync(path.join(os.tmpdir(), 'mm-backup-release-'));
    try {
        const dir = path.join(staging, name);
        mkdirSync(dir);
        const tarball = packBridge({rootDir, outDir: dir, build, quiet});
        for (const file of RELEASE_FILES) {
            copyFileSync(path.join(PACKAGING, file), path.join(dir, file));
        }
        writeFileSync(
            path.join(dir, 'install-package.json'),
            `${JSON.stringify(installPackageJson(bridgePkg, path.basename(tarball), rootPkg), null, 2)}\n`,
        );
        mkdirSync(outDir, {recursive: true});
        const target = path.resolve(outDir, `${name}.tar.gz`);
        rmSync(target, {force: true});
        runProcess('tar', ['-czf', target, '-C', staging, name]);
        return target;
    } finally {
        rmSync(staging, {recursive: true, force: true});
    }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
    try {
        const outIndex = process.argv.indexOf('--out-dir');
        const target = createRelease({
            build: !process.argv.includes('--skip-build'),
            ...(outIndex === -1 ? {} : {outDir: path.resolve(process.argv[outIndex + 1])}),
        });
        console.log(`release written to ${path.relative(process.cwd(), target) || target}`);
        console.log(
            `on the Mattermost host: tar -xzf ${path.basename(target)} && sudo ./${path.basename(target, '.tar.gz')}/install.sh`,
        );
    } catch (err) {
        console.error(err.message);
        process.exitCode = 1;
    }
}
