import { readFileSync } from 'node:fs';
import {
  generateSandbox,
  isValidId,
  makeTempDir,
  removeTempDir,
  startMariadb,
  type MariadbServer,
  type Sandbox,
} from '../src';
import { connectAsMattermost, expectFileInfoFilesExist, expectInstallTree, expectTrickyNames } from './sandbox_checks';

let my: MariadbServer;
let root: string;
let sb: Sandbox;

beforeAll(async () => {
  my = await startMariadb({ name: 'sbmy' });
  root = await makeTempDir('mmtk-sbmy');
  sb = await generateSandbox({ root, db: my, configInDatabase: true });
});
afterAll(async () => {
  await my?.destroy();
  if (root) await removeTempDir(root);
});

test("MariaDB tables have Mattermost's PascalCase names (db_migrations lower-case)", async () => {
  const names = (await my.query('mattermost', 'SHOW TABLES')).map((r) => Object.values(r)[0] as string);
  for (const t of [
    'Users',
    'Teams',
    'Channels',
    'ChannelMembers',
    'TeamMembers',
    'Posts',
    'FileInfo',
    'Reactions',
    'Systems',
    'Preferences',
    'Sessions',
    'UserAccessTokens',
    'Bots',
    'Commands',
    'CommandWebhooks',
    'IncomingWebhooks',
    'OutgoingWebhooks',
    'Roles',
    'Schemes',
    'Status',
    'Jobs',
    'Threads',
    'Drafts',
    'PluginKeyValueStore',
    'db_migrations',
    'Configurations',
    'ConfigurationFiles',
    'db_config_migrations',
  ]) {
    expect(names).toContain(t);
  }
  expect(names).not.toContain('posts');
  expect(sb.counts.Posts).toBe(300);
  const [mig] = await my.query('mattermost', 'SELECT MAX(Version) AS v, COUNT(*) AS n FROM db_migrations');
  expect([Number(mig.v), Number(mig.n)]).toEqual([124, 124]);
  const [cs] = await my.query(
    'mattermost',
    "SELECT TABLE_COLLATION AS c FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'mattermost' AND TABLE_NAME = 'Posts'",
  );
  expect(cs.c).toMatch(/^utf8mb4/);
});

test('rows survive utf8mb4 (emoji) and ids are Mattermost-shaped', async () => {
  const c = await connectAsMattermost(sb);
  try {
    const posts = await c.query<{ Id: string; Message: string; FileIds: string }>(
      'SELECT Id, Message, FileIds FROM Posts',
    );
    expect(posts.every((p) => isValidId(p.Id))).toBe(true);
    expect(posts.some((p) => p.Message.includes('🚀'))).toBe(true);
    expect(posts.some((p) => p.Message.includes('C:\\Users\\mm'))).toBe(true); // backslashes kept
    const withFiles = posts.filter((p) => p.FileIds !== '[]');
    expect(withFiles.length).toBeGreaterThan(0);
    const listed = withFiles.flatMap((p) => JSON.parse(p.FileIds) as string[]);
    expect(listed.length).toBe(sb.counts.FileInfo);
    expect(await expectFileInfoFilesExist(sb, c)).toBe(30);
    await expectTrickyNames(sb, c);
    const kv = await c.query<{ PValue: Buffer }>("SELECT PValue FROM PluginKeyValueStore WHERE PKey = 'binary_blob'");
    expect([...kv[0]!.PValue]).toEqual([0, 1, 2, 0xff, 0xfe, 0, 0x27, 0x5c, 0x22]);
  } finally {
    await c.close();
  }
});

test('install tree for v10: Bleve settings and index dir, legacy MySQL DSN, MM_CONFIG with mysql://', async () => {
  expectInstallTree(sb);
  expect(sb.mattermostVersion).toBe('10.11.4');
  expect(sb.mattermostDsn).toBe(
    `mmuser:${sb.dbPassword}@tcp(127.0.0.1:${my.port})/mattermost?charset=utf8mb4,utf8&writeTimeout=30s`,
  );
  expect(sb.dbUrl).toBe(`mysql://mmuser:${sb.dbPassword}@127.0.0.1:${my.port}/mattermost`);
  expect(readFileSync(sb.envFilePath!, 'utf8')).toContain(`MM_CONFIG=mysql://${sb.mattermostDsn}`);
  const active = await my.query('mattermost', 'SELECT Value FROM Configurations WHERE Active');
  expect(JSON.parse(active[0].Value).BleveSettings.IndexDir).toBe(`${sb.installDir}/bleve-indexes`);
});
