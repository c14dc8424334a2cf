// The release artifact (build/release.mjs) installs for real: its install.sh runs `npm install
// --omit=dev` of the packed sidecar from the npm registry into a temp prefix, on this Node (20 in CI).
// The installed command must run, nothing of the development tool chain may be installed, npm must
// print no warning (EBADENGINE above all), and the systemd unit and nginx snippet must be what the
// sidecar and the plugin expect.
import assert from 'node:assert/strict';
import {execFileSync, spawnSync} from 'node:child_process';
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, describe, it} from 'node:test';

import {readManifest, ROOT_DIR} from '../manifest.mjs';
import {createRelease, RELEASE_FILES} from '../release.mjs';

const bridgePkg = JSON.parse(readFileSync(path.join(ROOT_DIR, 'server-bridge', 'package.json'), 'utf8'));
const rootPkg = JSON.parse(readFileSync(path.join(ROOT_DIR, 'package.json'), 'utf8'));

/** Every package name under a node_modules tree (scoped ones as @scope/name), nested ones included. */
function installedPackages(dir, found = new Set()) {
    if (!existsSync(dir)) {
        return found;
    }
    for (const name of readdirSync(dir)) {
        if (name.startsWith('.')) {
            continue;
        }
        if (name.startsWith('@')) {
            for (const sub of readdirSync(path.join(dir, name))) {
                found.add(`${name}/${sub}`);
                installedPackages(path.join(dir, name, sub, 'node_modules'), found);
            }
        } else {
            found.add(name);
            installedPackages(path.join(dir, name, 'node_modules'), found);
        }
    }
    return found;
}

/** [section, key, value] triples of a systemd unit file. */
function unitEntries(text) {
    const entries = [];
    let section = null;
    for (const raw of text.split('\n')) {
        const line = raw.trim();
        if (!line || line.startsWith('#')) {
            continue;
        }
        const header = /^\[(\w+)\]$/.exec(line);
        if (header) {
            section = header[1];
            continue;
        }
        const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
        assert.ok(kv && section, `not a unit file line: ${line}`);
        entries.push([section, kv[1], kv[2]]);
    }
    return entries;
}

