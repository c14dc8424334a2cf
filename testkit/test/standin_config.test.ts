import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadStandinSettings, makeTempDir, parseDataSource, parseEnvFile, removeTempDir } from '../src';
import { goMapJson, matchRoute } from '../src/standin/http_api';

test('parses both DataSource forms', () => {
  expect(
    parseDataSource(
      'postgres',
      'postgres://mm%40user:p%2Fw@db.local:6432/mattermost?sslmode=disable&connect_timeout=10',
    ),
  ).toMatchObject({ host: 'db.local', port: 6432, user: 'mm@user', password: 'p/w', database: 'mattermost' });
  expect(
    parseDataSource('mysql', 'mmuser:p@ss:w@tcp(10.0.0.5:3307)/mm?charset=utf8mb4,utf8&writeTimeout=30s'),
  ).toMatchObject({ host: '10.0.0.5', port: 3307, user: 'mmuser', password: 'p@ss:w', database: 'mm' });
  expect(parseDataSource('mysql', 'mysql://u:p@unix(/run/mysqld/mysqld.sock)/mm')).toMatchObject({
    socketPath: '/run/mysqld/mysqld.sock',
    database: 'mm',
  });
  expect(() => parseDataSource('mysql', 'garbage')).toThrow(/tcp\(host:3306\)/);
});

test('env file syntax: comments, quotes, export', () => {
  expect(parseEnvFile('# c\n; c2\nA=1\nexport B="two words"\nC=\'x=y\'\n\nbad line\n')).toEqual({
    A: '1',
    B: 'two words',
    C: 'x=y',
  });
});

test('config.json plus MM_* overrides from the env file; MM_CONFIG naming another file', async () => {
  const dir = await makeTempDir('mmtk-cfg');
  try {
    await mkdir(join(dir, 'config'));
    await mkdir(join(dir, 'bin'));
    await writeFile(join(dir, 'bin', 'mattermost'), '#!/bin/sh\n# mattermost-version: 9.11.2\n');
    const cfg = {
      ServiceSettings: { ListenAddress: ':8065', SiteURL: '', EnableCommands: false },
      SqlSettings: { DriverName: 'postgres', DataSource: 'postgres://wrong:wrong@nowhere:1/x' },
      FileSettings: { DriverName: 'local', Directory: './files/' },
    };
    await writeFile(join(dir, 'config', 'config.json'), JSON.stringify(cfg));
    await writeFile(
      join(dir, 'config', 'mattermost.environment'),
      [
        '# overrides',
        'MM_SQLSETTINGS_DATASOURCE=postgres://mmuser:pw@127.0.0.1:5499/mattermost?sslmode=disable',
        'MM_SERVICESETTINGS_ENABLECOMMANDS=true',
        'MM_FILESETTINGS_DIRECTORY=/srv/mmdata/',
      ].join('\n'),
    );
    const s = await loadStandinSettings(dir, { env: {} });
    expect(s.db).toMatchObject({ host: '127.0.0.1', port: 5499, user: 'mmuser', password: 'pw' });
    expect(s.config.ServiceSettings.EnableCommands).toBe(true);
    expect(s.fileDir).toBe('/srv/mmdata/');
    expect([s.listenHost, s.listenPort, s.version]).toEqual(['127.0.0.1', 8065, '9.11.2']);
    // The process environment wins over the env file; MM_CONFIG may name another file in config/.
    await writeFile(
      join(dir, 'config', 'other.json'),
      JSON.stringify({ ...cfg, ServiceSettings: { ListenAddress: '127.0.0.1:9000' } }),
    );
    const s2 = await loadStandinSettings(dir, {
      env: { MM_CONFIG: 'other.json', MM_FILESETTINGS_DIRECTORY: './d2' },
      port: 9100,
    });
    expect(s2.configSource).toBe(`file ${join(dir, 'config', 'other.json')}`);
    expect(s2.fileDir).toBe(join(dir, 'd2'));
    expect(s2.listenPort).toBe(9100);
  } finally {
    await removeTempDir(dir);
  }
});

test('route table and Go map ordering', () => {
  expect(goMapJson({ status: 'OK', IosMinVersion: '', ActiveSearchBackend: 'database' })).toBe(
    '{"ActiveSearchBackend":"database","IosMinVersion":"","status":"OK"}',
  );
  expect(matchRoute('GET', '/api/v4/system/ping')).toMatchObject({ route: { path: '/api/v4/system/ping' } });
  expect(matchRoute('POST', '/api/v4/system/ping')).toBe('method');
  expect(matchRoute('GET', '/api/v4/unknown')).toBeUndefined();
});
