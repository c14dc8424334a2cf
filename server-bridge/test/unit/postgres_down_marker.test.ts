/** The "PostgreSQL left down" marker on real files: its mode, `since` kept across writes, and what is not ours. */
import { mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTempDir, removeTempDir } from '@mm-backup/testkit';
import {
  clearPostgresDownMarker,
  postgresDownFile,
  readPostgresDownMarker,
  writePostgresDownMarker,
} from '../../src/jobs/postgres_down_marker';

let dir: string;
let key: string;
beforeEach(async () => {
  dir = await makeTempDir('pgdown-');
  key = path.join(dir, 'signing.key');
});
afterEach(async () => removeTempDir(dir));

test('written 0600 beside the key; a rewrite keeps the first `since`; cleared; no key: nothing', async () => {
  await writePostgresDownMarker(key, { reason: 'first', autoStart: true });
  const file = postgresDownFile(key) as string;
  expect(path.dirname(file)).toBe(dir);
  expect((await stat(file)).mode & 0o777).toBe(0o600);
  const a = await readPostgresDownMarker(key);
  expect(a).toMatchObject({ reason: 'first', autoStart: true, readable: true });
  await new Promise((r) => setTimeout(r, 5));
  await writePostgresDownMarker(key, { reason: 'second', autoStart: false });
  const b = await readPostgresDownMarker(key);
  expect(b).toMatchObject({ since: a?.since, reason: 'second', autoStart: false, readable: true });
  await clearPostgresDownMarker(key);
  expect(await readPostgresDownMarker(key)).toBeUndefined();
  await clearPostgresDownMarker(key); // already gone: fine
  await writePostgresDownMarker(undefined, { reason: 'x', autoStart: true });
  expect(await readPostgresDownMarker(undefined)).toBeUndefined();
});

test.each([
  ['not JSON', (f: string) => writeFile(f, '{'), /is not JSON/],
  [
    'another field',
    (f: string) =>
      writeFile(f, JSON.stringify({ since: new Date().toISOString(), reason: 'r', autoStart: true, dataDir: '/x' })),
    /expected form/,
  ],
  [
    'since not a time',
    (f: string) => writeFile(f, JSON.stringify({ since: 'yesterday', reason: 'r', autoStart: true })),
    /expected form/,
  ],
  ['too big', (f: string) => writeFile(f, ' '.repeat(20_000)), /larger than/],
  ['a link', (f: string) => symlink('/etc/hostname', f), /symbolic link/],
  ['a directory', (f: string) => mkdir(f), /not a regular file/],
])('%s: shown as unreadable, never to be acted on', async (_name, plant, why) => {
  const file = postgresDownFile(key) as string;
  await plant(file);
  const m = await readPostgresDownMarker(key);
  expect(m).toMatchObject({ readable: false, autoStart: false, since: '' });
  expect(m?.reason).toMatch(why);
});

test('a directory in its place cannot be cleared: the error says so (the caller reports it)', async () => {
  await mkdir(postgresDownFile(key) as string);
  await expect(clearPostgresDownMarker(key)).rejects.toThrow();
});

test('a rewrite over an unreadable marker starts a new `since`, and the file is JSON again', async () => {
  const file = postgresDownFile(key) as string;
  await writeFile(file, 'garbage');
  await writePostgresDownMarker(key, { reason: 'r', autoStart: true });
  expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ since: expect.any(String), reason: 'r', autoStart: true });
});
