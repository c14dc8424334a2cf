import { parseDsn, formatDsn } from '../../src/database/dsn';
import { redact, registerSecret } from '../../src/core/redact';
import { parseEnvFile } from '../../src/discovery/env_file';
import { applyEnvOverrides } from '../../src/discovery/mm_config';

test('parses Mattermost PostgreSQL URLs', () => {
  expect(
    parseDsn('postgres://mm%40user:p%40ss@db.local:5433/mattermost?sslmode=disable&connect_timeout=10'),
  ).toMatchObject({
    driver: 'postgres',
    host: 'db.local',
    port: 5433,
    user: 'mm@user',
    password: 'p@ss',
    database: 'mattermost',
    params: { sslmode: 'disable', connect_timeout: '10' },
  });
});

test('parses the legacy MySQL DSN, with and without mysql://, tcp and unix', () => {
  expect(
    parseDsn('mmuser:s3cr:et@tcp(10.0.0.5:3307)/mattermost?charset=utf8mb4,utf8&writeTimeout=30s', 'mysql'),
  ).toMatchObject({
    driver: 'mysql',
    host: '10.0.0.5',
    port: 3307,
    user: 'mmuser',
    password: 's3cr:et',
    database: 'mattermost',
  });
  expect(parseDsn('mysql://u:p@unix(/run/mysqld.sock)/mm')).toMatchObject({
    socket: '/run/mysqld.sock',
    database: 'mm',
  });
  expect(parseDsn('mysql://root:pw@127.0.0.1:3310/mm_new')).toMatchObject({
    host: '127.0.0.1',
    port: 3310,
    user: 'root',
    password: 'pw',
    database: 'mm_new',
  });
});

test('bad DSNs are config errors that do not echo the password', () => {
  expect(() => parseDsn('postgres://u:pw@host:5432/', 'postgres')).toThrow(/names no database/);
  expect(() => parseDsn('garbage', 'mysql')).toThrow(/MySQL DataSource/);
});

test('formatDsn round-trips', () => {
  const t = parseDsn('postgres://u:p%2Fw@h:5432/db?sslmode=disable');
  expect(parseDsn(formatDsn(t))).toEqual(t);
});

test('redact hides URL passwords, MySQL DSN passwords, key=value secrets and registered secrets', () => {
  registerSecret('registered-secret-value');
  const s = redact('postgres://u:pw1@h/db mmuser:pw2@tcp(h:3306)/mm password=pw3 token: registered-secret-value');
  expect(s).not.toMatch(/pw1|pw2|pw3|registered-secret-value/);
});

test('env files: comments, quotes, export', () => {
  expect(parseEnvFile('# c\nexport MM_A="x y"\nMM_B=\'z\'\n\nbad line\nMM_C=1=2\n')).toEqual({
    MM_A: 'x y',
    MM_B: 'z',
    MM_C: '1=2',
  });
});

test('MM_* overrides apply case-insensitively, to known fields missing from config.json too', () => {
  const cfg: Record<string, Record<string, unknown>> = {
    SqlSettings: { DriverName: 'postgres', DataSource: 'old' },
    FileSettings: { MaxFileSize: 5 },
  };
  const o = applyEnvOverrides(cfg, {
    MM_SQLSETTINGS_DATASOURCE: 'new',
    MM_FILESETTINGS_DIRECTORY: '/srv/data',
    MM_FILESETTINGS_MAXFILESIZE: '7',
    OTHER: 'x',
    MM_NOPE_X: 'y',
  });
  expect(cfg.SqlSettings?.DataSource).toBe('new');
  expect(cfg.FileSettings).toEqual({ MaxFileSize: 7, Directory: '/srv/data' });
  expect(o.sort()).toEqual(['FileSettings.Directory', 'FileSettings.MaxFileSize', 'SqlSettings.DataSource']);
});
