/**
 * pitr.postgresService's docker-compose preset: read from a real config file by the loader, turned
 * into argument arrays, and run as such (a `docker` on PATH that records its argv proves that a
 * compose file with a space reaches it as one argument, never through a shell).
 */
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, parseConfig } from '../../src/config/load';
import { ConfigError } from '../../src/core/errors';
import { postgresService, runServiceCommand } from '../../src/database/pgbackrest/postgres_service';
import { caught } from '../support/caught';

const base = {
  mattermost: { installDir: '/opt/mattermost', url: 'http://127.0.0.1:8065' },
  service: { preset: 'docker-compose', composeFile: '/srv/mm/docker-compose.yml' },
  repository: { path: '/var/opt/mattermost-backup' },
};
const cluster = { major: 15, dataDir: '/srv/mm/volumes/db/var/lib/postgresql/data' };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pg-compose-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

test('docker-compose: the loader accepts it from a file, and it gives stop, start and status as argv arrays', async () => {
  const file = path.join(dir, 'config.json');
  const composeFile = '/srv/my mattermost/docker-compose.yml';
  await writeFile(
    file,
    JSON.stringify({ ...base, pitr: { postgresService: { preset: 'docker-compose', composeFile } } }),
    { mode: 0o600 },
  );
  const cfg = await loadConfig(file);
  expect(cfg.pitr.postgresService).toMatchObject({ preset: 'docker-compose', composeFile, composeService: 'postgres' });
  const compose = ['docker', 'compose', '-f', composeFile];
  expect(postgresService(cfg.pitr.postgresService, cluster)).toEqual({
    stop: { argv: [...compose, 'stop', 'postgres'], asPostgres: false },
    start: { argv: [...compose, 'start', 'postgres'], asPostgres: false },
    status: {
      argv: [...compose, 'exec', '-T', '--user', 'postgres', 'postgres', 'pg_ctl', 'status'],
      asPostgres: false,
    },
  });
  const named = parseConfig(
    { ...base, pitr: { postgresService: { preset: 'docker-compose', composeFile, composeService: 'db' } } },
    'x',
  );
  expect(postgresService(named.pitr.postgresService, cluster).stop.argv).toEqual([...compose, 'stop', 'db']);
});

test.each([
  [{ preset: 'docker-compose' }, 'pitr.postgresService.composeFile: is required with preset docker-compose'],
  [
    { preset: 'docker-compose', composeFile: 'docker-compose.yml' },
    'pitr.postgresService.composeFile: must be an absolute path',
  ],
  [
    { preset: 'docker-compose', composeFile: '/srv/c.yml', composeService: 'db; rm -rf /' },
    'pitr.postgresService.composeService: must be a compose service name',
  ],
])('docker-compose refused: %j', (postgresServiceCfg, expected) => {
  const err = (() => {
    try {
      parseConfig({ ...base, pitr: { postgresService: postgresServiceCfg } }, 'x');
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as ConfigError).issues.join('\n')).toContain(expected);
});

test('docker-compose: the commands run as argument arrays (a docker on PATH records what it got)', async () => {
  const bin = path.join(dir, 'bin');
  const log = path.join(dir, 'argv.log');
  await mkdir(bin);
  // Each argument on a line of its own, so that a split or a joined argument shows.
  await writeFile(
    path.join(bin, 'docker'),
    `#!/bin/sh\nfor a; do printf '%s\\n' "$a"; done >> '${log}'\necho -- >> '${log}'\n[ "$4" != stop ] || exit 3\n`,
  );
  await chmod(path.join(bin, 'docker'), 0o755);
  const composeFile = "/srv/it's my $HOME/compose.yml";
  const cfg = parseConfig({ ...base, pitr: { postgresService: { preset: 'docker-compose', composeFile } } }, 'x');
  const svc = postgresService(cfg.pitr.postgresService, cluster);
  const account = { name: 'nobody', uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, home: dir };
  const oldPath = process.env.PATH;
  process.env.PATH = `${bin}:${oldPath ?? ''}`;
  try {
    await runServiceCommand(svc.start, account);
    await runServiceCommand(svc.status, account);
    // A failing command (stop exits 3 here) is an error naming docker, not a silent success.
    expect((await caught(runServiceCommand(svc.stop, account))).message).toMatch(/docker failed \(exit code 3\)/);
  } finally {
    process.env.PATH = oldPath;
  }
  const calls = (await readFile(log, 'utf8'))
    .split('--\n')
    .filter(Boolean)
    .map((c) => c.trimEnd().split('\n'));
  expect(calls).toEqual([
    ['compose', '-f', composeFile, 'start', 'postgres'],
    ['compose', '-f', composeFile, 'exec', '-T', '--user', 'postgres', 'postgres', 'pg_ctl', 'status'],
    ['compose', '-f', composeFile, 'stop', 'postgres'],
  ]);
});
