// Validation rules for plugin.json, mirroring what the Mattermost server enforces
// (server/public/model/manifest.go, plugin_valid.go) plus a few project rules that
// catch mistakes the server would only reveal after an upload.
// Pure functions only: no file system access except the optional bundle check.

import {existsSync} from 'node:fs';
import path from 'node:path';

/** Setting types the server accepts; anything else makes the manifest invalid. */
export const SETTING_TYPES = [
    'bool',
    'dropdown',
    'generated',
    'radio',
    'text',
    'longtext',
    'number',
    'username',
    'custom',
];

/** Types on which the server accepts `placeholder`. */
export const PLACEHOLDER_TYPES = ['generated', 'text', 'longtext', 'number', 'username', 'custom'];

/** Types on which the server accepts `options`. */
export const OPTION_TYPES = ['radio', 'dropdown'];

// Known keys per object. The server's JSON decoder ignores unknown keys, so a typo such
// as `min_server_verison` would silently drop the field; we reject them like the
// starter template's Go tool does.
const MANIFEST_KEYS = [
    'id',
    'name',
    'description',
    'homepage_url',
    'support_url',
    'release_notes_url',
    'icon_path',
    'version',
    'min_server_version',
    'server',
    'webapp',
    'settings_schema',
    'props',
    'required_configuration',
];
const SCHEMA_KEYS = ['header', 'footer', 'settings', 'sections'];
const SECTION_KEYS = ['key', 'title', 'subtitle', 'settings', 'header', 'footer', 'custom', 'fallback'];
const SETTING_KEYS = [
    'key',
    'display_name',
    'type',
    'help_text',
    'regenerate_help_text',
    'placeholder',
    'default',
    'options',
    'hosting',
    'secret',
];

// Official semver 2.0.0 grammar; the server parses with blang/semver, which is as strict
// (no leading "v", no leading zeros, all three numbers required).
const SEMVER =
    /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
const PLUGIN_ID = /^[a-zA-Z0-9-_.]+$/;

/** True when `value` is a strict semver 2.0.0 string. */
export function isSemver(value) {
    return typeof value === 'string' && SEMVER.test(value);
}