describe('the release artifact, installed with its install.sh', () => {
    assert.ok(
        existsSync(path.join(ROOT_DIR, 'server-bridge', 'dist', 'cli', 'main.js')),
        'server-bridge/dist is not built: run `npm run build -w server-bridge`',
    );
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'mm-backup-release-test-'));
    after(() => rmSync(tmp, {recursive: true, force: true}));
    const artifact = createRelease({outDir: tmp, build: false, quiet: true});
    execFileSync('tar', ['-xzf', artifact, '-C', tmp]);
    const unpacked = path.join(tmp, `mm-backup-${bridgePkg.version}`);
    const prefix = path.join(tmp, 'opt', 'mm-backup');
    const binDir = path.join(tmp, 'bin');
    const configDir = path.join(tmp, 'etc', 'mm-backup');
    const systemdDir = path.join(tmp, 'systemd');
    execFileSync('mkdir', ['-p', systemdDir]);
    const install = spawnSync(
        path.join(unpacked, 'install.sh'),
        ['--prefix', prefix, '--bin-dir', binDir, '--config-dir', configDir, '--systemd-dir', systemdDir],
        {encoding: 'utf8', timeout: 300_000},
    );
    const output = `${install.stdout}${install.stderr}`;
    const mmBackup = path.join(binDir, 'mm-backup');

    it('holds the packed sidecar, install.sh, the unit and the nginx snippet', () => {
        const names = readdirSync(unpacked).sort();
        assert.deepEqual(
            names,
            [
                ...RELEASE_FILES,
                'install-package.json',
                `mattermost-backup-server-bridge-${bridgePkg.version}.tgz`,
            ].sort(),
        );
    });

    it('installs with one command, without a single npm warning (no EBADENGINE on this Node)', () => {
        assert.equal(install.status, 0, output);
        assert.doesNotMatch(output, /EBADENGINE/);
        assert.doesNotMatch(output, /npm (warn|WARN|ERR)/, output);
        assert.match(output, new RegExp(`installed: ${bridgePkg.version.replace(/\./g, '\\.')}`));
    });

    it('gives a working mm-backup command (--version, --help)', () => {
        assert.equal(execFileSync(mmBackup, ['--version'], {encoding: 'utf8'}).trim(), bridgePkg.version);
        const help = execFileSync(mmBackup, ['--help'], {encoding: 'utf8'});
        for (const command of ['discover', 'backup', 'restore', 'verify', 'serve']) {
            assert.match(help, new RegExp(`\\b${command}\\b`), `--help does not list ${command}`);
        }
    });

    it('installs the runtime dependencies only: no jest, webpack, TypeScript or any devDependency', () => {
        const installed = installedPackages(path.join(prefix, 'node_modules'));
        assert.ok(installed.has(bridgePkg.name) && installed.has('fastify') && installed.has('@mm-backup/api'));
        // The development tool chain must not be there at all.
        const toolChain = [
            'jest',
            'webpack',
            'typescript',
            '@swc/core',
            '@swc/jest',
            '@babel/core',
            'eslint',
            'prettier',
        ];
        assert.deepEqual(
            toolChain.filter((p) => installed.has(p)),
            [],
        );
        // A devDependency of ours may be installed only because a runtime package needs it (mysql2 declares
        // @types/node; @mattermost/client's peer @mattermost/types), never for its own sake.
        const needed = new Set();
        for (const name of installed) {
            for (const dir of [path.join(prefix, 'node_modules', name)]) {
                if (existsSync(path.join(dir, 'package.json'))) {
                    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
                    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
                        Object.keys(pkg[field] ?? {}).forEach((d) => needed.add(d));
                    }
                }
            }
        }
        const dev = [...Object.keys(bridgePkg.devDependencies), ...Object.keys(rootPkg.devDependencies)];
        assert.deepEqual(
            dev.filter((p) => installed.has(p) && !needed.has(p)),
            [],
        );
        // The override that keeps Node 20 supported reached the installed tree.
        const cookie = JSON.parse(
            readFileSync(path.join(prefix, 'node_modules', 'cookie', 'package.json'), 'utf8'),
        ).version;
        assert.match(cookie, /^1\./);
    });

    it('makes the config directory private and puts the unit in place', () => {
        assert.equal(statSync(configDir).mode & 0o777, 0o700);
        assert.equal(
            readFileSync(path.join(systemdDir, 'mm-backup.service'), 'utf8'),
            readFileSync(path.join(ROOT_DIR, 'build', 'packaging', 'mm-backup.service'), 'utf8'),
        );
    });

    it('has a systemd unit that runs `mm-backup serve` as root with the documented config', () => {
        const text = readFileSync(path.join(unpacked, 'mm-backup.service'), 'utf8');
        const entries = unitEntries(text);
        const get = (section, key) => entries.filter(([s, k]) => s === section && k === key).map(([, , v]) => v);
        assert.deepEqual(get('Service', 'ExecStart'), [
            '/usr/local/bin/mm-backup serve --config /etc/mm-backup/config.json',
        ]);
        assert.deepEqual(get('Service', 'User'), ['root']);
        assert.deepEqual(get('Install', 'WantedBy'), ['multi-user.target']);
        // A restore writes the install and /etc; these would break it.
        for (const key of ['ProtectSystem', 'ReadOnlyPaths', 'PrivateTmp', 'ProtectHome']) {
            assert.deepEqual(get('Service', key), [], `${key} would keep restores or physical mode from working`);
        }
        const analyze = spawnSync('systemd-analyze', ['--version'], {encoding: 'utf8'});
        if (analyze.status === 0) {
            // systemd-analyze verify checks that ExecStart exists: point it at the command just installed.
            const unit = path.join(tmp, 'mm-backup.service');
            writeFileSync(unit, text.replace('/usr/local/bin/mm-backup', mmBackup));
            const verify = spawnSync('systemd-analyze', ['verify', unit], {encoding: 'utf8', timeout: 60_000});
            assert.equal(verify.status, 0, `${verify.stdout}${verify.stderr}`);
            assert.doesNotMatch(`${verify.stdout}${verify.stderr}`, /mm-backup\.service:\d+:/);
        }
    });

    it("has an nginx snippet that serves the sidecar's loopback port at the plugin's default Sidecar URL", () => {
        const text = readFileSync(path.join(unpacked, 'nginx-mm-backup.conf'), 'utf8');
        const code = text
            .split('\n')
            .filter((l) => !l.trim().startsWith('#'))
            .join('\n');
        assert.equal((code.match(/\{/g) ?? []).length, (code.match(/\}/g) ?? []).length, 'unbalanced braces');
        const setting = readManifest(ROOT_DIR).settings_schema.settings.find((s) => s.default === '/mm-backup');
        assert.ok(setting, 'plugin.json no longer defaults the Sidecar URL to /mm-backup');
        assert.match(code, /location \/mm-backup\/ \{[^}]*proxy_pass http:\/\/127\.0\.0\.1:8066\/;/);
        assert.match(code, /proxy_buffering off;/, 'Server-Sent Events need unbuffered proxying');
        assert.match(code, /location = \/mm-backup\/metrics \{\s*return 404;/);
    });
});
