import { planRetention, type SnapshotRef } from '../../src/jobs/retention';

const at = (iso: string, verified = false, id = iso): SnapshotRef => ({ id, time: new Date(iso), verified });

test('keep-last keeps the newest N', () => {
  const snaps = [at('2026-01-01T03:00:00'), at('2026-01-02T03:00:00'), at('2026-01-03T03:00:00')];
  const p = planRetention(snaps, { keepLast: 2, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 });
  expect(p.remove).toEqual(['2026-01-01T03:00:00']);
});

test('daily keeps the newest of each of the last N days', () => {
  const snaps = [
    at('2026-01-01T01:00:00'),
    at('2026-01-01T23:00:00'),
    at('2026-01-02T01:00:00'),
    at('2026-01-02T05:00:00'),
    at('2026-01-03T01:00:00'),
  ];
  const p = planRetention(snaps, { keepLast: 1, keepDaily: 2, keepWeekly: 0, keepMonthly: 0 });
  expect(p.keep.map((k) => k.id).sort()).toEqual(['2026-01-02T05:00:00', '2026-01-03T01:00:00']);
});

test('weekly and monthly buckets', () => {
  const snaps = ['2026-01-05', '2026-01-07', '2026-01-12', '2026-02-10', '2026-03-03'].map((d) => at(`${d}T12:00:00`));
  const p = planRetention(snaps, { keepLast: 1, keepDaily: 0, keepWeekly: 2, keepMonthly: 3 });
  expect(p.keep.map((k) => k.id).sort()).toEqual(['2026-01-12T12:00:00', '2026-02-10T12:00:00', '2026-03-03T12:00:00']);
});

test('the newest verified snapshot is kept even when the policy would drop it', () => {
  const snaps = [at('2026-01-01T00:00:00', true), at('2026-01-02T00:00:00'), at('2026-01-03T00:00:00')];
  const p = planRetention(snaps, { keepLast: 1, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 });
  expect(p.keep.map((k) => k.id).sort()).toEqual(['2026-01-01T00:00:00', '2026-01-03T00:00:00']);
  expect(p.keep.find((k) => k.id === '2026-01-01T00:00:00')?.reasons).toEqual(['newest verified']);
});

test('keepLast below 1 still keeps the newest snapshot', () => {
  const p = planRetention([at('2026-01-01T00:00:00'), at('2026-01-02T00:00:00')], {
    keepLast: 0,
    keepDaily: 0,
    keepWeekly: 0,
    keepMonthly: 0,
  });
  expect(p.keep.map((k) => k.id)).toEqual(['2026-01-02T00:00:00']);
});

test('of several verified snapshots, the newest is kept, not an older one', () => {
  const snaps = [
    at('2026-01-01T00:00:00', true),
    at('2026-01-02T00:00:00', true),
    at('2026-01-03T00:00:00'),
    at('2026-01-04T00:00:00'),
  ];
  const p = planRetention(snaps, { keepLast: 1, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 });
  expect(p.keep.map((k) => k.id).sort()).toEqual(['2026-01-02T00:00:00', '2026-01-04T00:00:00']);
  expect(p.remove.sort()).toEqual(['2026-01-01T00:00:00', '2026-01-03T00:00:00']);
});
