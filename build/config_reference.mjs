#!/usr/bin/env node
// Writes docs/configuration.md, the configuration reference, from the config schema itself
// (server-bridge/src/config/schema.ts and the pitr and offsite schemas it includes): every key with
// its type, default, whether it is required and its description (the schema's .describe() texts).
// The schema is the single source, so the page cannot drift from what the loader enforces:
// build/test/config_reference.test.mjs regenerates it in memory and fails when the file differs.
//
// Usage: node build/config_reference.mjs [--check]   (reads the compiled server-bridge/dist)

import {readFileSync, writeFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import path from 'node:path';
import {pathToFileURL} from 'node:url';

import {ROOT_DIR} from './manifest.mjs';

export const REFERENCE_FILE = path.join(ROOT_DIR, 'docs', 'configuration.md');
const BRIDGE = path.join(ROOT_DIR, 'server-bridge');

/** The compiled config module and the zod it was built with (run `npm run build -w server-bridge` first). */
export function loadSchemaModule() {
    const require = createRequire(path.join(BRIDGE, 'package.json'));
    const {z} = require('zod');
    const mod = require(path.join(BRIDGE, 'dist', 'config', 'schema.js'));
    const load = require(path.join(BRIDGE, 'dist', 'config', 'load.js'));
    return {z, configSchema: mod.configSchema, parseConfig: load.parseConfig};
}

/** The schema as JSON Schema of what the file may contain (input side: keys with defaults are optional). */
export function configJsonSchema({z, configSchema} = loadSchemaModule(), io = 'input') {
    // unrepresentable: refinements and the string shorthand of pitr.repo have no JSON Schema form;
    // they are stated in the descriptions instead.
    return z.toJSONSchema(configSchema, {io, unrepresentable: 'any'});
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function range(node) {
    let min = node.minimum;
    const max = node.maximum === MAX_SAFE ? undefined : node.maximum;
    if (node.exclusiveMinimum !== undefined) {
        if (node.type !== 'integer') {
            return max === undefined ? ` > ${node.exclusiveMinimum}` : ` > ${node.exclusiveMinimum}, ≤ ${max}`;
        }
        min = node.exclusiveMinimum + 1;
    }
    if (min !== undefined && max !== undefined) return ` ${min}–${max}`;
    if (min !== undefined) return ` ≥ ${min}`;
    if (max !== undefined) return ` ≤ ${max}`;
    return '';
}

/** A short type name for one JSON Schema node. */
export function typeName(node) {
    if (node.oneOf || node.anyOf) {
        return (node.oneOf ?? node.anyOf).map(typeName).join(' or ');
    }
    if (node.const !== undefined) return `\`${JSON.stringify(node.const)}\``;
    if (node.enum) return node.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' | ');
    switch (node.type) {
        case 'string':
            return node.format === 'uri' ? 'URL' : 'string';
        case 'integer':
            return `integer${range(node)}`;
        case 'number':
            return `number${range(node)}`;
        case 'boolean':
            return 'boolean';
        case 'array':
            return `array of ${node.items ? typeName(node.items) : 'any'}`;
        case 'object': {
            const t = node.properties?.type?.const;
            return t === undefined ? 'object' : `object (type \`${JSON.stringify(t)}\`)`;
        }
        default:
            return 'any';
    }
}

function defaultText(node) {
    if (node.default === undefined) return '';
    if (node.type === 'object' && JSON.stringify(node.default) === '{}') return '`{}` (all defaults)';
    return `\`${JSON.stringify(node.default)}\``;
}

/**
 * One row per key, depth first in the schema's order: {key, type, default, required, description,
 * jsonDefault}. A key is "required" when its section, once present, must contain it. The variants
 * of a oneOf (pitr.repo) contribute their keys once, marked with the variant they belong to.
 */
export function referenceRows(schema, outputSchema = schema) {
    const rows = [];
    const walk = (node, outNode, prefix, required) => {
        for (const [name, child] of Object.entries(node.properties ?? {})) {
            const key = prefix ? `${prefix}.${name}` : name;
            // A default behind a transform (pitr.repo's string shorthand) is only on the output side.
            const outChild = outNode?.properties?.[name];
            const withDefault =
                child.default === undefined && outChild?.default !== undefined
                    ? {...child, default: outChild.default}
                    : child;
            rows.push({
                key,
                type: typeName(child),
                default: defaultText(withDefault),
                jsonDefault: withDefault.default,
                required: (node.required ?? []).includes(name) && required !== false,
                description: child.description ?? '',
            });
            if (child.properties) walk(child, outChild, key, true);
            for (const variant of child.oneOf ?? child.anyOf ?? []) {
                const kind = variant.properties?.type?.const;
                for (const [vName, vChild] of Object.entries(variant.properties ?? {})) {
                    if (vName === 'type') continue;
                    rows.push({
                        key: `${key}.${vName}`,
                        type: typeName(vChild),
                        default: defaultText(vChild),
                        jsonDefault: vChild.default,
                        required: (variant.required ?? []).includes(vName),
                        description: `${kind === undefined ? '' : `(type \`${JSON.stringify(kind)}\`) `}${vChild.description ?? ''}`,
                    });
                }
            }
        }
    };
    walk(schema, outputSchema, '', true);
    return rows;
}

const cell = (text) => text.replace(/\|/g, '\\|').replace(/\n+/g, ' ');

const INTRO = `# Configuration reference

<!-- Generated by build/config_reference.mjs from server-bridge/src/config/ (schema.ts, pitr_schema.ts,
offsite_schema.ts). Do not edit by hand: change the schema's .describe() texts and run
\`node build/config_reference.mjs\`. build/test/config_reference.test.mjs fails when this file and the schema disagree. -->

\`mm-backup\` reads one JSON file (\`--config FILE\`, or \`MM_BACKUP_CONFIG\`), validated when it is loaded.
An error names the key and the problem (\`mattermost.installDir: must be an absolute path\`,
\`(top level): unknown key "typo"\`); unknown keys are refused everywhere. Everything about Mattermost
itself (its config, database, file store, plugins, version) is **discovered** from its install, not
configured twice.

A minimal file for a Mattermost install run by systemd:

\`\`\`json
{
  "mattermost": { "installDir": "/opt/mattermost", "url": "http://127.0.0.1:8065",
                  "envFile": "/opt/mattermost/config/mattermost.environment" },
  "service":    { "preset": "systemd", "unit": "mattermost" },
  "repository": { "path": "/var/opt/mattermost-backup" }
}
\`\`\`

How to read the table: **required** means the key must be present whenever its section is
(\`mattermost\`, \`service\` and \`repository\` are the required sections; \`offsite\` is optional, but
once it is there it needs \`offsite.s3.bucket\`). A key with a default may be left out. A key that is
neither required nor defaulted is unset when left out; its description says what that means.

Secrets (the database password in Mattermost's DSN, \`database.adminUrl\`, the bot token, the S3 keys,
the age identity, passphrases) are never put on a command line, in a log line, in an error message or
in a manifest: PostgreSQL tools get them through \`PGPASSWORD\` in their environment, MySQL tools
through a 0600 option file that is removed afterwards. Keys that name a file of a secret need that
file to be 0600; a config file that holds a secret itself must be 0600 too.

Deprecated keys (\`offsite.replicateAfterBackup\`, \`schedule.pruneAfterBackup\`) are still read when
the key that replaced them is absent; the CLI prints a \`config:\` notice, and the sidecar logs it and
shows it in \`GET /v1/status\` (\`sidecar.config_notices\`).

Point-in-time recovery (the \`pitr\` section) is explained in [pitr.md](pitr.md), off-site copies
(\`offsite\`) in [offsite_dr.md](offsite_dr.md), the sidecar's keys (\`listen\`, \`schedule\`, \`notify\`,
\`mattermost.statusChannel\`, \`mattermost.botToken*\`) in [sidecar_api.md](sidecar_api.md).

| key | type | default | required | description |
| --- | --- | --- | --- | --- |
`;

/** The whole page, as docs/configuration.md holds it. */
export function renderConfigReference(mod = loadSchemaModule()) {
    const lines = referenceRows(configJsonSchema(mod), configJsonSchema(mod, 'output')).map(
        (r) =>
            `| \`${r.key}\` | ${cell(r.type)} | ${cell(r.default)} | ${r.required ? 'required' : ''} | ${cell(r.description)} |`,
    );
    return `${INTRO}${lines.join('\n')}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
    const text = renderConfigReference();
    if (process.argv.includes('--check')) {
        const current = readFileSync(REFERENCE_FILE, 'utf8');
        if (current !== text) {
            console.error(
                `${path.relative(process.cwd(), REFERENCE_FILE)} is out of date: run node build/config_reference.mjs`,
            );
            process.exitCode = 1;
        }
    } else {
        writeFileSync(REFERENCE_FILE, text);
        console.log(`wrote ${path.relative(process.cwd(), REFERENCE_FILE)}`);
    }
}
