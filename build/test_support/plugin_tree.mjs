// Temporary plugin source trees for the build script tests. Test helpers live outside
// build/test/ because node --test runs every module in a test/ directory as a test.

import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {ROOT_DIR} from '../manifest.mjs';

/** The project's real plugin.json, parsed. */
export function realManifest() {
    return JSON.parse(readFileSync(path.join(ROOT_DIR, 'plugin.json'), 'utf8'));
}

/**
 * Creates a temporary plugin root holding plugin.json (ours unless given), a package.json
 * with the same version and any extra `files` ({relative path: content}).
 * Returns its path; call `removeTree` when done.
 */
export function makePluginTree({manifest = realManifest(), files = {}} = {}) {
    const root = mkdtempSync(path.join(os.tmpdir(), 'mm-plugin-test-'));
    writeFileSync(path.join(root, 'plugin.json'), JSON.stringify(manifest, null, 4));
    writeFileSync(path.join(root, 'package.json'), JSON.stringify({name: 'fixture', version: manifest.version}));
    for (const [file, content] of Object.entries(files)) {
        mkdirSync(path.dirname(path.join(root, file)), {recursive: true});
        writeFileSync(path.join(root, file), content);
    }
    return root;
}

export function removeTree(dir) {
    rmSync(dir, {recursive: true, force: true});
}
