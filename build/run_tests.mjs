#!/usr/bin/env node
// Runs every test suite of the project one after the other (two of them build webapp/dist, and
// the databases they start compete for the same two cores), then prints one line totalled over
// all suites: "N passed, N failed, N skipped". Exit status is non-zero when anything failed or
// when a test was skipped that build/skip_allowlist.json does not name (with its reason): a
// skipped test proves nothing, so a skip must be a decision, never an accident of the machine.
import {spawnSync} from 'node:child_process';
import {mkdtempSync, readFileSync, existsSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {jestCounts, parseAllowList, tapCounts, verdict} from './test_counts.mjs';

const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'mm-backup-tests-'));
const allowFile = path.join(root, 'build', 'skip_allowlist.json');
const allowed = parseAllowList(readFileSync(allowFile, 'utf8'), path.relative(root, allowFile));
let passed = 0;
let failed = 0;
let skipped = 0;
const skippedNames = [];
const lines = [];

function add(label, c) {
    passed += c.passed;
    failed += c.failed;
    skipped += c.skipped;
    skippedNames.push(...c.skippedNames);
    lines.push(`${label}: ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`);
}

function run(label, cmd, args, opts = {}) {
    process.stdout.write(`\n=== ${label}: ${[cmd, ...args].join(' ')}\n`);
    const res = spawnSync(cmd, args, {cwd: root, stdio: 'inherit', ...opts});
    return res.status ?? 1;
}

function jestSuite(label, workspace) {
    const out = path.join(tmp, `${workspace}.json`);
    const status = run(label, 'npx', ['jest', '--ci', '--json', `--outputFile=${out}`], {
        cwd: path.join(root, workspace),
    });
    if (!existsSync(out)) {
        failed += 1;
        lines.push(`${label}: did not report (exit ${status})`);
        return;
    }
    add(label, jestCounts(JSON.parse(readFileSync(out, 'utf8'))));
}

function step(label, cmd, args) {
    const status = run(label, cmd, args);
    if (status === 0) passed += 1;
    else failed += 1;
    lines.push(`${label}: ${status === 0 ? 'ok' : `FAILED (exit ${status})`}`);
}

function nodeTestSuite(label, dir) {
    const res = spawnSync(process.execPath, ['--test', '--test-reporter=tap', dir], {cwd: root, encoding: 'utf8'});
    process.stdout.write(`\n=== ${label}: node --test ${dir}\n${res.stdout}${res.stderr}`);
    add(label, tapCounts(res.stdout, res.status ?? 1));
}

step('build server-bridge', 'npm', ['run', 'build', '-w', 'server-bridge']);
step('build test kit and tools', 'npm', ['run', 'build:tools']);
step('typecheck', 'npm', ['run', 'typecheck']);
// Import cycles and imports against the rooms' direction fail the run (docs/architecture.md).
step('dependency direction', process.execPath, ['build/check_dependencies.mjs']);
// Lint (typescript-eslint strict-type-checked, React rules; eslint.config.mjs) and formatting
// (Prettier, .prettierrc.json): an error or an unformatted file fails the run like a failed test.
step('lint', 'npm', ['run', 'lint']);
step('format', 'npx', ['prettier', '--check', '.']);
jestSuite('server-bridge (jest)', 'server-bridge');
jestSuite('test kit (jest)', 'testkit');
jestSuite('webapp (jest)', 'webapp');
nodeTestSuite('build scripts (node --test)', 'build/test/');
// The benchmark's own logic (targets, the many-files tree, ping latency), from the tools build above.
nodeTestSuite('benchmark (node --test)', 'tools/dist/bench/');

const v = verdict({passed, failed, skipped, skippedNames}, allowed);
for (const name of v.unexplained) lines.push(`SKIPPED and not on build/skip_allowlist.json: ${name}`);
if (v.unnamed) {
    lines.push(`${v.unnamed} skipped tests could not be named, so not checked against build/skip_allowlist.json`);
}
for (const name of allowed.keys()) {
    if (!skippedNames.includes(name)) lines.push(`note: build/skip_allowlist.json names "${name}", which ran`);
}
process.stdout.write(`\n${lines.join('\n')}\n${v.line}\n`);
process.exitCode = v.exitCode;
