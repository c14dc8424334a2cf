/**
 * A new snapshot id always sorts after the repository's newest, so the newest snapshot (a backup's
 * parent, `latest`) is the last one made, even within one second or after the clock went back.
 */
import { SNAPSHOT_ID } from '../../src/manifest/manifest';
import { snapshotIdAfter } from '../../src/core/ids';

const now = new Date('2026-12-02T11:50:07.900Z');

test('a later second needs nothing special', () => {
  const id = snapshotIdAfter(['20261202T115006Z-ffffff'], now);
  expect(id).toMatch(/^20261202T115007Z-[0-9a-f]{6}$/);
});

test('within the same second, and after the clock went back, the id still sorts after the newest', () => {
  for (let i = 0; i < 200; i++) {
    for (const newest of ['20261202T115007Z-fffff0', '20261202T115007Z-000000', '20261202T115400Z-abcdef']) {
      const id = snapshotIdAfter(['20261101T000000Z-000000', newest], now);
      expect(id).toMatch(SNAPSHOT_ID);
      expect(id > newest).toBe(true);
    }
  }
});

test('a second whose suffixes are used up moves to the next second', () => {
  expect(snapshotIdAfter(['20261202T115259Z-ffffff'], now)).toMatch(/^20261202T115300Z-[0-9a-f]{6}$/);
  expect(snapshotIdAfter(['20261202T115507Z-ffffff'], now)).toMatch(/^20261202T115508Z-[0-9a-f]{6}$/);
});

test('an empty repository gets a plain id of now', () => {
  expect(snapshotIdAfter([], now)).toMatch(/^20261202T115007Z-[0-9a-f]{6}$/);
});

test('an id planted far in the future (someone who can write the repository) is not followed', () => {
  for (const planted of ['99991231T235959Z-ffffff', '20991231T235959Z-000000', '20261202T115608Z-000000']) {
    const id = snapshotIdAfter(['20261202T115006Z-123456', planted], now);
    expect(id).toMatch(SNAPSHOT_ID);
    expect(id).toMatch(/^20261202T115007Z-/);
  }
});
