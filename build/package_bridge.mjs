#!/usr/bin/env node
// Packs the mm-backup sidecar (the server-bridge workspace) for installation on the
// Mattermost host: builds it, then `npm pack` writes dist/<package>-<version>.tgz,
// installable with `npm install -g <file>`. The tarball holds the product only (bin/, the
// compiled dist/, runtime dependencies); build/test/pack_contents.test.mjs checks the real one.
//
// Usage: node build/package_bridge.mjs

import {mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import path from 'node:path';
import {pathToFileURL} from 'node:url';

import {ROOT_DIR} from './manifest.mjs';
import {runProcess} from './run_process.mjs';

/** Runs fn while holding a lock directory beside server-bridge; a lock whose process is gone is taken over. */
function withPackLock(rootDir, fn) {
    const lock = path.join(rootDir, 'server-bridge', '.pack.lock');
    const deadline = Date.now() + 10 * 60_000;
    for (;;) {
        try {
            mkdirSync(lock);
            writeFileSync(path.join(lock, 'pid'), String(process.pid));
            break;
        } catch (err) {
            if (err.code !== 'EEXIST') {
                throw err;
            }
            let owner = NaN;
            try {
                owner = Number(readFileSync(path.join(lock, 'pid'), 'utf8'));
            } catch {
                // Just made, pid not written yet: wait.
            }
            if (owner > 0 && !isAlive(owner)) {
                rmSync(lock, {recursive: true, force: true});
                continue;
            }
            if (Date.now() > deadline) {
                throw new Error(`another npm pack of server-bridge has held ${lock} for 10 minutes`, {cause: err});
            }
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
        }
    }
    try {
        return fn();
    } finally {
        rmSync(lock, {recursive: true, force: true});
    }
}

function isAlive(pid) {
    try {
        process.kill(pid, 0);
        return true;
    } catch (err) {
        return err.code === 'EPERM';
    }
}

/** The tarball's name as npm pack writes it: @scope/name becomes scope-name. */
export function bridgeTarballName(pkg) {
    return `${pkg.name.replace(/^@/, '').replace('/', '-')}-${pkg.version}.tgz`;
}

/**
 * Builds server-bridge (unless build is false: an existing build is packed) and packs it into
 * outDir. npm pack honours the workspace's "files" list, so the tarball holds what an npm install
 * of the published package would; quiet leaves out npm's listing of the contents. Returns the
 * tarball's path; throws when a step fails.
 */
export function packBridge({
    rootDir = ROOT_DIR,
    outDir = path.join(rootDir, 'dist'),
    build = true,
    quiet = false,
} = {}) {
    if (build) {
        runProcess('npm', ['run', 'build', '-w', 'server-bridge'], {cwd: rootDir});
    }
    mkdirSync(outDir, {recursive: true});
    // prepack/postpack copy and remove server-bridge/node_modules/@mm-backup: two packs at once (the
    // build tests run in parallel on a bigger machine) would remove each other's copy mid-pack.
    withPackLock(rootDir, () =>
        runProcess(
            'npm',
            ['pack', '-w', 'server-bridge', '--pack-destination', outDir, ...(quiet ? ['--silent'] : [])],
            {
                cwd: rootDir,
            },
        ),
    );
    const pkg = JSON.parse(readFileSync(path.join(rootDir, 'server-bridge', 'package.json'), 'utf8'));
    return path.join(outDir, bridgeTarballName(pkg));
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
    try {
        const target = packBridge();
        console.log(`sidecar package written to ${path.relative(process.cwd(), target) || target}`);
    } catch (err) {
        console.error(err.message);
        process.exitCode = 1;
    }
}
