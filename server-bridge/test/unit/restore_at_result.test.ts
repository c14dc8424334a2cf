/**
 * The files part of restore --at's result and summary, shared by the in-place and the new-host
 * restore: the fields (with their empty values before the job has run) and the words.
 */
import {
  restoreAtFilesResult,
  restoreAtFilesOverwrites,
  restoreAtFilesSummary,
  restoreAtOperation,
  type RestoreAtOutcome,
} from '../../src/operations/restore_at_plan';
import { manifestOf } from '../support/manifests';

const fresh = (): RestoreAtOutcome => ({
  movedAside: false,
  putBack: false,
  files: { rolledBack: false, restored: [], putBack: [], notPutBack: [], skipped: [], warnings: [] },
  warnings: ['w1'],
});

test('before the job has run: nulls, zero and empty lists; rolled_back is what the caller says', () => {
  expect(restoreAtFilesResult(fresh(), 'snap-1', ['config'], true)).toEqual({
    files_snapshot_id: 'snap-1',
    attachments_snapshot_id: null,
    attachments_added: 0,
    attachments_checked: null,
    attachments_missing: [],
    attachments_missing_count: null,
    restored_schema: null,
    restored: [],
    safety_snapshot_id: null,
    rolled_back: true,
    overwritten: ['config'],
    warnings: ['w1'],
  });
  expect(restoreAtFilesSummary(fresh(), 'snap-1')).toEqual({ from: ' from snapshot snap-1', safety: '' });
});

test('after it: what was restored, the attachments added and checked, the safety snapshot', () => {
  const o = fresh();
  o.files.restored.push('config', 'data');
  o.files.safetySnapshotId = 'safe-9';
  o.attachmentsFrom = 'snap-2';
  o.attachmentsAdded = 3;
  o.attachments = { checked: 40, missingCount: 1, missing: ['a/b'] };
  o.restoredSchema = 120;
  expect(restoreAtFilesResult(o, 'snap-1', [], false)).toMatchObject({
    attachments_snapshot_id: 'snap-2',
    attachments_added: 3,
    attachments_checked: 40,
    attachments_missing: ['a/b'],
    attachments_missing_count: 1,
    restored_schema: 120,
    restored: ['config', 'data'],
    safety_snapshot_id: 'safe-9',
    rolled_back: false,
  });
  expect(restoreAtFilesSummary(o, 'snap-1')).toEqual({
    from: 'config, data from snapshot snap-1, with 3 attachment files added from snapshot snap-2',
    safety: 'Safety snapshot of the files: safe-9.',
  });
});

test('the operation: result and summary read the outcome when asked; the safety line only once there is one', () => {
  const o = fresh();
  const job = { name: 'restore-at', steps: [] } as unknown as Parameters<typeof restoreAtOperation>[0]['job'];
  const op = restoreAtOperation({ job, outcome: o }, 'snap-1', {
    result: () => ({ target: 'latest', restored: [...o.files.restored] }),
    restored: (from) => `Restored the database, and ${from}.`,
    next: 'Next: look.',
    failureNote: () => 'left behind',
  });
  expect(op.job).toBe(job);
  expect(op.failureNote?.()).toBe('left behind');
  expect(op.summary()).toEqual({
    json: { ok: true, target: 'latest', restored: [] },
    text: 'Restored the database, and  from snapshot snap-1.\nNext: look.',
  });
  o.files.restored.push('config');
  o.files.safetySnapshotId = 'safe-9';
  expect(op.result()).toEqual({ target: 'latest', restored: ['config'] });
  expect(op.summary()).toEqual({
    json: { ok: true, target: 'latest', restored: ['config'] },
    text: 'Restored the database, and config from snapshot snap-1.\nNext: look.\nSafety snapshot of the files: safe-9.',
  });
});

test('the files part of what a restore --at overwrites: each tree from the snapshot, then where attachments come from', async () => {
  const snapshot = (id: string) => {
    const m = manifestOf([
      [{ path: 'config.json', type: 'file', mode: 0o600, uid: 0, gid: 0, mtime: '1', size: 2, sha256: 'a'.repeat(64) }],
    ]);
    Object.assign(m, { id });
    Object.assign(m.components[0]!, { id: 'config', root: '/opt/mattermost/config', rootInInstall: 'config' });
    return m;
  };
  const before = snapshot('20260101T030000Z-aaaaaa');
  const tree = `config: 1 path replaced (/opt/mattermost/config/config.json); nothing else there is touched (from snapshot ${before.id})`;
  const x = { before, treeIds: ['config'], force: false };
  expect(await restoreAtFilesOverwrites({ ...x, after: undefined })).toEqual([
    tree,
    'no file snapshot after the target time: attachments uploaded since are added from the safety snapshot',
  ]);
  expect(await restoreAtFilesOverwrites({ ...x, after: snapshot('20260102T030000Z-bbbbbb') })).toEqual([
    tree,
    `attachments uploaded after snapshot ${before.id} are added from snapshot 20260102T030000Z-bbbbbb`,
  ]);
  // A restore to a snapshot's own point adds no attachments: no line for them.
  expect(await restoreAtFilesOverwrites({ ...x, after: snapshot('20260102T030000Z-bbbbbb') }, false)).toEqual([tree]);
});
