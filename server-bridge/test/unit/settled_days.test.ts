/**
 * Which day directories a backup may take from its parent (issue 12 §5): settled (two days behind
 * today, UTC), with the same FileInfo fingerprint as recorded, and only between full walks.
 */
import { nextWalkState, planCarry } from '../../src/repository/settled_days';
import type { WalkState } from '../../src/repository/walk_state';

const now = new Date('2026-12-02T10:00:00Z');
const state = (over: Partial<WalkState> = {}): WalkState => ({
  fullWalkAt: '2026-12-01T10:00:00.000Z',
  exclude: ['bleve'],
  subtrees: {
    '20261120': { fp: '3:100:0:900', entries: 12 },
    '20261125': { fp: 'none', entries: 4 },
    '20261129': { fp: '1:5:0:10', entries: 5 },
    '20261130': { fp: '1:6:0:10', entries: 5 },
    '20261201': { fp: '1:7:0:10', entries: 5 },
  },
  ...over,
});
const days = new Map([
  ['20261120', '3:100:0:900'],
  ['20261129', '1:5:0:10'],
  ['20261130', '1:6:0:10'],
  ['20261201', '1:7:0:10'],
]);
const opts = { now, fullWalkDays: 7, exclude: ['bleve'] };

test('settled days with unchanged rows are carried; recent days are always walked', () => {
  const plan = planCarry(state(), days, opts);
  expect(plan.fullWalk).toBeUndefined();
  // 20261130 is only two days behind: not settled yet. A day without rows stays 'none'.
  expect(Object.fromEntries(plan.carry)).toEqual({ '20261120': 12, '20261125': 4, '20261129': 5 });
});

test('a day whose rows changed (added, soft-deleted, removed) is walked', () => {
  for (const fp of ['4:100:0:1000', '3:130:0:900', '3:130:130:900', '2:100:0:600']) {
    const plan = planCarry(state(), new Map([...days, ['20261120', fp]]), opts);
    expect(plan.carry.has('20261120')).toBe(false);
  }
  // Rows appear for a day that had none.
  expect(planCarry(state(), new Map([...days, ['20261125', '1:1:0:1']]), opts).carry.has('20261125')).toBe(false);
});

test('a full walk when due, without state or rows, when exclusions changed, or when turned off', () => {
  expect(planCarry(state({ fullWalkAt: '2026-11-25T09:59:59.000Z' }), days, opts).fullWalk).toMatch(/7 days old/);
  expect(planCarry(state({ fullWalkAt: '2026-11-25T10:00:01.000Z' }), days, opts).fullWalk).toBeUndefined();
  expect(planCarry(state({ fullWalkAt: 'garbage' }), days, opts).fullWalk).toMatch(/days old/);
  expect(planCarry(state({ fullWalkAt: '2026-12-03T10:00:00.000Z' }), days, opts).fullWalk).toMatch(/in the future/);
  expect(planCarry(undefined, days, opts).fullWalk).toMatch(/no walk state/);
  expect(planCarry(state(), undefined, opts).fullWalk).toMatch(/could not be read/);
  expect(planCarry(state(), days, { ...opts, exclude: [] }).fullWalk).toMatch(/excluded paths changed/);
  expect(planCarry(state(), days, { ...opts, fullWalkDays: 0 }).fullWalk).toMatch(/0/);
  expect(planCarry(state(), days, { ...opts, fullWalkDays: 0 }).carry.size).toBe(0);
});

test('the next state records every day counted, and keeps the last full walk only when something was carried', () => {
  const counts = new Map([
    ['20261120', 12],
    ['20261202', 3],
  ]);
  const startedAt = new Date('2026-12-02T10:00:00Z');
  const carried = nextWalkState(state(), planCarry(state(), days, opts), days, counts, {
    startedAt,
    exclude: ['bleve'],
  });
  expect(carried).toEqual({
    fullWalkAt: '2026-12-01T10:00:00.000Z',
    exclude: ['bleve'],
    subtrees: { '20261120': { fp: '3:100:0:900', entries: 12 }, '20261202': { fp: 'none', entries: 3 } },
  });
  const full = nextWalkState(state(), planCarry(undefined, days, opts), days, counts, {
    startedAt,
    exclude: ['bleve'],
  });
  expect(full.fullWalkAt).toBe(startedAt.toISOString());
});
