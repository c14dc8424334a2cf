/**
 * The installed command's launcher line (`#!/usr/bin/env -S node --max-semi-space-size=2`): the
 * bench runs the CLI with the same flags, and they do bound V8's young generation.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { launcherFlags } from './world';

const CLI = path.join(
  path.dirname(require.resolve('mattermost-backup-server-bridge/package.json')),
  'bin',
  'mm-backup.js',
);
const VERSION = (
  JSON.parse(readFileSync(path.join(path.dirname(CLI), '..', 'package.json'), 'utf8')) as { version: string }
).version;

// Allocates short-lived objects at a backup's pace, then prints the young generation's size in KB.
const CHURN =
  "let a=[];for(let i=0;i<3e6;i++){a.push({i,s:'x'+i});if(a.length>1e5)a=[]}" +
  "process.stdout.write(String(require('v8').getHeapSpaceStatistics().find(s=>s.space_name==='new_space').space_size>>10))";

void describe('the mm-backup launcher', () => {
  void it('names the semi-space flag, which the bench passes on', () => {
    assert.deepEqual(launcherFlags(CLI), ['--max-semi-space-size=2']);
  });

  void it('runs as an executable through its #! line', () => {
    assert.equal(execFileSync(CLI, ['--version'], { encoding: 'utf8' }).trim(), VERSION);
  });

  void it('keeps the young generation at 2 MB a semi-space, where Node would let it reach 16', () => {
    const bounded = Number(execFileSync(process.execPath, [...launcherFlags(CLI), '-e', CHURN], { encoding: 'utf8' }));
    const unbounded = Number(execFileSync(process.execPath, ['-e', CHURN], { encoding: 'utf8' }));
    assert.ok(bounded <= 4096, `new space ${bounded} KB`);
    assert.ok(unbounded > 2 * bounded, `without the flag: ${unbounded} KB against ${bounded} KB`);
  });

  void it('refuses a line that is not an env node launcher', () => {
    assert.throws(() => launcherFlags(__filename), /not a #!\/usr\/bin\/env -S node launcher/);
  });
});
