/** The pure parts of the pgBackRest layer: version support, `info` parsing of hostile output, the config text. */
import { ConfigError, PreconditionError, ProcessError } from '../../src/core/errors';
import { renderConfig } from '../../src/database/pgbackrest/config_file';
import { parseInfo } from '../../src/database/pgbackrest/info';
import { checkSupported, parsePgBackRestVersion } from '../../src/database/pgbackrest/version';

test('versions: what `pgbackrest version` prints, and nothing else', () => {
  expect(parsePgBackRestVersion('pgBackRest 2.45\n')).toEqual([2, 45, 0]);
  expect(parsePgBackRestVersion('pgBackRest 2.53.1')).toEqual([2, 53, 1]);
  expect(() => parsePgBackRestVersion('pgBackRest 2.45; rm -rf /')).toThrow(ProcessError);
  expect(() => parsePgBackRestVersion('')).toThrow(ProcessError);
});

test('support: 2.45 reads PostgreSQL 15, not 16 or 17; older releases and unknown majors are refused', () => {
  expect(() => checkSupported([2, 45, 0], 15)).not.toThrow();
  expect(() => checkSupported([2, 45, 0], 16)).toThrow(/2\.45 is too old for PostgreSQL 16: 2\.46 or newer/);
  expect(() => checkSupported([2, 46, 0], 16)).not.toThrow();
  expect(() => checkSupported([2, 53, 0], 17)).toThrow(/2\.53\.1 or newer/);
  expect(() => checkSupported([2, 53, 1], 17)).not.toThrow();
  expect(() => checkSupported([2, 44, 0], 15)).toThrow(/2\.44 is too old for PostgreSQL 15: 2\.45 or newer/);
  expect(() => checkSupported([2, 60, 0], 19)).toThrow(PreconditionError);
  expect(() => checkSupported([2, 45, 0], 10)).toThrow(/older than Mattermost supports/);
  try {
    checkSupported([2, 45, 0], 16);
  } catch (err) {
    expect((err as PreconditionError).code).toBe('VERSION_MISMATCH');
  }
});

const INFO = JSON.stringify([
  {
    name: 'mattermost',
    status: { code: 0, message: 'ok', lock: { backup: { held: false } } },
    cipher: 'none',
    db: [{ id: 1, version: '15', 'system-id': 7_300_000_000_000_000_000, 'repo-key': 1 }],
    archive: [{ id: '15-1', min: '000000010000000000000001', max: '000000010000000000000003', database: { id: 1 } }],
    backup: [],
    repo: [{ key: 1, cipher: 'none', status: { code: 0, message: 'ok' } }],
  },
]);

test('info: the fields we read, unknown ones ignored; anything else is a ProcessError', () => {
  const [s] = parseInfo(INFO);
  expect(s?.name).toBe('mattermost');
  expect(s?.archive[0]?.max).toBe('000000010000000000000003');
  expect(() => parseInfo('not json')).toThrow(ProcessError);
  expect(() => parseInfo('{"name":"x"}')).toThrow(ProcessError);
  expect(() => parseInfo(JSON.stringify([{ name: 1, status: { code: 0, message: 'ok' } }]))).toThrow(/name/);
});

test('info: a backup time a Date cannot hold (a backup.info someone else wrote) is refused here, naming the field', () => {
  const withStop = (stop: number) => {
    const [s] = JSON.parse(INFO) as Array<Record<string, unknown>>;
    const backup = { label: '20261201-000000F', type: 'full', timestamp: { start: 1_764_547_200, stop } };
    return JSON.stringify([{ ...s, backup: [backup] }]);
  };
  expect(parseInfo(withStop(1_764_547_260))[0]?.backup[0]?.timestamp.stop).toBe(1_764_547_260);
  for (const stop of [1e13, -1, 2 ** 63, 253_402_300_800]) {
    expect(() => parseInfo(withStop(stop))).toThrow(/unexpected shape \(0\.backup\.0\.timestamp\.stop: /);
  }
});

test('info: a backup label other than pgBackRest prints (escape sequences, paths, options) is refused here', () => {
  const withLabel = (label: string, prior?: string) => {
    const [s] = JSON.parse(INFO) as Array<Record<string, unknown>>;
    const backup = { label, prior, type: 'incr', timestamp: { start: 1_764_547_200, stop: 1_764_547_260 } };
    return JSON.stringify([{ ...s, backup: [backup] }]);
  };
  const ok = '20261201-000000F_20261201-010000I';
  expect(parseInfo(withLabel(ok, '20261201-000000F'))[0]?.backup[0]?.label).toBe(ok);
  for (const label of [
    '20261201-000000F\u001b[2K\u001b[1A',
    '../../etc',
    '--type=immediate',
    '20261201-000000F\n',
    '',
  ]) {
    expect(() => parseInfo(withLabel(label))).toThrow(/unexpected shape \(0\.backup\.0\.label: /);
  }
  expect(() => parseInfo(withLabel(ok, '\u001b]0;x\u0007'))).toThrow(/0\.backup\.0\.prior: /);
});

const SPEC = {
  stanza: 'mattermost',
  pg: { dataDir: '/var/lib/postgresql/15/main', port: 5432, socketPath: '/var/run/postgresql' },
  repo: { type: 'posix' as const, path: '/var/backups/mm/pgbackrest' },
  processMax: 2,
  archivePushQueueMaxBytes: 4 * 1024 ** 3,
};

test('config: the stanza section, zst, the queue bound; the cipher only when configured', () => {
  const text = renderConfig(SPEC);
  expect(text).toContain(
    '[mattermost]\npg1-path=/var/lib/postgresql/15/main\npg1-port=5432\npg1-socket-path=/var/run/postgresql',
  );
  expect(text).toContain('repo1-path=/var/backups/mm/pgbackrest');
  expect(text).toContain('compress-type=zst');
  expect(text).toContain(`archive-push-queue-max=${4 * 1024 ** 3}`);
  expect(text).not.toContain('cipher');
  expect(renderConfig({ ...SPEC, cipherPass: 'correct horse battery staple' })).toContain(
    'repo1-cipher-type=aes-256-cbc\nrepo1-cipher-pass=correct horse battery staple',
  );
});

test('config: a value INI cannot hold is refused, never written', () => {
  expect(() => renderConfig({ ...SPEC, repo: { type: 'posix', path: '/x\n[other]\nrepo1-path=/tmp' } })).toThrow(
    ConfigError,
  );
  expect(() => renderConfig({ ...SPEC, cipherPass: ' leading space' })).toThrow(ConfigError);
  expect(() => renderConfig({ ...SPEC, stanza: 'a]b' })).toThrow(ConfigError);
});
