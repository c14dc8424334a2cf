import { readFileSync } from 'node:fs';
import {
  generateSandbox,
  isValidId,
  makeTempDir,
  removeTempDir,
  startPostgres,
  type PgServer,
  type Sandbox,
} from '../src';
import { connectAsMattermost, expectFileInfoFilesExist, expectInstallTree, expectTrickyNames } from './sandbox_checks';

let pg: PgServer;
let root: string;
let sb: Sandbox;

beforeAll(async () => {
  pg = await startPostgres({ name: 'sbpg' });
  root = await makeTempDir('mmtk-sbpg');
  sb = await generateSandbox({ root, db: pg });
});
afterAll(async () => {
  await pg?.destroy();
  if (root) await removeTempDir(root);
});

test("PostgreSQL tables have Mattermost's lower-case names, owned by mmuser", async () => {
  const rows = await pg.query(
    'mattermost',
    "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
  );
  const names = rows.map((r) => r.tablename);
  for (const t of [
    'users',
    'teams',
    'channels',
    'channelmembers',
    'teammembers',
    'posts',
    'fileinfo',
    'reactions',
    'systems',
    'preferences',
    'sessions',
    'useraccesstokens',
    'bots',
    'commands',
    'commandwebhooks',
    'incomingwebhooks',
    'outgoingwebhooks',
    'roles',
    'schemes',
    'status',
    'jobs',
    'threads',
    'drafts',
    'pluginkeyvaluestore',
    'db_migrations',
  ]) {
    expect(names).toContain(t);
  }
  expect(names).not.toContain('configurations');
  expect(new Set(rows.map((r) => r.tableowner))).toEqual(new Set(['mmuser']));
  expect(sb.counts.posts).toBe(300);
  expect(sb.counts.db_migrations).toBe(146);
  const [mig] = await pg.query('mattermost', 'SELECT max(version) AS v, count(*) AS n FROM db_migrations');
  expect([Number(mig.v), Number(mig.n)]).toEqual([146, 146]);
});

test('rows are realistic: ids, epoch-ms times, unicode, json props, threads and file ids line up', async () => {
  const c = await connectAsMattermost(sb);
  try {
    const posts = await c.query<{
      id: string;
      createat: string;
      message: string;
      props: unknown;
      rootid: string;
      fileids: string;
      channelid: string;
    }>('SELECT * FROM posts ORDER BY createat');
    expect(posts.length).toBe(300);
    expect(posts.every((p) => isValidId(p.id))).toBe(true);
    expect(Number(posts[0]!.createat)).toBeGreaterThan(Date.parse('2020-01-01'));
    expect(Number(posts[posts.length - 1]!.createat)).toBeLessThan(Date.now());
    expect(posts.some((p) => p.message.includes('🚀'))).toBe(true);
    expect(posts.some((p) => p.message.includes('日本語'))).toBe(true);
    expect(typeof posts[0]!.props).toBe('object');
    const ids = new Set(posts.map((p) => p.id));
    expect(posts.filter((p) => p.rootid).every((p) => ids.has(p.rootid))).toBe(true);
    // Every attachment belongs to an existing post whose FileIds lists it.
    const files = await c.query<{ id: string; postid: string; creatorid: string; channelid: string }>(
      'SELECT id, postid, creatorid, channelid FROM fileinfo',
    );
    expect(files.length).toBe(sb.counts.fileinfo);
    const byId = new Map(posts.map((p) => [p.id, p]));
    for (const f of files) {
      const p = byId.get(f.postid);
      expect(p).toBeDefined();
      expect(JSON.parse(p!.fileids)).toContain(f.id);
      expect(p!.channelid).toBe(f.channelid);
    }
    // Channel members exist for every post author in team channels.
    const orphans = await c.query(
      'SELECT p.id FROM posts p JOIN channels ch ON ch.id = p.channelid LEFT JOIN channelmembers m ON m.channelid = p.channelid AND m.userid = p.userid WHERE m.userid IS NULL',
    );
    expect(orphans).toEqual([]);
    const dm = await c.query<{ name: string }>("SELECT name FROM channels WHERE type = 'D'");
    expect(dm.length).toBeGreaterThan(0);
    expect(dm[0]!.name).toMatch(/^[a-z0-9]{26}__[a-z0-9]{26}$/);
  } finally {
    await c.close();
  }
});

test('every FileInfo row points at files that exist; awkward names are present', async () => {
  const c = await connectAsMattermost(sb);
  try {
    expect(await expectFileInfoFilesExist(sb, c)).toBe(30);
    await expectTrickyNames(sb, c);
  } finally {
    await c.close();
  }
  const paths = (await pg.query('mattermost', 'SELECT path FROM fileinfo')).map((r) => r.path as string);
  for (const p of paths) {
    expect(p).toMatch(
      /^\d{8}\/teams\/([a-z0-9]{26}|noteam)\/channels\/[a-z0-9]{26}\/users\/[a-z0-9]{26}\/[a-z0-9]{26}\/[^/]+$/,
    );
  }
});

test('install tree and config.json have the real layout and keys (v11: no Bleve)', () => {
  expectInstallTree(sb);
  expect(sb.mattermostVersion).toBe('11.2.0');
  expect(readFileSync(sb.envFilePath!, 'utf8')).not.toContain('MM_CONFIG');
});

test('configInDatabase: config store tables, MM_CONFIG in the env file; a second sandbox shares the server', async () => {
  const root2 = await makeTempDir('mmtk-sbpg2');
  try {
    const sb2 = await generateSandbox({
      root: root2,
      db: pg,
      dbName: 'mm2',
      configInDatabase: true,
      size: { posts: 50, attachments: 5, attachmentBytes: 50_000 },
    });
    expect(sb2.dbPassword).toBe(sb.dbPassword); // same role, same password: the first sandbox still works
    const c1 = await connectAsMattermost(sb);
    await c1.close();
    expect(readFileSync(sb2.envFilePath!, 'utf8')).toContain(`MM_CONFIG=${sb2.configDsn}`);
    const active = await pg.query('mm2', 'SELECT value FROM configurations WHERE active');
    expect(active.length).toBe(1);
    expect(JSON.parse(active[0].value).SqlSettings.DataSource).toBe(sb2.mattermostDsn);
    const files = (await pg.query('mm2', 'SELECT name FROM configurationfiles ORDER BY name')).map((r) => r.name);
    expect(files).toEqual(expect.arrayContaining(['saml-idp.crt', 'saml-private.key', 'saml-public.crt']));
    expect(sb2.counts.db_config_migrations).toBe(2);
  } finally {
    await removeTempDir(root2);
  }
});

test('refuses to overwrite an existing install', async () => {
  await expect(generateSandbox({ root, db: pg, dbName: 'mm3' })).rejects.toThrow(/already exists/);
});

test('the file check really fails when an attachment is missing', async () => {
  const [row] = await pg.query('mattermost', 'SELECT path FROM fileinfo ORDER BY id LIMIT 1');
  const { rm } = await import('node:fs/promises');
  await rm(`${sb.dataDir}/${row.path}`);
  const c = await connectAsMattermost(sb);
  try {
    await expect(expectFileInfoFilesExist(sb, c)).rejects.toThrow(row.path);
  } finally {
    await c.close();
  }
});
