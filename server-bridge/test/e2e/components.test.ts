/** The component plan: S3 file stores skipped with the reason, extra paths, exclusions, Bleve on v10. */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setupE2E, type E2E } from '../support/e2e_env';

describe('PostgreSQL install', () => {
  let env: E2E;
  beforeAll(async () => {
    env = await setupE2E('postgres');
  }, 240_000);
  afterAll(async () => {
    await env?.cleanup();
  });

  test('extra paths are backed up and restored to the same place; --exclude leaves a component out', async () => {
    const extra = path.join(env.root, 'custom', 'branding');
    await mkdir(extra, { recursive: true });
    await writeFile(path.join(extra, 'logo.svg'), '<svg/>');
    await env.writeConfig({ backup: { mode: 'online', extraPaths: [extra] } });
    const b = await env.cli('backup', '--exclude', 'logs');
    expect(b.code).toBe(0);
    const m = (await env.cli('show', b.summary?.snapshot.id)).summary?.manifest;
    const byId = Object.fromEntries(m.components.map((c: { id: string }) => [c.id, c]));
    expect(byId.logs).toMatchObject({ status: 'skipped', reason: 'excluded by configuration or --exclude' });
    expect(byId.extra).toMatchObject({ status: 'included', root: '/' });
    expect(byId.extra.entries.map((e: { path: string; type: string }) => `${e.type} ${e.path}`)).toEqual([
      `dir ${extra.slice(1)}`,
      `file ${path.join(extra, 'logo.svg').slice(1)}`,
    ]);
    // The app component does not copy what belongs to other components.
    expect(byId.app.exclude).toEqual(expect.arrayContaining(['client/plugins', 'config', 'data', 'logs', 'plugins']));
    await rm(extra, { recursive: true });
    const r = await env.cli(
      'restore',
      b.summary?.snapshot.id,
      '--yes',
      '--components',
      'extra',
      '--no-safety-snapshot',
    );
    expect(r.code).toBe(0);
    expect(r.summary?.safety_snapshot).toBeNull();
    expect(await readFile(path.join(extra, 'logo.svg'), 'utf8')).toBe('<svg/>');
    await env.writeConfig();
  });

  test('a file store in S3 is recorded as skipped, with the reason', async () => {
    const cfgPath = env.sb.configPath;
    const original = await readFile(cfgPath, 'utf8');
    const cfg = JSON.parse(original);
    cfg.FileSettings.DriverName = 'amazons3';
    await writeFile(cfgPath, JSON.stringify(cfg, null, 2));
    try {
      const d = await env.cli('discover');
      expect(d.code).toBe(0);
      const data = d.summary?.report.components.find((c: { id: string }) => c.id === 'data');
      expect(data).toMatchObject({
        status: 'skipped',
        reason: expect.stringMatching(/stored in S3 .* they stay where they are/),
      });
      expect(d.summary?.report.file_store.driver).toBe('amazons3');
    } finally {
      await writeFile(cfgPath, original);
    }
  });

  test('a dedicated export store on the local driver is backed up, verified, restored, and can be excluded', async () => {
    const cfgPath = env.sb.configPath;
    const original = await readFile(cfgPath, 'utf8');
    const exports = path.join(env.root, 'mm-exports');
    const batch = path.join(exports, 'export', '20261201', 'batch001.zip');
    await mkdir(path.dirname(batch), { recursive: true });
    await writeFile(batch, Buffer.alloc(70_000, 7));
    await writeFile(path.join(exports, 'bulk-export.jsonl'), '{"type":"version","version":1}\n');
    const cfg = JSON.parse(original);
    Object.assign(cfg.FileSettings, {
      DedicatedExportStore: true,
      ExportDriverName: 'local',
      ExportDirectory: exports,
    });
    await writeFile(cfgPath, JSON.stringify(cfg, null, 2));
    try {
      const b = await env.cli('backup', '--mode', 'online');
      expect(b.code).toBe(0);
      const id = b.summary?.snapshot.id as string;
      const m = (await env.cli('show', id)).summary?.manifest;
      const rec = m.components.find((c: { id: string }) => c.id === 'export_store');
      expect(rec).toMatchObject({ status: 'included', root: exports, files: 2 });
      expect(rec.entries.map((e: { path: string }) => e.path)).toEqual(
        expect.arrayContaining(['export/20261201/batch001.zip', 'bulk-export.jsonl']),
      );
      expect((await env.cli('verify', id)).code).toBe(0);

      // Lost and altered exports, and a file the snapshot does not have: the restore mirrors the snapshot.
      await rm(batch);
      await writeFile(path.join(exports, 'bulk-export.jsonl'), 'changed');
      await writeFile(path.join(exports, 'stray.txt'), 'x');
      const r = await env.cli('restore', id, '--yes', '--components', 'export_store', '--no-safety-snapshot');
      expect(r.code).toBe(0);
      expect(await readFile(batch)).toEqual(Buffer.alloc(70_000, 7));
      expect(await readFile(path.join(exports, 'bulk-export.jsonl'), 'utf8')).toBe('{"type":"version","version":1}\n');
      await expect(readFile(path.join(exports, 'stray.txt'))).rejects.toMatchObject({ code: 'ENOENT' });

      const ex = await env.cli('backup', '--mode', 'online', '--exclude', 'export_store');
      expect(ex.code).toBe(0);
      const m2 = (await env.cli('show', ex.summary?.snapshot.id)).summary?.manifest;
      expect(m2.components.find((c: { id: string }) => c.id === 'export_store')).toMatchObject({
        status: 'skipped',
        reason: 'excluded by configuration or --exclude',
      });
    } finally {
      await writeFile(cfgPath, original);
      await rm(exports, { recursive: true, force: true });
    }
  });

  test('a file store and an export store in Azure Blob Storage are named and skipped', async () => {
    const cfgPath = env.sb.configPath;
    const original = await readFile(cfgPath, 'utf8');
    const cfg = JSON.parse(original);
    Object.assign(cfg.FileSettings, {
      DriverName: 'azureblob',
      AzureStorageAccount: 'acmemattermost',
      AzureContainer: 'mm-files',
      DedicatedExportStore: true,
      ExportDriverName: 'azureblob',
      ExportAzureContainer: 'mm-exports',
    });
    await writeFile(cfgPath, JSON.stringify(cfg, null, 2));
    try {
      const d = await env.cli('discover');
      expect(d.code).toBe(0);
      const byId = Object.fromEntries(d.summary?.report.components.map((c: { id: string }) => [c.id, c]));
      expect(byId.data).toMatchObject({
        status: 'skipped',
        reason: expect.stringMatching(
          /^files are stored in Azure Blob Storage container "mm-files" .* stay where they are$/,
        ),
      });
      expect(byId.export_store).toMatchObject({
        status: 'skipped',
        reason: expect.stringMatching(/^exports are stored in Azure Blob Storage container "mm-exports"/),
      });
      expect(d.summary?.report.file_store).toMatchObject({
        driver: 'azureblob',
        name: expect.stringMatching(/mm-files/),
      });
    } finally {
      await writeFile(cfgPath, original);
    }
  });
});

describe('MariaDB install (Mattermost v10)', () => {
  let env: E2E;
  beforeAll(async () => {
    env = await setupE2E('mysql');
  }, 240_000);
  afterAll(async () => {
    await env?.cleanup();
  });

  test('the Bleve index directory is a component on v10; discover warns about MySQL support', async () => {
    const d = await env.cli('discover');
    expect(d.code).toBe(0);
    const bleve = d.summary?.report.components.find((c: { id: string }) => c.id === 'bleve');
    expect(bleve.status).toBe('included');
    expect(d.summary?.report.warnings.join('\n')).toMatch(/MySQL is supported by Mattermost up to v10\.11 ESR only/);
    expect(d.summary?.report.mattermost.version).toMatch(/^10\./);
  });
});
