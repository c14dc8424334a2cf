// docs/configuration.md is generated from the config schema (build/config_reference.mjs). These tests
// fail when the page and the schema disagree, when a key has no description, and when what the page
// says about a key (its default, whether it is required) is not what the real loader does with a file.
import assert from 'node:assert/strict';
import {existsSync, readFileSync} from 'node:fs';
import path from 'node:path';
import {describe, it} from 'node:test';

import {
    configJsonSchema,
    loadSchemaModule,
    referenceRows,
    renderConfigReference,
    REFERENCE_FILE,
} from '../config_reference.mjs';
import {ROOT_DIR} from '../manifest.mjs';

// run_tests.mjs builds server-bridge before this suite; a missing build is a failure, not a skip.
assert.ok(
    existsSync(path.join(ROOT_DIR, 'server-bridge', 'dist', 'config', 'schema.js')),
    'server-bridge/dist is not built: run `npm run build -w server-bridge`',
);
const mod = loadSchemaModule();
const rows = referenceRows(configJsonSchema(mod), configJsonSchema(mod, 'output'));

/** The smallest file the loader accepts, with an offsite section so its defaults are checked too. */
function minimalConfig() {
    return {
        mattermost: {installDir: '/opt/mattermost'},
        service: {stop: ['systemctl', 'stop', 'mattermost'], start: ['systemctl', 'start', 'mattermost']},
        repository: {path: '/var/opt/mattermost-backup'},
        offsite: {s3: {bucket: 'acme-backups'}},
    };
}

const at = (obj, key) => key.split('.').reduce((o, k) => (o === undefined || o === null ? undefined : o[k]), obj);

function refusal(raw) {
    try {
        mod.parseConfig(raw, 'test.json');
    } catch (err) {
        return (
            [err.message, ...(err.details ?? err.lines ?? [])].join('\n') + JSON.stringify(err.data ?? err.fields ?? {})
        );
    }
    return null;
}

describe('docs/configuration.md', () => {
    it('is exactly what build/config_reference.mjs generates from the schema', () => {
        const current = readFileSync(REFERENCE_FILE, 'utf8');
        assert.ok(
            current === renderConfigReference(mod),
            'docs/configuration.md and the config schema disagree: run `node build/config_reference.mjs` after changing the schema',
        );
    });

    it('describes every key (a .describe() text in the schema)', () => {
        assert.ok(rows.length > 100, `only ${rows.length} keys found`);
        const bare = rows.filter((r) => !r.description.replace(/^\(type [^)]*\)\s*/, '').trim()).map((r) => r.key);
        assert.deepEqual(bare, []);
    });

    it('states the defaults the loader applies to a file that leaves the keys out', () => {
        const raw = minimalConfig();
        const parsed = mod.parseConfig(raw, 'test.json');
        const checked = [];
        for (const r of rows) {
            if (r.jsonDefault === undefined || at(raw, r.key) !== undefined || r.description.startsWith('(type')) {
                continue;
            }
            const parentKey = r.key.split('.').slice(0, -1).join('.');
            // Inside an optional section that the file leaves out (offsite.encryption) nothing is applied.
            if (parentKey && at(parsed, parentKey) === undefined) {
                assert.equal(
                    rows.find((p) => p.key === parentKey)?.jsonDefault,
                    undefined,
                    `${parentKey} has a default but is absent`,
                );
                continue;
            }
            const value = at(parsed, r.key);
            if (
                typeof r.jsonDefault === 'object' &&
                !Array.isArray(r.jsonDefault) &&
                Object.keys(r.jsonDefault).length === 0
            ) {
                assert.equal(
                    typeof value,
                    'object',
                    `${r.key}: documented as a section with defaults, loaded as ${value}`,
                );
            } else {
                assert.deepEqual(value, r.jsonDefault, `${r.key}: documented default ${JSON.stringify(r.jsonDefault)}`);
            }
            checked.push(r.key);
        }
        // The defaults an admin relies on most are among those checked.
        for (const key of [
            'service.preset',
            'mattermost.url',
            'listen.port',
            'backup.mode',
            'retention.keepLast',
            'pitr.window',
        ]) {
            assert.ok(checked.includes(key), `${key} was not checked`);
        }
    });

    it('marks required exactly the keys whose absence the loader refuses', () => {
        for (const r of rows.filter((row) => !row.description.startsWith('(type'))) {
            const raw = minimalConfig();
            raw.service.preset = 'systemd';
            const parentKey = r.key.split('.').slice(0, -1).join('.');
            const parent = parentKey ? at(raw, parentKey) : raw;
            const name = r.key.split('.').pop();
            if (parent === undefined || !(name in parent)) {
                continue;
            }
            Reflect.deleteProperty(parent, name);
            const why = refusal(raw);
            if (r.required) {
                assert.ok(why, `${r.key} is documented as required, but a file without it loads`);
            } else {
                assert.equal(why, null, `${r.key} is documented as optional, but a file without it is refused: ${why}`);
            }
        }
        const required = rows.filter((r) => r.required).map((r) => r.key);
        assert.ok(required.includes('service'), 'service must read as required: a config without it is refused');
        assert.ok(refusal({mattermost: {installDir: '/opt/mattermost'}, repository: {path: '/var/x'}}));
    });

    it('says that the default preset (custom) needs service.stop and service.start, as the loader enforces', () => {
        for (const key of ['stop', 'start']) {
            const raw = minimalConfig();
            Reflect.deleteProperty(raw.service, key);
            assert.match(refusal(raw) ?? '', /service: needs "stop" and "start"/);
        }
        assert.match(
            rows.find((r) => r.key === 'service.preset').description,
            /without `preset` must have `stop` and `start`/,
        );
        assert.match(rows.find((r) => r.key === 'service.stop').description, /required with preset `custom`/);
    });
});
