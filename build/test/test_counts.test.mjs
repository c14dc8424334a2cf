import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, describe, it} from 'node:test';
import {fileURLToPath} from 'node:url';

import {jestCounts, parseAllowList, tapCounts, unexplainedSkips, verdict} from '../test_counts.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dirs = [];
function tempDir() {
    const d = mkdtempSync(path.join(os.tmpdir(), 'test-counts-'));
    dirs.push(d);
    return d;
}
after(() => dirs.forEach((d) => rmSync(d, {recursive: true, force: true})));

// Real runs of the real runners: the parsers are checked against what jest and node --test print.
// NODE_TEST_CONTEXT (set for us by node --test) would make the child report to us, not in TAP.
const {NODE_TEST_CONTEXT: _ignored, ...childEnv} = process.env;

function realTap(source) {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'sample.test.mjs'), source);
    const res = spawnSync(process.execPath, ['--test', '--test-reporter=tap', dir], {encoding: 'utf8', env: childEnv});
    return {tap: res.stdout, status: res.status};
}

function realJest(source) {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'sample.test.js'), source);
    writeFileSync(path.join(dir, 'jest.config.json'), '{"testEnvironment": "node"}');
    const out = path.join(dir, 'report.json');
    spawnSync(
        process.execPath,
        [
            path.join(root, 'node_modules', 'jest', 'bin', 'jest.js'),
            '--ci',
            '--json',
            `--outputFile=${out}`,
            '--rootDir',
            dir,
        ],
        {cwd: dir, encoding: 'utf8', env: childEnv},
    );
    return JSON.parse(readFileSync(out, 'utf8'));
}

describe('node --test counting', () => {
    it('counts passes, skips and todos, naming them with their suites', () => {
        const {tap, status} = realTap(`
import {describe, it, test} from 'node:test';
describe('group', () => { it('inner skipped', {skip: 'no tool'}, () => {}); it('inner ok', () => {}); });
test('top # with a hash', {skip: true}, () => {});
test('later', {todo: true}, () => {});
test('passes', () => {});
`);
        assert.deepEqual(tapCounts(tap, status), {
            passed: 2,
            failed: 0,
            skipped: 3,
            skippedNames: ['group inner skipped', 'top # with a hash', 'later'],
        });
    });

    it('counts a failure, and a crash without a summary as one', () => {
        const {tap, status} = realTap(
            `import {test} from 'node:test'; test('fails', () => { throw new Error('no'); });`,
        );
        assert.equal(tapCounts(tap, status).failed, 1);
        assert.equal(tapCounts('', 1).failed, 1);
        assert.equal(tapCounts('TAP version 13\n', 0).failed, 1);
    });
});

describe('jest --json counting', () => {
    it('counts skipped (test.skip, describe.skip) and todo tests by full name', () => {
        const r = jestCounts(
            realJest(`
describe('suite', () => { test.skip('skipped one', () => {}); test('passes', () => {}); });
describe.skip('off', () => { test('inside', () => {}); });
test.todo('write me');
test('fails', () => { expect(1).toBe(2); });
`),
        );
        assert.deepEqual(
            {...r, skippedNames: [...r.skippedNames].sort()},
            {passed: 1, failed: 1, skipped: 3, skippedNames: ['off inside', 'suite skipped one', 'write me']},
        );
    });

    it('counts a failing afterAll hook and a file that does not load as failures', () => {
        assert.equal(
            jestCounts(
                realJest(`afterAll(() => { throw new Error('stand-in saw violations'); }); test('passes', () => {});`),
            ).failed,
            1,
        );
        assert.equal(jestCounts(realJest(`require('./missing-module'); test('x', () => {});`)).failed, 1);
    });
});

describe('allow-list and verdict', () => {
    it('parses entries that name a test and say why; refuses anything else', () => {
        const allowed = parseAllowList(JSON.stringify({allowed: [{test: 'a b', why: 'needs a GPU'}]}));
        assert.equal(allowed.get('a b'), 'needs a GPU');
        assert.throws(() => parseAllowList(JSON.stringify({allowed: [{test: 'a b'}]})), /must say why/);
        assert.throws(() => parseAllowList(JSON.stringify({allowed: [{why: 'x'}]})), /must name a test/);
        assert.throws(() => parseAllowList('{"allowed": {}}'), /must be an array/);
        assert.throws(() => parseAllowList('not json'), /not valid JSON/);
    });

    it('the project allow-list parses and is empty', () => {
        const allowed = parseAllowList(readFileSync(path.join(root, 'build', 'skip_allowlist.json'), 'utf8'));
        assert.equal(allowed.size, 0);
    });

    it('a skip not on the list fails the run; an allowed one does not; the closing line counts skips', () => {
        const allowed = new Map([['explained', 'why']]);
        const ok = verdict({passed: 5, failed: 0, skipped: 1, skippedNames: ['explained']}, allowed);
        assert.deepEqual(ok, {line: '5 passed, 0 failed, 1 skipped', unexplained: [], unnamed: 0, exitCode: 0});
        const bad = verdict({passed: 5, failed: 0, skipped: 2, skippedNames: ['explained', 'chattr test']}, allowed);
        assert.equal(bad.line, '5 passed, 0 failed, 2 skipped');
        assert.deepEqual(bad.unexplained, ['chattr test']);
        assert.equal(bad.exitCode, 1);
        assert.equal(verdict({passed: 1, failed: 0, skipped: 1, skippedNames: []}, allowed).exitCode, 1);
        assert.equal(verdict({passed: 1, failed: 1, skipped: 0, skippedNames: []}, allowed).exitCode, 1);
        assert.deepEqual(unexplainedSkips(['x', 'explained', 'x'], allowed), ['x', 'x']);
    });
});
