#!/usr/bin/env node
// The sidecar's tarball must carry @mm-backup/api (a private workspace package, never
// published). npm bundles a dependency only from the package's own node_modules, but in
// the workspace it is a symlink in the root's; so before `npm pack` (prepack) this copies
// the built package into server-bridge/node_modules, where "bundleDependencies" finds it,
// and after (postpack, or `remove`) takes the copy away again, so development keeps
// resolving the live workspace.
//
// Usage: node build/vendor_api.mjs copy|remove

import {cpSync, existsSync, rmSync} from 'node:fs';
import path from 'node:path';

import {ROOT_DIR} from './manifest.mjs';
import {runProcess} from './run_process.mjs';

const apiDir = path.join(ROOT_DIR, 'api');
const target = path.join(ROOT_DIR, 'server-bridge', 'node_modules', '@mm-backup', 'api');

const action = process.argv[2];
rmSync(path.dirname(target), {recursive: true, force: true});
if (action === 'copy') {
    runProcess(
        process.execPath,
        [path.join(ROOT_DIR, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(apiDir, 'tsconfig.json')],
        {cwd: ROOT_DIR},
    );
    if (!existsSync(path.join(apiDir, 'dist', 'index.js'))) {
        throw new Error('api/dist/index.js is missing after the build');
    }
    cpSync(path.join(apiDir, 'package.json'), path.join(target, 'package.json'));
    // Runtime code only: the declarations are for the workspaces that compile against it.
    cpSync(path.join(apiDir, 'dist'), path.join(target, 'dist'), {
        recursive: true,
        filter: (src) => !src.endsWith('.d.ts'),
    });
} else if (action !== 'remove') {
    console.error('usage: node build/vendor_api.mjs copy|remove');
    process.exitCode = 2;
}
