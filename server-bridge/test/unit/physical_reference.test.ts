/**
 * The physical reference in a manifest (format version 2) is input like the rest of a manifest:
 * strict shapes for everything that reaches pgbackrest's argv, version rules that keep version 1
 * readers safe, and the checks a restore makes against pgBackRest's info before anything stops.
 */
import { kindOf } from '../../src/components/registry';
import { VerificationError } from '../../src/core/errors';
import { parseInfo } from '../../src/database/pgbackrest/info';
import { parseManifest, type Manifest } from '../../src/manifest/manifest';
import { checkPointUsable, physicalPointOf } from '../../src/operations/physical_point';

/** The error a synchronous call throws (it must throw). */
function thrown(fn: () => unknown): Error & { hint?: string } {
  try {
    fn();
  } catch (err) {
    return err as Error & { hint?: string };
  }
  throw new Error('expected a throw');
}

const REF = {
  tool: 'pgbackrest',
  stanza: 'mattermost',
  label: '20261202-101500F_20261202-120000I',
  backupType: 'incr',
  backupStoppedAt: '2026-12-02T12:00:05.000Z',
  lsn: '0/3A0001C8',
  timeline: 1,
  segment: '00000001000000000000003A',
  at: '2026-12-02T13:00:00.123Z',
  target: 'postgres 127.0.0.1:5432/mattermost',
  serverVersion: '15.10',
};

function manifest(physical: Record<string, unknown> = REF, over: Record<string, unknown> = {}): Record<string, any> {
  return {
    format: 'mm-backup-snapshot',
    formatVersion: 2,
    id: '20261202T130000Z-a1b2c3',
    startedAt: '2026-12-02T13:00:00.000Z',
    finishedAt: '2026-12-02T13:00:02.000Z',
    mode: 'offline',
    trigger: 'cli',
    host: 'h',
    installDir: '/opt/mattermost',
    mattermost: { configSource: 'file', fileDriver: 'local' },
    components: [
      { id: 'database', title: 'Database (postgres)', status: 'included', entries: [], physical },
      { id: 'config', title: 'Config', status: 'included', root: '/opt/mattermost/config', entries: [] },
    ],
    stats: { files: 0, bytes: 0, newBytes: 0, filesRead: 0, durationMs: 0, downtimeMs: 0 },
    ...over,
  };
}

const parsed = (raw: unknown): Manifest => {
  const r = parseManifest(raw);
  if (!r.success) throw new Error(JSON.stringify(r.issues));
  return r.data;
};
const refused = (raw: unknown): string => {
  const r = parseManifest(raw);
  expect(r.success).toBe(false);
  return r.success ? '' : JSON.stringify(r.issues);
};

test('a version 2 manifest with a reference parses; its record is the database kind and references no object', async () => {
  const m = parsed(manifest());
  const rec = m.components[0]!;
  expect(rec.physical?.label).toBe(REF.label);
  expect(kindOf(rec).store).toBe('database');
  const objects: unknown[] = [];
  for await (const o of kindOf(rec).objects(rec)) objects.push(o);
  expect(objects).toEqual([]);
  expect(kindOf(rec).verifyTitle(rec, true)).toBeUndefined();
  expect(physicalPointOf(m)?.lsn).toBe(REF.lsn);
  // A full's label, and a diff's.
  expect(parseManifest(manifest({ ...REF, label: '20261202-101500F', backupType: 'full' })).success).toBe(true);
  expect(parseManifest(manifest({ ...REF, label: '20261202-101500F_20261202-120000D' })).success).toBe(true);
});

test('hostile fields are refused: labels, positions and names that are not what pgBackRest and PostgreSQL print', () => {
  for (const label of [
    "20261202-101500F'; rm -rf / #",
    '--set=20261202-101500F',
    '20261202-101500F\n',
    '20261202-101500X',
    '../20261202-101500F',
    '',
  ]) {
    expect({ label, issues: refused(manifest({ ...REF, label })) }).toEqual({
      label,
      issues: expect.stringMatching(/label/),
    });
  }
  for (const lsn of ['0/3A0001C8; DROP TABLE x', '--target-action=shutdown', '0/', 'x/1', '123456789/1']) {
    expect({ lsn, issues: refused(manifest({ ...REF, lsn })) }).toEqual({ lsn, issues: expect.stringMatching(/lsn/) });
  }
  refused(manifest({ ...REF, timeline: 0 }));
  refused(manifest({ ...REF, timeline: 1.5 }));
  refused(manifest({ ...REF, stanza: 'a b' }));
  refused(manifest({ ...REF, segment: '00000002000000000000003A' })); // not on timeline 1
  refused(manifest({ ...REF, backupStoppedAt: '2026-12-02T14:00:00.000Z' })); // stops after the point
  refused(manifest({ ...REF, command: 'rm -rf /' })); // strict: no field of anyone's choosing
  refused(manifest({ ...REF, tool: 'barman' }));
});

