// The sidecar's npm package (the tarball build/package_bridge.mjs packs for the Mattermost host) holds the
// product only: runtime code and the dependencies it loads. The test kit, the tools and the tests
// are workspaces of their own and must never leak into it, and every module the packed code loads
// must be a Node builtin, a declared runtime dependency or a file that is itself in the package.
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {builtinModules} from 'node:module';
import os from 'node:os';
import path from 'node:path';
import {after, describe, it} from 'node:test';

import {ROOT_DIR} from '../manifest.mjs';
import {packBridge} from '../package_bridge.mjs';

const BRIDGE = path.join(ROOT_DIR, 'server-bridge');

/** Module specifiers a compiled CommonJS file loads: require('x'), require.resolve('x') and import('x'). */
export function loadedSpecifiers(source) {
    const found = new Set();
    for (const m of source.matchAll(/\b(?:require(?:\.resolve)?|import)\s*\(\s*(['"`])([^'"`]+)\1\s*[,)]/g)) {
        found.add(m[2]);
    }
    return [...found];
}

/** 'pg' for 'pg', '@aws-sdk/client-s3' for '@aws-sdk/client-s3/x', 'mysql2' for 'mysql2/promise'. */
export function packageOf(specifier) {
    const parts = specifier.split('/');
    return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function isBuiltin(specifier) {
    return specifier.startsWith('node:') || builtinModules.includes(packageOf(specifier));
}

/** The packed file a relative specifier resolves to, as Node would (file, .js, .json, dir/index.js). */
function resolvePacked(fromFile, specifier, files) {
    const base = path.posix.normalize(path.posix.join(path.posix.dirname(fromFile), specifier));
    return [base, `${base}.js`, `${base}.json`, `${base}/index.js`].find((c) => files.has(c));
}

describe('the sidecar package build/package_bridge.mjs writes', () => {
    // run_tests.mjs builds server-bridge before this suite; a missing build is a failure, not a skip.
    assert.ok(
        existsSync(path.join(BRIDGE, 'dist', 'cli', 'main.js')),
        'server-bridge/dist is not built: run `npm run build -w server-bridge`',
    );
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'mm-backup-pack-'));
    after(() => rmSync(tmp, {recursive: true, force: true}));
    // The real tarball, unpacked: what `npm install -g` would put on the Mattermost host.
    const tarball = packBridge({outDir: tmp, build: false, quiet: true});
    execFileSync('tar', ['-xzf', tarball, '-C', tmp]);
    const unpacked = path.join(tmp, 'package');
    const pkg = JSON.parse(readFileSync(path.join(unpacked, 'package.json'), 'utf8'));
    const list = execFileSync('tar', ['-tzf', tarball], {encoding: 'utf8'})
        .split('\n')
        .filter((e) => e && !e.endsWith('/'))
        .map((e) => e.replace(/^package\//, ''))
        .sort();
    const files = new Set(list);

    // Private workspace packages the sidecar needs at run time travel inside it (bundleDependencies).
    const bundled = pkg.bundleDependencies ?? [];
    const inBundled = (f) =>
        bundled.some(
            (b) =>
                f === `node_modules/${b}/package.json` || (f.startsWith(`node_modules/${b}/dist/`) && /\.js$/.test(f)),
        );

    it("holds only the package description, the launcher and compiled runtime code (its own and its bundled packages')", () => {
        const stray = list.filter(
            (f) =>
                !(
                    f === 'package.json' ||
                    /^(README|LICENSE)(\.md)?$/i.test(f) ||
                    /^bin\/[\w-]+\.js$/.test(f) ||
                    /^dist\/.+\.js(\.map)?$/.test(f) ||
                    inBundled(f)
                ),
        );
        assert.deepEqual(stray, []);
        assert.ok(files.has('dist/cli/main.js') && files.has('bin/mm-backup.js'));
    });

    it('has no test kit, tools, tests or TypeScript sources', () => {
        const leaked = list.filter((f) =>
            /(^|\/)(testkit|test|tests|__tests__|bench|sandbox|tools|mm_rest|standin)(\/|$)|\.test\.|\.spec\.|\.ts$/.test(
                f,
            ),
        );
        assert.deepEqual(leaked, []);
    });

    it('every module the packed code loads is a Node builtin, a runtime dependency or a packed file', () => {
        const deps = new Set(Object.keys(pkg.dependencies ?? {}));
        const problems = [];
        for (const file of list.filter((f) => f.endsWith('.js'))) {
            for (const spec of loadedSpecifiers(readFileSync(path.join(unpacked, file), 'utf8'))) {
                if (spec.startsWith('.')) {
                    if (!resolvePacked(file, spec, files)) problems.push(`${file}: ${spec} is not in the package`);
                } else if (!isBuiltin(spec) && !deps.has(packageOf(spec))) {
                    problems.push(`${file}: ${spec} is not a runtime dependency`);
                }
            }
        }
        assert.deepEqual(problems, []);
    });

    it('every runtime dependency is loaded by the packed code (none is dead weight on the host)', () => {
        const used = new Set();
        for (const file of list.filter((f) => f.endsWith('.js'))) {
            for (const spec of loadedSpecifiers(readFileSync(path.join(unpacked, file), 'utf8'))) {
                used.add(packageOf(spec));
            }
        }
        assert.deepEqual(
            Object.keys(pkg.dependencies ?? {}).filter((d) => !used.has(d)),
            [],
        );
    });

    it('has no entry point that is missing from the package, and no dependency on a private workspace it does not carry', () => {
        assert.equal(pkg.main, undefined, 'the sidecar is a command, not a library: it has bin, no main');
        for (const target of Object.values(pkg.bin)) {
            assert.ok(files.has(path.posix.normalize(target)), `bin ${target} is not packed`);
        }
        for (const target of Object.values(pkg.exports ?? {})) {
            assert.ok(files.has(path.posix.normalize(target)), `export ${target} is not packed`);
        }
        // A private workspace is never fetched from a registry: it must be bundled, and packed.
        const privates = Object.keys(pkg.dependencies ?? {}).filter(
            (d) => d.startsWith('@mm-backup/') && !(bundled.includes(d) && files.has(`node_modules/${d}/package.json`)),
        );
        assert.deepEqual(privates, []);
    });
});

describe('loadedSpecifiers', () => {
    it('finds require, require.resolve and dynamic import with either quote', () => {
        const src = `const a = require("pg"); const b = require('./x'); require.resolve('typescript/bin/tsc'); loaded ??= import('age-encryption');`;
        assert.deepEqual(loadedSpecifiers(src).sort(), ['./x', 'age-encryption', 'pg', 'typescript/bin/tsc']);
    });

    it('names the package of scoped and deep specifiers', () => {
        assert.deepEqual(['@aws-sdk/client-s3', '@aws-sdk/lib-storage/dist/x', 'mysql2/promise', 'pg'].map(packageOf), [
            '@aws-sdk/client-s3',
            '@aws-sdk/lib-storage',
            'mysql2',
            'pg',
        ]);
    });
});
