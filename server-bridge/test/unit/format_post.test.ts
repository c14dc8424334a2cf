/** Status-post texts: a backup whose follow-up failed reads as done with a warning, and what a failed job could not undo is said. */
import { failureReply, rootMessage } from '../../src/status/format_post';
import type { JobRecord } from '../../src/jobs/job_record';

const base: JobRecord = {
  id: 'a'.repeat(26),
  kind: 'backup',
  trigger: 'slash',
  requested_by: 'admin',
  options: {},
  status: 'succeeded',
  created_at: '2026-01-01T00:00:00.000Z',
  started_at: '2026-01-01T00:00:00.000Z',
  duration_ms: 4200,
  steps: [],
  log_tail: [],
  result: {
    snapshot_id: '20260101T000000Z-abcdef',
    bytes: 2048,
    new_bytes: 1024,
    downtime_ms: 0,
    prune: { removed: ['x'] },
  },
};

test('a backup whose off-site copy failed is done, with the warning and what to do', () => {
  const text = rootMessage({
    ...base,
    warnings: [
      {
        followUp: 'replicate',
        step: 'offsite-open',
        code: 'STORAGE_FAILED',
        message: 'the bucket is unreachable',
        hint: 'run mm-backup replicate later',
      },
    ],
  });
  expect(text).toMatch(/^\*\*Backup\*\* by @admin: ⚠️ done with warnings in 4\.2 s\n/);
  expect(text).toContain('Snapshot `20260101T000000Z-abcdef`');
  expect(text).toContain('retention: 1 old snapshots removed');
  expect(text).toMatch(/\n⚠️ The off-site copy failed: the bucket is unreachable \(run mm-backup replicate later\)$/);
  expect(rootMessage(base)).toMatch(/✅ done in 4\.2 s/);
});

test('a failed job names what it could not put back', () => {
  const rec: JobRecord = {
    ...base,
    kind: 'restore',
    status: 'failed',
    error: {
      code: 'PROCESS_FAILED',
      message: 'restore broke',
      undo_failed: [{ step: 'restore-data', title: 'Restore files', error: 'disk full' }],
    },
  };
  expect(failureReply(rec)).toMatch(/\*\*Error:\*\* restore broke\n\*\*Not put back:\*\* Restore files \(disk full\)/);
});

test('names in a failure, a warning and a running step are shown as written (Markdown escaped)', () => {
  const name = '/srv/*x* `y` [a](b)';
  const shown = '/srv/\\*x\\* \\`y\\` \\[a\\](b)';
  const failed: JobRecord = {
    ...base,
    status: 'failed',
    steps: [{ id: 'extra', title: `Back up ${name}`, status: 'failed' }] as JobRecord['steps'],
    error: {
      code: 'PROCESS_FAILED',
      message: `cannot read ${name}`,
      hint: `check ${name}`,
      undo_failed: [{ step: 'extra', title: 'Restore files', error: `${name} is busy` }],
    },
  };
  expect(failureReply(failed)).toBe(
    [
      `**Error:** cannot read ${shown}`,
      `**Not put back:** Restore files (${shown} is busy)`,
      `**What to do:** check ${shown}`,
      'Mattermost was started again if it had been stopped.',
    ].join('\n'),
  );
  expect(rootMessage(failed)).toContain(`at *Back up ${shown}*`);
  const warned = rootMessage({
    ...base,
    warnings: [{ followUp: 'replicate', step: 'offsite-open', code: 'STORAGE_FAILED', message: `no ${name}` }],
  });
  expect(warned).toContain(`failed: no ${shown}`);
});
