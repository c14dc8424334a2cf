/**
 * Which jobs go on while PostgreSQL is left down (docs/pitr.md "PostgreSQL left down"): only those
 * that use the repository alone. pitr_postgres_down.test.ts runs verify and prune for real while it
 * is down; this pins the whole table, replicate included (its e2e needs a bucket).
 */
import { JOB_KIND_TITLES } from '../../src/jobs/events';
import { jobNeedsDatabase } from '../../src/operations/needs_database';

test('backup, restore, deep verify and pitr jobs need the database; replicate, prune and plain verify do not', () => {
  const table = Object.fromEntries(Object.keys(JOB_KIND_TITLES).map((kind) => [kind, jobNeedsDatabase({ kind })]));
  expect(table).toEqual({
    backup: true,
    restore: true,
    verify: false,
    prune: false,
    replicate: false,
    'pitr-backup': true,
    'pitr-enable': true,
    'pitr-disable': true,
  });
  expect(jobNeedsDatabase({ kind: 'verify', deep: true })).toBe(true);
  expect(jobNeedsDatabase({ kind: 'restore', deep: false })).toBe(true);
  // A kind that is no job kind (sign-snapshots' lock) or a hostile one is taken to need it.
  for (const kind of ['sign', '__proto__', 'constructor', 'toString', '']) {
    expect(jobNeedsDatabase({ kind })).toBe(true);
  }
});
