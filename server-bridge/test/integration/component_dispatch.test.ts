/**
 * Restore and verify dispatch through each record's kind (components/registry.ts), with real
 * files, a real repository and the real plans: a backup of the file components of an install,
 * restored in place (with a safety snapshot) and onto a new install dir; verify checks each
 * record with its kind, so a signed snapshot whose file list a restore would refuse fails verify.
 */
import { materialize } from '../support/manifests';
import { backupAndLoad, runLocked, writeInstallConfig } from '../support/install_fixture';
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/config/load';
import { openContext, type EngineContext } from '../../src/jobs/context';
import type { JobLock } from '../../src/jobs/lock';
import type { Job, JobResult } from '../../src/jobs/runner';
import { discover, type Discovery } from '../../src/discovery/discover';
import { describeRestore, planRestore, selectRecords, type RestoreOptions } from '../../src/operations/restore_plan';
import { planVerify } from '../../src/operations/verify_plan';
import { newSnapshotId } from '../../src/core/ids';
import type { Manifest } from '../../src/manifest/manifest';
import { describeTree } from '../support/tree_snapshot';

let work: string;
let install: string;
let envFile: string;
let ec: EngineContext;
let d: Discovery;

const run = (make: (lock: JobLock) => Job): Promise<JobResult> => runLocked(ec, make);

beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'dispatch-'));
  install = path.join(work, 'mattermost');
  envFile = path.join(work, 'etc', 'mattermost.env');
  await mkdir(path.join(install, 'data', 'teams', 'a'), { recursive: true });
  await mkdir(path.join(install, 'bin'), { recursive: true });
  await mkdir(path.dirname(envFile), { recursive: true });
  await writeInstallConfig(install);
  await writeFile(path.join(install, 'data', 'teams', 'a', 'photo.png'), 'png bytes');
  await writeFile(path.join(install, 'bin', 'mattermost'), '#!/bin/sh\n');
  await writeFile(envFile, 'MM_SERVICESETTINGS_SITEURL=https://chat.example\n');
  // The database is left out: these are the file components, whose kinds need no server.
  const cfg = parseConfig(
    {
      mattermost: { installDir: install, url: 'http://127.0.0.1:1', envFile },
      service: { preset: 'none' },
      repository: { path: path.join(work, 'repo') },
      backup: { exclude: ['database'] },
    },
    path.join(work, 'mm-backup.json'),
  );
  ec = await openContext(cfg, { notice: () => undefined });
  d = await discover(cfg);
});
afterEach(() => rm(work, { recursive: true, force: true }));

const backup = (): Promise<Manifest> => backupAndLoad(ec, d);

test('each component is restored by its kind, in place with a safety snapshot and onto a new install dir', async () => {
  const m = await backup();
  expect(m.components.filter((c) => c.status === 'included').map((c) => c.id)).toEqual([
    'config',
    'env_file',
    'app',
    'data',
  ]);
  const before = {
    install: await describeTree(install, [], { dirMtimes: false }),
    env: await readFile(envFile, 'utf8'),
  };

  await writeFile(path.join(install, 'config', 'config.json'), '{"broken": true}');
  await rm(path.join(install, 'data', 'teams'), { recursive: true });
  await writeFile(path.join(install, 'data', 'stray.txt'), 'not in the snapshot');
  await appendFile(envFile, 'MM_SQLSETTINGS_DATASOURCE=changed\n');

  const opts: RestoreOptions = { components: ['config', 'env_file', 'data'], safetySnapshot: true, force: false };
  // What each kind says a restore overwrites: a whole tree, or the single files of a list.
  expect(await describeRestore(selectRecords(m, opts.components), opts, d)).toEqual([
    `config: ${path.join(install, 'config')} is made identical to the snapshot (1 file; files not in the snapshot are removed)`,
    `env_file: 1 path replaced (${envFile}); nothing else there is touched`,
    `data: ${path.join(install, 'data')} is made identical to the snapshot (1 file; files not in the snapshot are removed)`,
  ]);
  let restore = { outcome: {} } as ReturnType<typeof planRestore>;
  const r = await run((lock) => {
    restore = planRestore(ec, m, d, lock, opts);
    return restore.job;
  });
  expect(r.error).toBeUndefined();
  expect(restore.outcome.restored).toEqual(['config', 'env_file', 'data']);
  expect(restore.outcome.safetySnapshotId).toBeDefined();
  expect(await describeTree(install, [], { dirMtimes: false })).toEqual(before.install);
  expect(await readFile(envFile, 'utf8')).toBe(before.env);

  // Onto a new install dir: the components inside the install follow it; the env file outside is skipped.
  const fresh = path.join(work, 'new-server');
  const moved: RestoreOptions = {
    components: ['config', 'env_file', 'data'],
    installDir: fresh,
    safetySnapshot: false,
    force: false,
  };
  const r2 = await run((lock) => {
    restore = planRestore(ec, m, undefined, lock, moved);
    return restore.job;
  });
  expect(r2.error).toBeUndefined();
  expect(restore.outcome).toMatchObject({ restored: ['config', 'data'], skipped: ['env_file'] });
  expect(await readFile(path.join(fresh, 'data', 'teams', 'a', 'photo.png'), 'utf8')).toBe('png bytes');
  expect(JSON.parse(await readFile(path.join(fresh, 'config', 'config.json'), 'utf8'))).toMatchObject({
    FileSettings: { Directory: './data/' },
  });
});

test('verify checks each record with its kind: a signed snapshot whose file list a restore would refuse fails', async () => {
  const m = await backup();
  let verify = planVerify(ec, m, undefined, { deep: false });
  const ok = await run(() => verify.job);
  expect(ok.error).toBeUndefined();
  expect(verify.outcome.issues).toEqual([]);

  // A manifest that lists a file of the file store twice (a restore would write it twice, the
  // second time through whatever the first put there), signed by this host's own key: every
  // object is intact, so only the kind's check of the list can find it.
  const bad = await materialize(m);
  bad.id = newSnapshotId();
  const data = bad.components.find((c) => c.id === 'data');
  const file = data?.entries.find((e) => e.type === 'file');
  if (!data || !file) throw new Error('the snapshot has no data file');
  data.entries.push({ ...file });
  await ec.repo.writeSnapshot(bad);
  const signed = await ec.repo.loadSnapshot(bad.id);
  verify = planVerify(ec, signed, undefined, { deep: false });
  const r = await run(() => verify.job);
  expect(r.error?.code).toBe('VERIFICATION_FAILED');
  expect(verify.outcome.issues).toEqual([
    { component: 'data', path: `entry ${JSON.stringify(file.path)}`, problem: 'appears more than once' },
  ]);
});
