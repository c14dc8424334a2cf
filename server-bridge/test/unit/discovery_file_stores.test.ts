/**
 * Discovery of the file stores Mattermost 11.x can have, from real config.json files: the Azure
 * Blob driver ("azureblob") is named and skipped like S3; a dedicated export store on the local
 * driver is its own component (excludable), on S3 or Azure it is named and skipped.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/config/load';
import { discover, type Discovery } from '../../src/discovery/discover';

let work: string;
let install: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'file-stores-'));
  install = path.join(work, 'mattermost');
  await mkdir(path.join(install, 'config'), { recursive: true });
  await mkdir(path.join(install, 'data'), { recursive: true });
});
afterEach(() => rm(work, { recursive: true, force: true }));

async function discoverWith(
  fileSettings: Record<string, unknown>,
  opts: { exclude?: string[]; env?: string } = {},
): Promise<Discovery> {
  await writeFile(
    path.join(install, 'config', 'config.json'),
    JSON.stringify({
      SqlSettings: { DriverName: 'postgres', DataSource: 'postgres://mm:pw@127.0.0.1:5432/mattermost' },
      FileSettings: fileSettings,
    }),
  );
  let envFile: string | undefined;
  if (opts.env !== undefined) {
    envFile = path.join(work, 'mattermost.environment');
    await writeFile(envFile, opts.env);
  }
  const cfg = parseConfig(
    {
      mattermost: { installDir: install, url: 'http://127.0.0.1:8065', envFile },
      service: { preset: 'none' },
      repository: { path: path.join(work, 'repo') },
      backup: { exclude: opts.exclude ?? [] },
    },
    'test',
  );
  return discover(cfg);
}

const plan = (d: Discovery, id: string) => d.components.find((c) => c.id === id);

test('an Azure Blob file store is named (container, account, prefix) and skipped with the reason', async () => {
  const d = await discoverWith({
    DriverName: 'azureblob',
    Directory: './data/',
    AzureStorageAccount: 'acmemattermost',
    AzureAccessKey: 'c2VjcmV0LWF6dXJlLWtleQ==',
    AzureContainer: 'mm-files',
    AzurePathPrefix: 'prod',
  });
  expect(d.fileDriver).toBe('azureblob');
  expect(d.fileStoreName).toBe('Azure Blob Storage container "mm-files" of account "acmemattermost" under "prod"');
  expect(plan(d, 'data')).toMatchObject({
    status: 'skipped',
    reason:
      'files are stored in Azure Blob Storage container "mm-files" of account "acmemattermost" under "prod" ' +
      '(FileSettings.DriverName azureblob); they stay where they are',
  });
  // The access key is never part of what discovery says.
  expect(JSON.stringify(d.components)).not.toContain('c2VjcmV0');
});

test('an S3 file store names its bucket; an unknown driver is skipped, not backed up as a directory', async () => {
  const s3 = await discoverWith({ DriverName: 'amazons3', AmazonS3Bucket: 'mm-files', AmazonS3SecretAccessKey: 'sk' });
  expect(plan(s3, 'data')).toMatchObject({
    status: 'skipped',
    reason: expect.stringMatching(/^files are stored in S3 bucket "mm-files" \(FileSettings.DriverName amazons3\)/),
  });
  const other = await discoverWith({ DriverName: 'gcs' });
  expect(plan(other, 'data')).toMatchObject({
    status: 'skipped',
    reason: expect.stringContaining('a store this version does not know (driver "gcs")'),
  });
});

test('without DedicatedExportStore the export store is skipped: exports go to the file store', async () => {
  // ExportDriverName/ExportDirectory are read only when the flag is on (as Mattermost does).
  await mkdir(path.join(install, 'exports'));
  const d = await discoverWith({ DriverName: 'local', ExportDriverName: 'local', ExportDirectory: './exports' });
  expect(plan(d, 'export_store')).toMatchObject({
    status: 'skipped',
    reason: expect.stringMatching(/DedicatedExportStore is off/),
  });
  expect(plan(d, 'app')?.exclude).not.toContain('exports');
});

test('a dedicated export store on the local driver is its own component, which the app tree leaves to it', async () => {
  const exports = path.join(work, 'compliance-exports');
  await mkdir(exports);
  const d = await discoverWith({
    DriverName: 'local',
    Directory: './data/',
    DedicatedExportStore: true,
    ExportDriverName: 'local',
    ExportDirectory: exports,
  });
  expect(plan(d, 'export_store')).toMatchObject({
    status: 'included',
    kind: 'tree',
    root: exports,
    title: 'Dedicated export store (compliance and bulk exports)',
  });
  expect(plan(d, 'data')).toMatchObject({ status: 'included', root: path.join(install, 'data') });

  // Relative to the install, like Directory; inside the install it is left out of the app tree.
  await mkdir(path.join(install, 'exports'));
  const rel = await discoverWith({
    DedicatedExportStore: true,
    ExportDriverName: 'local',
    ExportDirectory: './exports/',
  });
  expect(plan(rel, 'export_store')).toMatchObject({ status: 'included', root: path.join(install, 'exports') });
  expect(plan(rel, 'app')?.exclude).toContain('exports');

  // Excludable like any component.
  const ex = await discoverWith(
    { DedicatedExportStore: true, ExportDriverName: 'local', ExportDirectory: exports },
    { exclude: ['export_store'] },
  );
  expect(plan(ex, 'export_store')).toMatchObject({
    status: 'skipped',
    reason: 'excluded by configuration or --exclude',
  });
});

test('a local export store in the file store directory (Mattermost\'s default "./data/") is not copied twice', async () => {
  const d = await discoverWith({ DriverName: 'local', Directory: './data/', DedicatedExportStore: true });
  expect(plan(d, 'export_store')).toMatchObject({
    status: 'skipped',
    reason: `FileSettings.ExportDirectory is the file store directory ${path.join(install, 'data')}: backed up as data`,
  });
  // A directory inside the file store is the export store's, and the file store leaves it out.
  await mkdir(path.join(install, 'data', 'exports'));
  const inner = await discoverWith({
    DriverName: 'local',
    DedicatedExportStore: true,
    ExportDriverName: 'local',
    ExportDirectory: './data/exports',
  });
  expect(plan(inner, 'export_store')).toMatchObject({
    status: 'included',
    root: path.join(install, 'data', 'exports'),
  });
  expect(plan(inner, 'data')?.exclude).toEqual(['exports']);
});

test('a dedicated export store in S3 or Azure is named and skipped; a missing local one is said to be missing', async () => {
  const s3 = await discoverWith({
    DriverName: 'local',
    DedicatedExportStore: true,
    ExportDriverName: 'amazons3',
    ExportAmazonS3Bucket: 'mm-exports',
    ExportAmazonS3PathPrefix: 'compliance',
    ExportAmazonS3SecretAccessKey: 'export-secret',
  });
  expect(plan(s3, 'export_store')).toMatchObject({
    status: 'skipped',
    reason:
      'exports are stored in S3 bucket "mm-exports" under "compliance" (FileSettings.ExportDriverName amazons3); they stay where they are',
  });
  expect(plan(s3, 'data')).toMatchObject({ status: 'included' });
  expect(JSON.stringify(s3.components)).not.toContain('export-secret');

  const azure = await discoverWith({
    DriverName: 'azureblob',
    AzureContainer: 'mm-files',
    DedicatedExportStore: true,
    ExportDriverName: 'azureblob',
    ExportAzureStorageAccount: 'acmeexports',
    ExportAzureContainer: 'exports',
  });
  expect(plan(azure, 'export_store')).toMatchObject({
    status: 'skipped',
    reason:
      'exports are stored in Azure Blob Storage container "exports" of account "acmeexports" (FileSettings.ExportDriverName azureblob); they stay where they are',
  });

  const missing = await discoverWith({ DedicatedExportStore: true, ExportDirectory: '/nonexistent/mm-exports' });
  expect(plan(missing, 'export_store')).toMatchObject({
    status: 'skipped',
    reason: '/nonexistent/mm-exports does not exist',
  });
});

test('the export store settings can come from MM_FILESETTINGS_* in the service environment', async () => {
  const exports = path.join(work, 'env-exports');
  await mkdir(exports);
  const d = await discoverWith(
    { DriverName: 'local' },
    {
      env: `MM_FILESETTINGS_DEDICATEDEXPORTSTORE=true\nMM_FILESETTINGS_EXPORTDRIVERNAME=local\nMM_FILESETTINGS_EXPORTDIRECTORY=${exports}\n`,
    },
  );
  expect(d.overridden).toEqual(
    expect.arrayContaining([
      'FileSettings.DedicatedExportStore',
      'FileSettings.ExportDriverName',
      'FileSettings.ExportDirectory',
    ]),
  );
  expect(plan(d, 'export_store')).toMatchObject({ status: 'included', root: exports });
  // "false" from the environment over a true in config.json turns it off.
  const off = await discoverWith(
    { DriverName: 'local', DedicatedExportStore: true, ExportDirectory: exports },
    { env: 'MM_FILESETTINGS_DEDICATEDEXPORTSTORE=false\n' },
  );
  expect(plan(off, 'export_store')).toMatchObject({ status: 'skipped' });
});
