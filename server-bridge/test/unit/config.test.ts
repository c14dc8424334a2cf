import { mkdtemp, writeFile, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, parseConfig } from '../../src/config/load';
import { ConfigError } from '../../src/core/errors';
import { caught } from '../support/caught';

const base = {
  mattermost: { installDir: '/opt/mattermost', url: 'http://127.0.0.1:8065' },
  service: { stop: ['systemctl', 'stop', 'mattermost'], start: ['systemctl', 'start', 'mattermost'] },
  repository: { path: '/var/opt/mattermost-backup' },
};

function issues(raw: unknown): string[] {
  try {
    parseConfig(raw, 'test.json');
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
}

test('the documented minimal config is valid and gets defaults', () => {
  const cfg = parseConfig(base, 'x');
  expect(cfg.backup.mode).toBe('offline');
  expect(cfg.retention.keepLast).toBe(7);
  expect(cfg.serviceCommands).toEqual({
    stop: ['systemctl', 'stop', 'mattermost'],
    start: ['systemctl', 'start', 'mattermost'],
  });
});

test('backup.budget: an online backup is lowered by default, reads are unlimited', () => {
  expect(parseConfig(base, 'x').backup.budget).toEqual({
    enabled: true,
    nice: 10,
    ioClass: 'best-effort',
    ioLevel: 7,
  });
  const set = { enabled: false, nice: 19, ioClass: 'idle', ioLevel: 0, readMBps: 2.5 } as const;
  expect(parseConfig({ ...base, backup: { budget: set } }, 'x').backup.budget).toEqual(set);
});

test('presets expand to argv arrays', () => {
  expect(
    parseConfig({ ...base, service: { preset: 'systemd', unit: 'mm.service' } }, 'x').serviceCommands.stop,
  ).toEqual(['systemctl', 'stop', 'mm.service']);
  expect(
    parseConfig({ ...base, service: { preset: 'docker-compose', composeFile: '/srv/mm/docker-compose.yml' } }, 'x')
      .serviceCommands.start,
  ).toEqual(['docker', 'compose', '-f', '/srv/mm/docker-compose.yml', 'start', 'mattermost']);
  expect(parseConfig({ ...base, service: { preset: 'none' } }, 'x').serviceCommands).toEqual({
    stop: null,
    start: null,
  });
});

test.each([
  [{ ...base, mattermost: { installDir: 'relative/dir' } }, 'mattermost.installDir: must be an absolute path'],
  [{ ...base, service: { stop: 'systemctl stop mattermost', start: ['x'] } }, 'service.stop:'],
  [{ ...base, service: { stop: [], start: ['x'] } }, 'service.stop: must be a non-empty argument array'],
  [{ ...base, service: {} }, 'service: needs "stop" and "start" argument arrays'],
  [{ ...base, repository: {} }, 'repository.path:'],
  [{ ...base, extra: 1 }, '(top level): unknown key "extra"'],
  [{ ...base, backup: { mode: 'sometimes' } }, 'backup.mode:'],
  [{ ...base, backup: { exclude: ['database', 'nonsense'] } }, 'backup.exclude.1:'],
  [{ ...base, retention: { keepLast: 0 } }, 'retention.keepLast: must be at least 1'],
  [{ ...base, mattermost: { ...base.mattermost, url: 'ftp://x' } }, 'mattermost.url: must be an http(s) URL'],
  [{ ...base, backup: { budget: { nice: 20 } } }, 'backup.budget.nice:'],
  [{ ...base, backup: { budget: { nice: -5 } } }, 'backup.budget.nice:'],
  [{ ...base, backup: { budget: { ioClass: 'realtime' } } }, 'backup.budget.ioClass:'],
  [{ ...base, backup: { budget: { ioLevel: 8 } } }, 'backup.budget.ioLevel:'],
  [{ ...base, backup: { budget: { readMBps: 0 } } }, 'backup.budget.readMBps:'],
  [{ ...base, backup: { budget: { niceness: 5 } } }, 'backup.budget: unknown key "niceness"'],
])('bad config %#: the error names the key and the problem', (raw, expected) => {
  expect(issues(raw).join('\n')).toContain(expected);
});

test('loadConfig: unreadable file, bad JSON, and a world-readable file holding a secret', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cfg-'));
  await expect(loadConfig(path.join(dir, 'missing.json'))).rejects.toThrow(/cannot read config file .*ENOENT/);
  await writeFile(path.join(dir, 'bad.json'), '{ nope');
  await expect(loadConfig(path.join(dir, 'bad.json'))).rejects.toThrow(/not valid JSON/);
  const secretFile = path.join(dir, 'secret.json');
  await writeFile(secretFile, JSON.stringify({ ...base, database: { adminUrl: 'postgres://a:supersecret@h/db' } }));
  await chmod(secretFile, 0o644);
  const err = await caught(loadConfig(secretFile));
  expect(err.message).toMatch(/readable by others/);
  expect(err.message).not.toContain('supersecret');
  await chmod(secretFile, 0o600);
  await expect(loadConfig(secretFile)).resolves.toBeDefined();
});

describe('the follow-ups of a backup are backup settings; the old keys are still read, with a notice', () => {
  const off = { s3: { bucket: 'mm-backups' } };
  test('defaults: both on, no notice', () => {
    const cfg = parseConfig(base, 'x');
    expect(cfg.backup).toMatchObject({ replicateAfter: true, pruneAfter: true });
    expect(cfg.notices).toEqual([]);
  });
  test('the new keys', () => {
    const cfg = parseConfig({ ...base, backup: { replicateAfter: false, pruneAfter: false } }, 'x');
    expect(cfg.backup).toMatchObject({ replicateAfter: false, pruneAfter: false });
    expect(cfg.notices).toEqual([]);
  });
  test('the deprecated keys alone are read as the new ones, and said once each', () => {
    const cfg = parseConfig(
      { ...base, schedule: { pruneAfterBackup: false }, offsite: { ...off, replicateAfterBackup: false } },
      'x',
    );
    expect(cfg.backup).toMatchObject({ replicateAfter: false, pruneAfter: false });
    expect(cfg.notices).toEqual([
      'offsite.replicateAfterBackup is deprecated: it is read as backup.replicateAfter (false); rename it in the config file',
      'schedule.pruneAfterBackup is deprecated: it is read as backup.pruneAfter (false); rename it in the config file',
    ]);
  });
  test('both set: the new key wins and the old one is named as ignored', () => {
    const cfg = parseConfig({ ...base, backup: { pruneAfter: true }, schedule: { pruneAfterBackup: false } }, 'x');
    expect(cfg.backup.pruneAfter).toBe(true);
    expect(cfg.notices).toEqual([
      'schedule.pruneAfterBackup is deprecated and ignored: backup.pruneAfter (true) is set; remove schedule.pruneAfterBackup from the config file',
    ]);
  });
});