test('versions: a reference needs version 2, only on the main database, never beside a dump; unknown versions refused', () => {
  expect(refused(manifest(REF, { formatVersion: 1 }))).toMatch(/format version 2/);
  expect(refused(manifest(REF, { formatVersion: 3 }))).toMatch(/formatVersion/);
  const onTree = manifest();
  onTree.components[1].physical = REF;
  expect(refused(onTree)).toMatch(/only the main database/);
  const both = manifest();
  both.components[0].database = {
    driver: 'postgres',
    target: 'x',
    serverVersion: '15',
    tool: 'pg_dump',
    format: 'pg_custom',
    compression: 'zstd',
    rowCounts: {},
    object: 'a'.repeat(64),
    size: 1,
  };
  expect(refused(both)).toMatch(/not both/);
  // A version 1 manifest (dumps) reads as before.
  const v1 = manifest(REF, { formatVersion: 1 });
  v1.components = [v1.components[1]];
  expect(parseManifest(v1).success).toBe(true);
  // A tree record cannot carry a reference past kindOf either (parsed without the manifest rules).
  const tree = { ...parsed(v1).components[0]!, physical: parsed(manifest()).components[0]!.physical };
  expect(thrown(() => kindOf(tree))).toBeInstanceOf(VerificationError);
});

const info = (labels: Array<[string, number]>, archiveStop = '00000001000000000000003A') =>
  parseInfo(
    JSON.stringify([
      {
        name: 'mattermost',
        status: { code: 0, message: 'ok' },
        backup: labels.map(([label, stop]) => ({
          label,
          type: 'incr',
          timestamp: { start: stop - 5, stop },
          archive: { start: '00000001000000000000003A', stop: archiveStop },
        })),
      },
    ]),
  )[0];

test('a restore checks the reference against pgBackRest: expired, another stanza, or stopping after the point are refused', () => {
  const m = parsed(manifest());
  const point = physicalPointOf(m)!;
  const stop = Date.parse(REF.backupStoppedAt) / 1000;
  expect(() => checkPointUsable(m, point, info([[REF.label, stop]]), 'mattermost', 'w')).not.toThrow();
  expect(() => checkPointUsable(m, point, info([['20261203-000000F', stop]]), 'mattermost', 'A … B')).toThrow(
    /backup 20261202-101500F_20261202-120000I that snapshot 20261202T130000Z-a1b2c3's database refers to is no longer in the repository/,
  );
  expect(() => checkPointUsable(m, point, undefined, 'mattermost', 'w')).toThrow(/no longer in the repository/);
  expect(() => checkPointUsable(m, point, info([[REF.label, stop]]), 'other', 'w')).toThrow(/stanza mattermost/);
  expect(() =>
    checkPointUsable(m, point, info([[REF.label, Date.parse(REF.at) / 1000 + 60]]), 'mattermost', 'w'),
  ).toThrow(/stops after the snapshot's point/);
  const e = thrown(() => checkPointUsable(m, point, info([]), 'mattermost', 'A … B'));
  expect(e.hint).toMatch(/logical dump.*restore --at a time inside the recovery window A … B/);
});

test('a reference whose point is before its backup ends, or on another timeline than the backup, is refused', () => {
  const m = parsed(manifest());
  const point = physicalPointOf(m)!;
  const stop = Date.parse(REF.backupStoppedAt) / 1000;
  // The backup's WAL ends in the point's segment or before it: fine.
  expect(() =>
    checkPointUsable(m, point, info([[REF.label, stop]], '000000010000000000000039'), 'mattermost', 'w'),
  ).not.toThrow();
  for (const end of ['00000001000000000000003B', '000000020000000000000001']) {
    const e = thrown(() => checkPointUsable(m, point, info([[REF.label, stop]], end), 'mattermost', 'w'));
    expect(e).toMatchObject({ code: 'VERIFICATION_FAILED' });
    expect(e.message).toMatch(new RegExp(`ends at ${end}: the reference does not fit the repository`));
  }
});
