/**
 * The restore drill's scratch directory: a drill directory pg_ctl's shell could misread, one too
 * long for a unix socket, or one that is not a directory (a file, a link to a file, missing) is
 * refused before anything is created in it.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PreconditionError } from '../../src/core/errors';
import { DrillCluster } from '../../src/database/pgbackrest/drill_cluster';

const account = { name: 'nobody', uid: 65534, gid: 65534, home: '/' };
let root: string;
beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'drill-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

test.each(['with "quote"', 'with $HOME', 'with `tick`', "with 'single'", 'with space'])(
  'a drill directory %j is refused, nothing created',
  async (name) => {
    const dir = path.join(root, name);
    mkdirSync(dir);
    await expect(DrillCluster.create(dir, account, '/usr/bin')).rejects.toThrow(/characters pg_ctl cannot take/);
    expect(readdirSync(dir)).toEqual([]);
  },
);

test('a path too long for a unix socket is refused', async () => {
  const dir = path.join(root, 'x'.repeat(80));
  mkdirSync(dir);
  await expect(DrillCluster.create(dir, account, '/usr/bin')).rejects.toThrow(/too long for a unix socket path/);
  expect(readdirSync(dir)).toEqual([]);
});

test('a missing directory, a file and a link to a file are refused', async () => {
  const file = path.join(root, 'file');
  writeFileSync(file, '');
  symlinkSync(file, path.join(root, 'link'));
  for (const p of [path.join(root, 'missing'), file, path.join(root, 'link')]) {
    await expect(DrillCluster.create(p, account, '/usr/bin')).rejects.toBeInstanceOf(PreconditionError);
  }
});

test('a good directory gets one scratch directory of its own, owned by the account, 0700', async () => {
  const dir = path.join(root, 'good');
  mkdirSync(dir);
  const c = await DrillCluster.create(dir, account, '/usr/bin');
  expect(path.dirname(c.dir)).toBe(dir);
  expect(path.basename(c.dir)).toMatch(/^mm-backup-drill-[A-Za-z0-9]{6}$/);
  expect(c.port).toBeGreaterThan(0);
  // Run as root (as physical mode is): the directory is handed to the account.
  const st = statSync(c.dir);
  expect({ uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 }).toEqual({ uid: 65534, gid: 65534, mode: 0o700 });
  // Its tablespaces' directory beside it (pgBackRest refuses one inside the data directory), alike.
  expect(c.tablespaceDir).toBe(`${c.dir}-tablespaces`);
  const ts = statSync(c.tablespaceDir);
  expect({ uid: ts.uid, gid: ts.gid, mode: ts.mode & 0o7777 }).toEqual({ uid: 65534, gid: 65534, mode: 0o700 });
});
