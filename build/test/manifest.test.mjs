import assert from 'node:assert/strict';
import {existsSync, readFileSync, writeFileSync} from 'node:fs';
import path from 'node:path';
import {afterEach, describe, it, mock} from 'node:test';

import {checkManifest, main, renderManifestModule, validateManifest} from '../manifest.mjs';

import {makePluginTree, realManifest, removeTree} from '../test_support/plugin_tree.mjs';

/** Our manifest with `change` applied to a deep copy. */
function broken(change) {
    const manifest = structuredClone(realManifest());
    change(manifest);
    return manifest;
}

describe('validateManifest', () => {
    it('accepts the project plugin.json', () => {
        assert.deepEqual(validateManifest(realManifest()), []);
    });

    const cases = [
        ['a missing id', (m) => delete m.id, /^id: required/],
        [
            'a too short id',
            (m) => {
                m.id = 'ab';
            },
            /^id: must be 3 to 190 characters long, got 2/,
        ],
        [
            'a too long id',
            (m) => {
                m.id = 'a'.repeat(191);
            },
            /^id: must be 3 to 190 characters long, got 191/,
        ],
        [
            'a forbidden character in the id',
            (m) => {
                m.id = 'backup plugin';
            },
            /^id: "backup plugin" may contain only/,
        ],
        [
            'an upper-case id',
            (m) => {
                m.id = 'Mattermost-Backup';
            },
            /^id: "Mattermost-Backup" must be lower case/,
        ],
        [
            'a blank name',
            (m) => {
                m.name = '  ';
            },
            /^name: required and must not be empty/,
        ],
        [
            'a non-semver version',
            (m) => {
                m.version = 'v1.0';
            },
            /^version: "v1.0" is not a semver version/,
        ],
        ['a missing version', (m) => delete m.version, /^version: "" is not a semver version/],
        [
            'a non-semver min_server_version',
            (m) => {
                m.min_server_version = '10.1';
            },
            /^min_server_version: "10.1" is not a semver version/,
        ],
        [
            'a misspelt field',
            (m) => {
                m.min_server_verison = '10.1.0';
            },
            /^min_server_verison: unknown field/,
        ],
        [
            'a non-http homepage',
            (m) => {
                m.homepage_url = 'ftp://example.com';
            },
            /^homepage_url: "ftp:\/\/example.com" must be an http\(s\) URL/,
        ],
        [
            'a bitmap icon',
            (m) => {
                m.icon_path = 'assets/icon.png';
            },
            /^icon_path: .* must point to an SVG file/,
        ],
        [
            'an empty bundle path',
            (m) => {
                m.webapp.bundle_path = '';
            },
            /^webapp.bundle_path: required/,
        ],
        [
            'a bundle path outside the bundle',
            (m) => {
                m.webapp.bundle_path = '../main.js';
            },
            /^webapp.bundle_path: "..\/main.js" must be relative/,
        ],
        [
            'an unknown setting type',
            (m) => {
                m.settings_schema.settings[0].type = 'url';
            },
            /^settings_schema.settings\[0\] \(SidecarURL\).type: invalid setting type "url" \(allowed: bool, dropdown/,
        ],
        [
            'a placeholder on a bool',
            (m) => {
                Object.assign(m.settings_schema.settings[0], {type: 'bool'});
            },
            /^settings_schema.settings\[0\] \(SidecarURL\).placeholder: not allowed for type "bool"/,
        ],
        [
            'options on a text setting',
            (m) => {
                m.settings_schema.settings[0].options = [{display_name: 'A', value: 'a'}];
            },
            /^settings_schema.settings\[0\] \(SidecarURL\).options: only allowed for types radio and dropdown, not "text"/,
        ],
        [
            'a dropdown without options',
            (m) => {
                m.settings_schema.settings.push({key: 'Mode', type: 'dropdown'});
            },
            /^settings_schema.settings\[2\] \(Mode\).options: required for type "dropdown"/,
        ],
        [
            'an option without a value',
            (m) => {
                m.settings_schema.settings.push({
                    key: 'Mode',
                    type: 'radio',
                    options: [{display_name: 'A', value: ''}],
                });
            },
            /^settings_schema.settings\[2\] \(Mode\).options\[0\]: display_name and value are both required/,
        ],
        [
            'regenerate_help_text on a text setting',
            (m) => {
                m.settings_schema.settings[0].regenerate_help_text = 'x';
            },
            /regenerate_help_text: only allowed for type "generated"/,
        ],
        [
            'a bad hosting value',
            (m) => {
                m.settings_schema.settings[0].hosting = 'both';
            },
            /hosting: must be "cloud" or "on-prem"/,
        ],
        [
            'keys differing only by case',
            (m) => {
                m.settings_schema.settings.push({key: 'sidecarurl', type: 'text'});
            },
            /^settings_schema.settings\[2\].key: "sidecarurl" duplicates another key/,
        ],
        [
            'a section without key',
            (m) => {
                m.settings_schema.sections = [{title: 'x', settings: []}];
            },
            /^settings_schema.sections\[0\].key: required/,
        ],
        [
            'a bad setting inside a section',
            (m) => {
                m.settings_schema.sections = [{key: 's', settings: [{key: 'x', type: 'color'}]}];
            },
            /^settings_schema.sections\[0\].settings\[0\] \(x\).type: invalid setting type "color"/,
        ],
    ];
    for (const [what, change, expected] of cases) {
        it(`rejects ${what}, naming the field`, () => {
            const errors = validateManifest(broken(change));
            assert.ok(
                errors.some((e) => expected.test(e)),
                `expected ${expected} in:\n${errors.join('\n')}`,
            );
        });
    }

    it('rejects a value that is not an object', () => {
        assert.deepEqual(validateManifest([]), ['plugin.json: must contain a JSON object']);
    });

    it('requires the bundle file only when asked', () => {
        const root = makePluginTree();
        try {
            assert.deepEqual(validateManifest(realManifest(), {rootDir: root}), []);
            assert.match(
                validateManifest(realManifest(), {rootDir: root, requireBundle: true})[0],
                /^webapp.bundle_path: "webapp\/dist\/main.js" does not exist/,
            );
        } finally {
            removeTree(root);
        }
    });
});

describe('the project manifest', () => {
    const manifest = realManifest();

    it('is a webapp-only plugin with the agreed id and server floor', () => {
        assert.equal(manifest.id, 'mattermost-backup');
        assert.equal(manifest.server, undefined);
        assert.equal(manifest.webapp.bundle_path, 'webapp/dist/main.js');
        assert.equal(manifest.min_server_version, '10.1.0');
    });

    it('keeps secrets out of plugin settings and uses top-level settings only', () => {
        const settings = manifest.settings_schema.settings;
        assert.deepEqual(
            settings.map((s) => [s.key, s.type]),
            [
                ['SidecarURL', 'text'],
                ['Dashboard', 'custom'],
            ],
        );
        assert.equal(settings[0].default, '/mm-backup');
        assert.ok(settings.every((s) => !s.secret));
        assert.equal(manifest.settings_schema.sections, undefined);
    });

    it('has the same version as the root package.json', () => {
        assert.deepEqual(checkManifest(), []);
    });
});

describe('manifest CLI', () => {
    let root;
    afterEach(() => {
        removeTree(root);
        process.exitCode = undefined;
        mock.restoreAll();
    });

    it('check exits 1 listing every problem', () => {
        root = makePluginTree({manifest: {id: 'X', name: '', version: '1'}});
        const errors = mock.method(console, 'error', () => undefined);
        main(['check'], root);
        assert.equal(process.exitCode, 1);
        const output = errors.mock.calls[0].arguments[0];
        assert.match(output, /id: "X" must be lower case/);
        assert.match(output, /name: required/);
        assert.match(output, /version: "1" is not a semver version/);
    });

    it('check reports a version that differs from package.json', () => {
        root = makePluginTree();
        writeFileSync(path.join(root, 'package.json'), JSON.stringify({version: '9.9.9'}));
        assert.match(
            checkManifest(root).join('\n'),
            /version: plugin.json has "0.1.0" but package.json has "9.9.9"; run node build\/manifest.mjs sync-version/,
        );
    });

    it('apply writes webapp/src/manifest.ts with id, version and the manifest', () => {
        root = makePluginTree({files: {'webapp/src/.keep': ''}});
        main(['apply'], root);
        const source = readFileSync(path.join(root, 'webapp', 'src', 'manifest.ts'), 'utf8');
        assert.equal(source, renderManifestModule(realManifest()));
        assert.match(source, /export const id = manifest.id;/);
        assert.match(source, /export const version = manifest.version;/);
        assert.match(source, /"id": "mattermost-backup"/);
    });

    it('apply refuses an invalid manifest', () => {
        root = makePluginTree({manifest: {...realManifest(), id: 'A B'}, files: {'webapp/src/.keep': ''}});
        mock.method(console, 'error', () => undefined);
        main(['apply'], root);
        assert.equal(process.exitCode, 1);
        assert.equal(existsSync(path.join(root, 'webapp', 'src', 'manifest.ts')), false);
    });
});
