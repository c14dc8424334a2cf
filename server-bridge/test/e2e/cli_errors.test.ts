/** Bad config and bad arguments produce clear errors and the documented exit codes. */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../support/cli';

let dir: string;
let good: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cli-errors-'));
  await mkdir(path.join(dir, 'mm', 'config'), { recursive: true });
  await writeFile(
    path.join(dir, 'mm', 'config', 'config.json'),
    JSON.stringify({ SqlSettings: { DriverName: 'postgres', DataSource: 'postgres://u:topsecretpw@127.0.0.1:1/mm' } }),
  );
  good = path.join(dir, 'good.json');
  await writeFile(
    good,
    JSON.stringify({
      mattermost: { installDir: path.join(dir, 'mm') },
      service: { preset: 'none' },
      repository: { path: path.join(dir, 'repo') },
    }),
    { mode: 0o600 },
  );
});

const cfg = async (name: string, content: string) => {
  const f = path.join(dir, name);
  await writeFile(f, content, { mode: 0o600 });
  return f;
};

test.each([
  [['list'], 2, /no config file: pass --config FILE/],
  [['--config', '/nonexistent/x.json', 'list'], 2, /cannot read config file \/nonexistent\/x.json: ENOENT/],
  [['nonsense-command'], 2, /unknown command 'nonsense-command'/],
  [['backup', '--frobnicate'], 2, /unknown option '--frobnicate'/],
  [['backup', '--mode', 'sometimes'], 2, /Allowed choices are offline, online/],
  [['restore'], 2, /restore needs a snapshot id \(or "latest"\), or --at <time>/],
  [['restore', 'latest', '--at', 'latest'], 2, /--at restores to a time, not a snapshot: leave out "latest"/],
  [['restore', '--at', 'latest', '--components', 'config'], 2, /--components cannot be combined with --at/],
])('%j exits %i', async (args, code, message) => {
  const r = await runCli(args);
  expect(r.code).toBe(code);
  expect(r.stderr).toMatch(message);
});

test('a config with a wrong key names the key and the problem (exit 2)', async () => {
  const f = await cfg(
    'bad-key.json',
    JSON.stringify({
      mattermost: { installDir: 'relative' },
      service: { stop: 'systemctl stop mattermost' },
      repository: { path: '/x' },
      typo: true,
    }),
  );
  const r = await runCli(['--config', f, 'list']);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('mattermost.installDir: must be an absolute path');
  expect(r.stderr).toContain('(top level): unknown key "typo"');
  expect(r.stderr).toMatch(/service\.stop: /);
});

test('a config that is not JSON (exit 2)', async () => {
  const r = await runCli(['--config', await cfg('not-json.json', '{ "mattermost": '), 'list']);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/is not valid JSON/);
});

test('snapshot ids are validated: path tricks are usage errors, unknown ids are not found (exit 3)', async () => {
  const tricks = await runCli(['--config', good, 'show', '../../etc/passwd']);
  expect(tricks.code).toBe(2);
  expect(tricks.stderr).toMatch(/is not a snapshot id/);
  const missing = await runCli(['--config', good, 'show', '20260101T000000Z-abcdef']);
  expect(missing.code).toBe(3);
  expect(missing.stderr).toMatch(/snapshot 20260101T000000Z-abcdef does not exist/);
  const none = await runCli(['--config', good, 'verify', 'latest']);
  expect(none.code).toBe(3);
  expect(none.stderr).toMatch(/has no snapshots yet/);
});

test('bad component names and a non-interactive restore without --yes are usage errors', async () => {
  const bad = await runCli(['--config', good, 'backup', '--exclude', 'database,bogus']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/unknown component bogus/);
  const rel = await runCli(['--config', good, 'restore', 'latest', '--install-dir', 'relative/dir']);
  expect(rel.code).toBe(2);
});

test('an offline backup without service commands is a precondition failure (exit 3); the DSN password never shows', async () => {
  const r = await runCli(['--config', good, '--json', 'backup']);
  expect(r.code).toBe(3);
  expect(r.summary).toMatchObject({ ok: false, error: { code: 'PRECONDITION_FAILED' }, exit_code: 3 });
  const d = await runCli(['--config', good, 'discover']);
  expect(`${d.stdout}${d.stderr}`).not.toContain('topsecretpw');
});