function isObject(value) {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isHttpUrl(value) {
    try {
        const url = new URL(value);
        return url.protocol === 'http:' || url.protocol === 'https:';
    } catch {
        return false;
    }
}

function checkUnknownKeys(obj, allowed, where, errors) {
    for (const key of Object.keys(obj)) {
        if (!allowed.includes(key)) {
            errors.push(`${where}${key}: unknown field (allowed: ${allowed.join(', ')})`);
        }
    }
}

function checkId(id, errors) {
    if (typeof id !== 'string' || id === '') {
        errors.push('id: required, a string of 3 to 190 characters');
        return;
    }
    const length = [...id].length;
    if (length < 3 || length > 190) {
        errors.push(`id: must be 3 to 190 characters long, got ${length}`);
    }
    if (!PLUGIN_ID.test(id)) {
        errors.push(`id: "${id}" may contain only letters, digits, "-", "_" and "."`);
    }

    // The server lower-cases the id on load while the webapp looks the plugin up under
    // the id it was registered with, so a mixed-case id breaks registration.
    if (id !== id.toLowerCase()) {
        errors.push(`id: "${id}" must be lower case (the server lower-cases it on load)`);
    }
}

function checkTopLevel(manifest, errors) {
    if (typeof manifest.name !== 'string' || manifest.name.trim() === '') {
        errors.push('name: required and must not be empty');
    }

    // The server treats version as optional, but bundles are named after it and
    // upgrades compare it, so this project requires it.
    if (!isSemver(manifest.version)) {
        errors.push(`version: "${manifest.version ?? ''}" is not a semver version such as 1.2.3`);
    }
    if (manifest.min_server_version !== undefined && !isSemver(manifest.min_server_version)) {
        errors.push(`min_server_version: "${manifest.min_server_version}" is not a semver version such as 10.1.0`);
    }
    for (const field of ['homepage_url', 'support_url', 'release_notes_url']) {
        if (manifest[field] !== undefined && manifest[field] !== '' && !isHttpUrl(manifest[field])) {
            errors.push(`${field}: "${manifest[field]}" must be an http(s) URL`);
        }
    }
    if (manifest.icon_path !== undefined && !String(manifest.icon_path).toLowerCase().endsWith('.svg')) {
        errors.push(`icon_path: "${manifest.icon_path}" must point to an SVG file`);
    }
}

function checkWebapp(manifest, options, errors) {
    if (manifest.webapp === undefined) {
        return;
    }
    const bundlePath = manifest.webapp?.bundle_path;
    if (typeof bundlePath !== 'string' || bundlePath.trim() === '') {
        errors.push('webapp.bundle_path: required when webapp is present');
        return;
    }
    if (path.isAbsolute(bundlePath) || bundlePath.split(/[\\/]/).includes('..')) {
        errors.push(`webapp.bundle_path: "${bundlePath}" must be relative to the bundle root`);
        return;
    }
    if (options.requireBundle && !existsSync(path.join(options.rootDir ?? '.', bundlePath))) {
        errors.push(
            `webapp.bundle_path: "${bundlePath}" does not exist; build the webapp first (npm run build -w webapp)`,
        );
    }
}

/** Validates one setting; `where` is its path, e.g. "settings_schema.settings[0]". */
function checkSetting(setting, where, errors) {
    if (!isObject(setting)) {
        errors.push(`${where}: must be an object`);
        return;
    }
    checkUnknownKeys(setting, SETTING_KEYS, `${where}.`, errors);
    const label = `${where} (${setting.key ?? 'no key'})`;
    if (typeof setting.key !== 'string' || setting.key.trim() === '') {
        errors.push(`${where}.key: required and must not be empty`);
    }
    if (!SETTING_TYPES.includes(setting.type)) {
        errors.push(
            `${label}.type: invalid setting type "${setting.type ?? ''}" (allowed: ${SETTING_TYPES.join(', ')})`,
        );
        return;
    }
    if (setting.placeholder !== undefined && setting.placeholder !== '' && !PLACEHOLDER_TYPES.includes(setting.type)) {
        errors.push(
            `${label}.placeholder: not allowed for type "${setting.type}" (only ${PLACEHOLDER_TYPES.join(', ')})`,
        );
    }
    if (
        setting.regenerate_help_text !== undefined &&
        setting.regenerate_help_text !== '' &&
        setting.type !== 'generated'
    ) {
        errors.push(`${label}.regenerate_help_text: only allowed for type "generated"`);
    }
    if (setting.hosting !== undefined && setting.hosting !== '' && !['cloud', 'on-prem'].includes(setting.hosting)) {
        errors.push(`${label}.hosting: must be "cloud" or "on-prem"`);
    }
    if (setting.secret !== undefined && typeof setting.secret !== 'boolean') {
        errors.push(`${label}.secret: must be true or false`);
    }
    checkOptions(setting, label, errors);
}

function checkOptions(setting, label, errors) {
    if (setting.options === undefined || setting.options === null) {
        // The server accepts a choice list without choices; the Console then renders an
        // empty control, so this project treats it as a mistake.
        if (OPTION_TYPES.includes(setting.type)) {
            errors.push(`${label}.options: required for type "${setting.type}"`);
        }
        return;
    }
    if (!OPTION_TYPES.includes(setting.type)) {
        errors.push(`${label}.options: only allowed for types radio and dropdown, not "${setting.type}"`);
        return;
    }
    if (!Array.isArray(setting.options)) {
        errors.push(`${label}.options: must be an array`);
        return;
    }
    setting.options.forEach((option, i) => {
        if (!isObject(option) || !option.display_name || !option.value) {
            errors.push(`${label}.options[${i}]: display_name and value are both required`);
        }
    });
}

function checkSettingList(settings, where, seenKeys, errors) {
    if (settings === undefined) {
        return;
    }
    if (!Array.isArray(settings)) {
        errors.push(`${where}: must be an array`);
        return;
    }
    settings.forEach((setting, i) => {
        checkSetting(setting, `${where}[${i}]`, errors);

        // The System Console lower-cases keys when it stores values, so keys that differ
        // only by case would overwrite each other.
        const key = typeof setting?.key === 'string' ? setting.key.toLowerCase() : '';
        if (key && seenKeys.has(key)) {
            errors.push(
                `${where}[${i}].key: "${setting.key}" duplicates another key (keys are compared in lower case)`,
            );
        }
        seenKeys.add(key);
    });
}

function checkSettingsSchema(schema, errors) {
    if (schema === undefined) {
        return;
    }
    if (!isObject(schema)) {
        errors.push('settings_schema: must be an object');
        return;
    }
    checkUnknownKeys(schema, SCHEMA_KEYS, 'settings_schema.', errors);
    const seenKeys = new Set();
    checkSettingList(schema.settings, 'settings_schema.settings', seenKeys, errors);
    if (schema.sections === undefined) {
        return;
    }
    if (!Array.isArray(schema.sections)) {
        errors.push('settings_schema.sections: must be an array');
        return;
    }
    schema.sections.forEach((section, i) => {
        const where = `settings_schema.sections[${i}]`;
        if (!isObject(section)) {
            errors.push(`${where}: must be an object`);
            return;
        }
        checkUnknownKeys(section, SECTION_KEYS, `${where}.`, errors);
        if (typeof section.key !== 'string' || section.key.trim() === '') {
            errors.push(`${where}.key: required and must not be empty`);
        }
        checkSettingList(section.settings, `${where}.settings`, seenKeys, errors);
    });
}

/**
 * Validates a parsed plugin.json.
 *
 * @param {unknown} manifest the parsed JSON
 * @param {{rootDir?: string, requireBundle?: boolean}} [options] with `requireBundle`,
 *   `webapp.bundle_path` must exist under `rootDir` (default: the working directory)
 * @returns {string[]} one message per problem, each starting with the field it is about;
 *   empty when the manifest is valid
 */
export function validateManifest(manifest, options = {}) {
    if (!isObject(manifest)) {
        return ['plugin.json: must contain a JSON object'];
    }
    const errors = [];
    checkUnknownKeys(manifest, MANIFEST_KEYS, '', errors);
    checkId(manifest.id, errors);
    checkTopLevel(manifest, errors);
    checkWebapp(manifest, options, errors);
    checkSettingsSchema(manifest.settings_schema, errors);
    return errors;
}
