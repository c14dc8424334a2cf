/**
 * restore_command, archive_command's twin for a restored cluster: PostgreSQL expands %f/%p/%%
 * and runs it through /bin/sh (done here for real, with a script at a hostile path), and it is
 * written into postgresql.auto.conf quoted for PostgreSQL's parser (confQuote).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../src/core/errors';
import { buildRestoreCommand, confQuote } from '../../src/database/pgbackrest/archive_command';

/** PostgreSQL's restore_command expansion: %f, %p, %r, %% special. */
function expandLikePostgres(cmd: string, file: string, target: string): string {
  return cmd.replace(/%([fpr%])/g, (_m, c: string) => (c === 'f' ? file : c === 'p' ? target : c === 'r' ? '' : '%'));
}

let root: string;
beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'restore-cmd-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

test.each(["etc pgbackrest $HOME 100% it's", '`touch CANARY`', '$(touch CANARY)', '"q" \\b\\', '; touch CANARY; #'])(
  'a config path %j reaches pgbackrest archive-get as one argument',
  (bad) => {
    const script = path.join(root, `pgbackrest ${bad.replace(/\//g, '_')}`);
    writeFileSync(script, '#!/bin/sh\nfor a in "$@"; do printf \'%s\\0\' "$a"; done > "$ARGS_OUT"\n');
    chmodSync(script, 0o755);
    const configPath = path.join(root, bad.replace(/\//g, '_'));
    mkdirSync(configPath, { recursive: true });
    const cmd = buildRestoreCommand({ pgbackrest: script, configPath, stanza: 'mm' });
    const out = path.join(root, 'args.bin');
    execFileSync('/bin/sh', ['-c', expandLikePostgres(cmd, '000000010000000000000002', 'pg_wal/RECOVERYXLOG')], {
      cwd: root,
      env: { PATH: '/usr/bin:/bin', ARGS_OUT: out },
    });
    expect(readFileSync(out, 'utf8').split('\0').slice(0, -1)).toEqual([
      `--config-path=${configPath}`,
      '--stanza=mm',
      'archive-get',
      '000000010000000000000002',
      'pg_wal/RECOVERYXLOG',
    ]);
    expect(existsSync(path.join(root, 'CANARY'))).toBe(false);
  },
);

test('relative paths and control characters are refused', () => {
  expect(() => buildRestoreCommand({ pgbackrest: 'pgbackrest', configPath: '/etc/x', stanza: 's' })).toThrow(
    ConfigError,
  );
  expect(() => buildRestoreCommand({ pgbackrest: '/usr/bin/pgbackrest', configPath: '/etc/\nx', stanza: 's' })).toThrow(
    ConfigError,
  );
});

test("confQuote doubles quotes and escapes backslashes (PostgreSQL's configuration file rules)", () => {
  expect(confQuote("'a b' %p")).toBe("'''a b'' %p'");
  expect(confQuote('c:\\x')).toBe("'c:\\\\x'");
});

test("the restore drill's copy names its own data directory (--pg1-path) as one argument, a hostile one too", () => {
  const script = path.join(root, 'pgbackrest-drill');
  writeFileSync(script, '#!/bin/sh\nfor a in "$@"; do printf \'%s\\0\' "$a"; done > "$ARGS_OUT"\n');
  chmodSync(script, 0o755);
  const pgPath = path.join(root, "drill $(touch CANARY) 100% it's");
  const cmd = buildRestoreCommand({ pgbackrest: script, configPath: '/etc/x', stanza: 'mm' }, pgPath);
  const out = path.join(root, 'args-drill.bin');
  execFileSync('/bin/sh', ['-c', expandLikePostgres(cmd, '000000010000000000000002', 'pg_wal/RECOVERYXLOG')], {
    cwd: root,
    env: { PATH: '/usr/bin:/bin', ARGS_OUT: out },
  });
  expect(readFileSync(out, 'utf8').split('\0').slice(0, -1)).toEqual([
    '--config-path=/etc/x',
    '--stanza=mm',
    `--pg1-path=${pgPath}`,
    '--archive-async=n',
    'archive-get',
    '000000010000000000000002',
    'pg_wal/RECOVERYXLOG',
  ]);
  expect(existsSync(path.join(root, 'CANARY'))).toBe(false);
  expect(() => buildRestoreCommand({ pgbackrest: script, configPath: '/etc/x', stanza: 'mm' }, '/tmp/a\nb')).toThrow(
    ConfigError,
  );
});
