#!/usr/bin/env node
// Runs every test suite of the project one after the other (two of them build webapp/dist, and
// the databases they start compete for the same two cores), then prints one line totalled over
// all suites: "N passed, N failed". Exit status is non-zero when anything failed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'mm-backup-tests-'));
let passed = 0;
let failed = 0;
const lines = [];

function run(label, cmd, args, opts = {}) {
  process.stdout.write(`\n=== ${label}: ${[cmd, ...args].join(' ')}\n`);
  const res = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  return res.status ?? 1;
}

function jestSuite(label, workspace) {
  const out = path.join(tmp, `${workspace}.json`);
  const status = run(label, 'npx', ['jest', '--ci', '--json', `--outputFile=${out}`], { cwd: path.join(root, workspace) });
  if (!existsSync(out)) {
    failed += 1;
    lines.push(`${label}: did not report (exit ${status})`);
    return;
  }
  const r = JSON.parse(readFileSync(out, 'utf8'));
  // A suite that fails to load has no test results; count it as one failure so it is not lost.
  const broken = r.numRuntimeErrorTestSuites ?? 0;
  passed += r.numPassedTests;
  failed += r.numFailedTests + broken;
  lines.push(`${label}: ${r.numPassedTests} passed, ${r.numFailedTests + broken} failed`);
}

function step(label, cmd, args) {
  const status = run(label, cmd, args);
  if (status === 0) passed += 1;
  else failed += 1;
  lines.push(`${label}: ${status === 0 ? 'ok' : `FAILED (exit ${status})`}`);
}

function nodeTestSuite(label, dir) {
  const res = spawnSync(process.execPath, ['--test', '--test-reporter=tap', dir], { cwd: root, encoding: 'utf8' });
  process.stdout.write(`\n=== ${label}: node --test ${dir}\n${res.stdout}${res.stderr}`);
  const pass = Number(/^# pass (\d+)/m.exec(res.stdout)?.[1] ?? 0);
  const fail = Number(/^# fail (\d+)/m.exec(res.stdout)?.[1] ?? 0) + (res.status !== 0 && !/^# fail [1-9]/m.test(res.stdout) ? 1 : 0);
  passed += pass;
  failed += fail;
  lines.push(`${label}: ${pass} passed, ${fail} failed`);
}

step('build server-bridge', 'npm', ['run', 'build', '-w', 'server-bridge']);
step('typecheck', 'npm', ['run', 'typecheck']);
jestSuite('server-bridge (jest)', 'server-bridge');
jestSuite('webapp (jest)', 'webapp');
nodeTestSuite('build scripts (node --test)', 'build/test/');

process.stdout.write(`\n${lines.join('\n')}\n${passed} passed, ${failed} failed\n`);
process.exitCode = failed ? 1 : 0;
