/** The registry of component kinds: complete, consulted by discovery, and strict about manifest records. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { COMPONENT_IDS } from '../../src/config/schema';
import { parseConfig } from '../../src/config/load';
import {
  COMPONENT_KINDS,
  componentKind,
  describeComponents,
  kindOf,
  restoreOrder,
} from '../../src/components/registry';
import type { Site } from '../../src/components/component';
import type { ComponentRecord } from '../../src/manifest/manifest';
import { discover } from '../../src/discovery/discover';
import { VerificationError } from '../../src/core/errors';
import { caught } from '../support/caught';

const OPERATIONS = [
  'describe',
  'locate',
  'backup',
  'fits',
  'objects',
  'restoreRoot',
  'outsideInstall',
  'checkRestore',
  'restoreWarning',
  'restore',
  'verifyTitle',
  'verify',
] as const;

test('every component id has one kind, and every kind has every operation and a description', () => {
  expect(COMPONENT_KINDS.map((k) => k.id)).toEqual([...COMPONENT_IDS]);
  for (const id of COMPONENT_IDS) {
    const kind = componentKind(id);
    expect(kind.id).toBe(id);
    for (const op of OPERATIONS) expect({ id, op, type: typeof kind[op] }).toEqual({ id, op, type: 'function' });
    const d = kind.describe();
    expect(d.id).toBe(id);
    expect(d.title).toBe(kind.title);
    expect(d.description.length).toBeGreaterThan(10);
    expect(d.location.length).toBeGreaterThan(3);
    expect(d.store).toBe(kind.store === 'database' ? 'database' : 'files');
  }
  expect(describeComponents().map((d) => d.id)).toEqual([...COMPONENT_IDS]);
});

const db = {
  driver: 'postgres' as const,
  host: '127.0.0.1',
  port: 5432,
  user: 'mm',
  password: 'pw',
  database: 'mattermost',
  params: {},
};
function site(over: Partial<Site> = {}): Site {
  return {
    installDir: '/opt/mattermost',
    configDir: '/opt/mattermost/config',
    database: db,
    fileDriver: 'local',
    dataDir: '/opt/mattermost/data',
    pluginDir: '/opt/mattermost/plugins',
    clientPluginDir: '/opt/mattermost/client/plugins',
    logsDir: '/opt/mattermost/logs',
    certificateFiles: [],
    extraPaths: [],
    ...over,
  };
}

test('each kind locates itself from the discovered facts, or says why it is skipped', () => {
  const s = site({
    fileDriver: 'amazons3',
    fileStoreName: 'S3 bucket "mm"',
    exportStore: { driver: 'local', dir: '/srv/mm-exports' },
    envFile: '/etc/mattermost/mm.env',
    configDatabase: { ...db, database: 'mmconfig' },
    certificateFiles: ['/etc/ssl/mm.key', '/opt/mattermost/config/saml.crt'],
    extraPaths: ['/srv/extra'],
  });
  expect(componentKind('data').locate(s)).toMatchObject({
    status: 'skipped',
    reason: expect.stringMatching(/stored in S3/),
  });
  expect(componentKind('export_store').locate(s)).toMatchObject({
    status: 'skipped',
    reason: '/srv/mm-exports does not exist',
  });
  expect(componentKind('export_store').locate(site({ exportStore: { driver: 'local', dir: '/tmp' } }))).toMatchObject({
    status: 'included',
    root: '/tmp',
  });
  expect(componentKind('export_store').locate(site())).toMatchObject({
    status: 'skipped',
    reason: expect.stringMatching(/DedicatedExportStore is off/),
  });
  expect(componentKind('env_file').locate(s)).toMatchObject({
    status: 'included',
    root: '/etc/mattermost',
    include: ['mm.env'],
  });
  expect(componentKind('env_file').locate(site({ envFile: '/opt/mattermost/config/mm.env' }))).toMatchObject({
    status: 'skipped',
    reason: expect.stringMatching(/inside the config directory/),
  });
  expect(componentKind('config_store').locate(s)).toMatchObject({
    status: 'included',
    kind: 'database',
    db: { database: 'mmconfig' },
    tables: expect.arrayContaining(['configurations']),
  });
  expect(componentKind('config_store').locate(site({ configDatabase: db }))).toMatchObject({
    status: 'skipped',
    reason: expect.stringMatching(/in its dump/),
  });
  expect(componentKind('config_store').locate(site())).toMatchObject({
    status: 'skipped',
    reason: expect.stringMatching(/is a file/),
  });
  // Only the key outside config/ is the TLS component's; the one inside is the config dir's.
  expect(componentKind('tls').locate(s)).toMatchObject({ status: 'included', root: '/', include: ['etc/ssl/mm.key'] });
  expect(componentKind('extra').locate(s)).toMatchObject({ status: 'included', root: '/', include: ['srv/extra'] });
  expect(componentKind('bleve').locate(s)).toMatchObject({
    status: 'skipped',
    reason: expect.stringMatching(/IndexDir is not set/),
  });
  expect(componentKind('database').locate(s)).toMatchObject({
    status: 'included',
    kind: 'database',
    title: 'Database (postgres)',
    db,
  });
  expect(componentKind('logs').locate(site({ logsDir: '/nonexistent/logs' }))).toMatchObject({
    status: 'skipped',
    reason: '/nonexistent/logs does not exist',
  });
});

describe('discovery', () => {
  let work: string;
  beforeEach(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'registry-'));
  });
  afterEach(() => rm(work, { recursive: true, force: true }));

  test('builds its plan from the registry: one plan per kind, in registry order, with its title and store', async () => {
    const install = path.join(work, 'mattermost');
    await mkdir(path.join(install, 'config'), { recursive: true });
    await mkdir(path.join(install, 'data'), { recursive: true });
    await mkdir(path.join(install, 'plugins'), { recursive: true });
    await writeFile(
      path.join(install, 'config', 'config.json'),
      JSON.stringify({
        SqlSettings: {
          DriverName: 'postgres',
          DataSource: 'postgres://mm:pw@127.0.0.1:5432/mattermost?sslmode=disable',
        },
        FileSettings: { DriverName: 'local', Directory: './data/' },
      }),
    );
    const cfg = parseConfig(
      {
        mattermost: { installDir: install, url: 'http://127.0.0.1:8065' },
        service: { preset: 'none' },
        repository: { path: path.join(work, 'repo') },
        backup: { exclude: ['logs'] },
      },
      'test',
    );
    const d = await discover(cfg);
    expect(d.components.map((p) => p.id)).toEqual([...COMPONENT_IDS]);
    for (const p of d.components) {
      const kind = componentKind(p.id);
      expect({ id: p.id, kind: p.kind }).toEqual({ id: p.id, kind: kind.store });
      if (p.id !== 'database') expect(p.title).toBe(kind.title);
    }
    const byId = Object.fromEntries(d.components.map((p) => [p.id, p]));
    expect(byId.data).toMatchObject({ status: 'included', root: path.join(install, 'data') });
    expect(byId.plugins).toMatchObject({ status: 'included', root: path.join(install, 'plugins') });
    expect(byId.client_plugins).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/does not exist/) });
    expect(byId.logs).toMatchObject({ status: 'skipped' }); // does not exist here either; excluded anyway
    // The app tree leaves the other components' roots inside it to them.
    expect(byId.app?.exclude).toEqual(expect.arrayContaining(['config', 'data', 'plugins']));
  });
});

function record(over: Partial<ComponentRecord>): ComponentRecord {
  return {
    id: 'data',
    title: 't',
    status: 'included',
    exclude: [],
    entries: [],
    files: 0,
    bytes: 0,
    newBytes: 0,
    filesRead: 0,
    durationMs: 0,
    ...over,
  };
}
const dump = {
  driver: 'postgres' as const,
  target: 'x',
  serverVersion: '16.4',
  tool: 'pg_dump',
  format: 'pg_custom' as const,
  compression: 'zstd' as const,
  rowCounts: { users: 1 },
  object: 'a'.repeat(64),
  size: 10,
};

test("a manifest record is dispatched by its id, and refused when no kind has it or it has another kind's shape", async () => {
  expect(kindOf(record({ id: 'data' })).id).toBe('data');
  expect(kindOf(record({ id: 'config_store', database: dump })).store).toBe('database');
  const unknown = await caught(Promise.resolve().then(() => kindOf(record({ id: 'future_thing' }))));
  expect(unknown).toBeInstanceOf(VerificationError);
  expect(unknown.message).toMatch(/component future_thing is not a component this version knows/);
  // A file tree carrying a dump, and a database record without one, are altered manifests.
  expect(() => kindOf(record({ id: 'data', database: dump }))).toThrow(/does not have the shape of a file tree/);
  expect(() => kindOf(record({ id: 'database' }))).toThrow(/does not have the shape of a database dump/);
});

test('restores go databases first, then trees in manifest order', () => {
  const recs = [
    record({ id: 'config' }),
    record({ id: 'config_store', database: dump }),
    record({ id: 'app' }),
    record({ id: 'database', database: dump }),
  ];
  expect(restoreOrder(recs).map((r) => r.id)).toEqual(['config_store', 'database', 'config', 'app']);
});

/** Everything an async iterable yields (Array.fromAsync needs Node 22). */
async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

test('the objects a record references come from its kind', async () => {
  expect(
    await all(kindOf(record({ id: 'database', database: dump })).objects(record({ id: 'database', database: dump }))),
  ).toEqual([{ sha256: dump.object, path: 'database dump', size: 10 }]);
  const tree = record({
    entries: [
      { path: '', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: '2026-01-01T00:00:00.000Z' },
      {
        path: 'a',
        type: 'file',
        mode: 0o644,
        uid: 0,
        gid: 0,
        mtime: '2026-01-01T00:00:00.000Z',
        size: 3,
        sha256: 'b'.repeat(64),
      },
    ],
  });
  expect(await all(kindOf(tree).objects(tree))).toEqual([{ sha256: 'b'.repeat(64), path: 'a', size: 3 }]);
});
