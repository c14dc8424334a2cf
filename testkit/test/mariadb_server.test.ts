import { existsSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { mysqlDsnForMattermost, startMariadb, type MariadbServer } from '../src';

describe('startMariadb', () => {
  let my: MariadbServer | undefined;
  afterAll(async () => {
    await my?.destroy();
  });

  it('starts a server on a free port with a root password', async () => {
    my = await startMariadb({ name: 'mytest' });
    expect(my.kind).toBe('mysql');
    expect(my.port).not.toBe(3306);
    const rows = await my.query(
      '',
      'SELECT @@port AS port, @@log_bin AS logbin, @@innodb_flush_log_at_trx_commit AS f',
    );
    expect(rows[0]).toEqual({ port: my.port, logbin: 0, f: 0 });
    await expect(
      mysql.createConnection({ host: '127.0.0.1', port: my.port, user: 'root', password: '' }),
    ).rejects.toThrow(/Access denied/);
    expect(my.adminUrl('db1')).toBe(`mysql://root:${my.superuserPassword}@127.0.0.1:${my.port}/db1`);
  });

  it('creates users and databases', async () => {
    const s = my!;
    await s.createRole('mmuser', 'pw-1');
    expect(await s.roleExists('mmuser')).toBe(true);
    await s.createDatabase('mattermost', 'mmuser');
    const c = await mysql.createConnection({
      host: '127.0.0.1',
      port: s.port,
      user: 'mmuser',
      password: 'pw-1',
      database: 'mattermost',
      charset: 'utf8mb4_general_ci',
    });
    await c.query('CREATE TABLE Posts (Id varchar(26) primary key, Message text) DEFAULT CHARSET=utf8mb4');
    await c.query('INSERT INTO Posts VALUES (?, ?)', ['a', 'héllo 👋']);
    await c.end();
    expect(await s.query('mattermost', 'SELECT Message FROM Posts')).toEqual([{ Message: 'héllo 👋' }]);
    await s.setPassword('mmuser', 'pw-2');
    await expect(
      mysql.createConnection({ host: '127.0.0.1', port: s.port, user: 'mmuser', password: 'pw-1' }),
    ).rejects.toThrow(/Access denied/);
    await s.exec('mattermost', 'CREATE TABLE a (x int); INSERT INTO a VALUES (1); INSERT INTO a VALUES (2);');
    expect(await s.query('mattermost', 'SELECT count(*) AS n FROM a')).toEqual([{ n: 2 }]);
  });

  it('stops (connection refused) and starts again on the same port', async () => {
    const s = my!;
    const port = s.port;
    await s.stop();
    expect(s.isRunning()).toBe(false);
    await expect(s.query('', 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/);
    await s.start();
    expect(s.port).toBe(port);
    expect(await s.query('mattermost', 'SELECT Message FROM Posts')).toEqual([{ Message: 'héllo 👋' }]);
    expect(s.clientEnv().MYSQL_PWD).toBe(s.superuserPassword);
    expect(existsSync(`${s.binDir}/mariadb`)).toBe(true);
  });

  it('formats the legacy Mattermost DSN', () => {
    expect(mysqlDsnForMattermost('mmuser', 'pw', '127.0.0.1', 3307, 'mattermost')).toBe(
      'mmuser:pw@tcp(127.0.0.1:3307)/mattermost?charset=utf8mb4,utf8&writeTimeout=30s',
    );
  });

  it('destroy removes the temp dir', async () => {
    const dir = my!.baseDir;
    await my!.destroy();
    expect(existsSync(dir)).toBe(false);
    my = undefined;
  });
});
