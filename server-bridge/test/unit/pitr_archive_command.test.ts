/**
 * archive_command is the one shell string: PostgreSQL expands %p/%f/%% and hands the result to
 * /bin/sh. These tests do both for real (PostgreSQL's expansion rule, then the real sh running a
 * real script at a hostile path) and compare the arguments the script received.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildArchiveCommand } from '../../src/database/pgbackrest/archive_command';
import { ConfigError } from '../../src/core/errors';

/** PostgreSQL's archive_command expansion (shell_archive.c): %p, %f, %% special; any other % kept. */
function expandLikePostgres(cmd: string, walPath: string): string {
  return cmd.replace(/%([pf%])/g, (_m, c: string) => (c === 'p' ? walPath : c === 'f' ? path.basename(walPath) : '%'));
}

let root: string;
beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'archive-cmd-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const HOSTILE = [
  "it's",
  'two  spaces',
  // eslint-disable-next-line no-template-curly-in-string -- a shell expansion, on purpose
  '$HOME and ${PATH}',
  '`touch CANARY`',
  '$(touch CANARY)',
  '"double" \\back\\slash',
  '100%p %f %% %',
  '; touch CANARY; #',
  '*?[a]~',
];

test.each(HOSTILE)('a path or stanza with %j reaches pgbackrest as exactly one argument each', (bad) => {
  const dir = path.join(root, `bin ${bad.replace(/\//g, '_')}`);
  mkdirSync(dir, { recursive: true });
  const script = path.join(dir, `pgbackrest ${bad.replace(/\//g, '_')}`);
  // Writes its arguments NUL-separated: exactly what a program would get in argv.
  writeFileSync(script, '#!/bin/sh\nfor a in "$@"; do printf \'%s\\0\' "$a"; done > "$ARGS_OUT"\n');
  chmodSync(script, 0o755);
  const configPath = path.join(root, `conf ${bad.replace(/\//g, '_')}`);
  const stanza = `st ${bad}`;
  const cmd = buildArchiveCommand({ pgbackrest: script, configPath, stanza });
  const wal = 'pg_wal/000000010000000000000001';
  const out = path.join(root, 'args.bin');
  execFileSync('/bin/sh', ['-c', expandLikePostgres(cmd, wal)], {
    cwd: root,
    env: { PATH: '/usr/bin:/bin', ARGS_OUT: out },
  });
  const args = readFileSync(out, 'utf8').split('\0').slice(0, -1);
  expect(args).toEqual([`--config-path=${configPath}`, `--stanza=${stanza}`, 'archive-push', wal]);
  expect(existsSync(path.join(root, 'CANARY'))).toBe(false);
});

test.each(['a\nb', 'a\rb', 'a\0b', 'a\tb', ''])('a control character (%j) or an empty value is refused', (bad) => {
  const ok = { pgbackrest: '/usr/bin/pgbackrest', configPath: '/etc/pgbackrest/mm-backup', stanza: 'mattermost' };
  expect(() => buildArchiveCommand({ ...ok, stanza: bad })).toThrow(ConfigError);
  const inPath = (dir: string) => (bad === '' ? '' : `${dir}${bad}`);
  expect(() => buildArchiveCommand({ ...ok, configPath: inPath('/etc/') })).toThrow(ConfigError);
  expect(() => buildArchiveCommand({ ...ok, pgbackrest: inPath('/usr/bin/') })).toThrow(ConfigError);
});

test('relative paths are refused: PostgreSQL runs the command from its data directory with its own PATH', () => {
  expect(() => buildArchiveCommand({ pgbackrest: 'pgbackrest', configPath: '/etc/x', stanza: 's' })).toThrow(
    ConfigError,
  );
  expect(() => buildArchiveCommand({ pgbackrest: '/usr/bin/pgbackrest', configPath: 'etc/x', stanza: 's' })).toThrow(
    ConfigError,
  );
});

test('the plain case reads as an admin would write it', () => {
  expect(
    buildArchiveCommand({
      pgbackrest: '/usr/bin/pgbackrest',
      configPath: '/etc/pgbackrest/mm-backup',
      stanza: 'mattermost',
    }),
  ).toBe("'/usr/bin/pgbackrest' '--config-path=/etc/pgbackrest/mm-backup' '--stanza=mattermost' 'archive-push' %p");
});
