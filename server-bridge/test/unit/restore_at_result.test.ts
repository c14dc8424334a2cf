/**
 * The files part of restore --at's result and summary, shared by the in-place and the new-host
 * restore: the fields (with their empty values before the job has run) and the words.
 */
import {
  restoreAtFilesResult,
  restoreAtFilesSummary,
  type RestoreAtOutcome,
} from '../../src/operations/restore_at_plan';

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
