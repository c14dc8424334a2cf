#!/usr/bin/env node
// Packs the mm-backup sidecar (the server-bridge workspace) for installation on the
// Mattermost host: builds it, then `npm pack` writes dist/<package>-<version>.tgz,
// installable with `npm install -g <file>`.
//
// Usage: node build/package_bridge.mjs

import {mkdirSync} from 'node:fs';
import path from 'node:path';

import {ROOT_DIR} from './manifest.mjs';
import {runProcess} from './run_process.mjs';

const outDir = path.join(ROOT_DIR, 'dist');
try {
    runProcess('npm', ['run', 'build', '-w', 'server-bridge'], {cwd: ROOT_DIR});
    mkdirSync(outDir, {recursive: true});

    // npm pack honours the workspace's "files" list and runs its prepack script, so the
    // tarball holds what an npm install of the published package would.
    runProcess('npm', ['pack', '-w', 'server-bridge', '--pack-destination', outDir], {cwd: ROOT_DIR});
} catch (err) {
    console.error(err.message);
    process.exitCode = 1;
}
