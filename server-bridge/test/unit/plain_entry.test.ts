/**
 * isPlainEntry, the zod-free check of a manifest entry, never accepts what entrySchema refuses,
 * over every valid entry shape and thousands of hostile variations of them (each field given
 * each odd value, keys added and removed, JSON's own oddities), and accepts the valid ones, so
 * that it is the path a load takes.
 */
import { checkEntry, entrySchema, isPlainEntry } from '../../src/manifest/manifest';

const SHA = 'ab'.repeat(32);
const bases: Array<Record<string, unknown>> = [
  { path: '', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: '1700000000123456789' },
  {
    path: '20261206/teams/t/channels/c/users/u/f/a.jpg',
    type: 'file',
    mode: 0o644,
    uid: 998,
    gid: 998,
    mtime: '1',
    size: 0,
    sha256: SHA,
    ino: 12,
  },
  { path: 'l', type: 'symlink', mode: 0o777, uid: 1, gid: 2, mtime: '0', target: '../x', ino: 3 },
  { path: 'd\\..x/ü "q"', type: 'dir', mode: 0o7777, uid: 2 ** 32, gid: 5, mtime: '99', size: 4096 },
];

const odd: unknown[] = [
  undefined,
  null,
  true,
  0,
  -0,
  -1,
  1.5,
  0o7777,
  0o10000,
  2 ** 53 - 1,
  2 ** 53,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  '',
  '0',
  '12a',
  ' 1',
  '-1',
  'file',
  'dir',
  'symlink',
  'other',
  SHA,
  SHA.toUpperCase(),
  `${SHA}0`,
  'a/../b',
  '/abs',
  'a//b',
  'a/',
  './a',
  'a\0b',
  'a\\..\\b',
  [],
  ['file'],
  {},
  { valueOf: () => 1 },
  Object.create(null),
  Object(1) as unknown,
  Object('file') as unknown,
];

function variants(): unknown[] {
  const out: unknown[] = [];
  for (const base of bases) {
    out.push(base);
    for (const key of [...Object.keys(bases[1] as object), 'target', 'extra', '__proto__', 'constructor']) {
      for (const v of odd) out.push({ ...base, [key]: v });
      out.push(Object.fromEntries(Object.entries(base).filter(([k]) => k !== key)));
    }
    // JSON's own: a "__proto__" key is an own property there, and a duplicate key keeps the last.
    const json = JSON.stringify(base);
    out.push(JSON.parse(`{"__proto__":{"x":1},${json.slice(1)}`));
    out.push(JSON.parse(`${json.slice(0, -1)},"type":"socket"}`));
    out.push(JSON.parse(json));
    out.push(Object.assign(Object.create({ inherited: 1 }), base));
    out.push(Object.assign(Object.create(null), base));
    out.push(Object.defineProperty({ ...base }, 'hidden', { value: 1, enumerable: false }));
    out.push({ ...base, [Symbol('s')]: 1 });
  }
  out.push(...odd);
  return out;
}

test('never accepts what entrySchema refuses, and accepts every valid base shape', () => {
  const all = variants();
  expect(all.length).toBeGreaterThan(1500);
  let fast = 0;
  for (const v of all) {
    const schema = entrySchema.safeParse(v).success;
    if (isPlainEntry(v)) {
      fast++;
      if (!schema) throw new Error(`accepted what the schema refuses: ${JSON.stringify(v) ?? typeof v}`);
    }
    // checkEntry answers as the schema does, whichever path it takes.
    expect(checkEntry(v).success).toBe(schema);
  }
  for (const b of bases) expect(isPlainEntry(JSON.parse(JSON.stringify(b)))).toBe(true);
  // Most valid variations take the fast path too (a value of the right kind in the right range).
  expect(fast).toBeGreaterThan(200);
});

test('an accepted entry is returned as it is (the load keeps the line it read)', () => {
  const e = JSON.parse(JSON.stringify(bases[1])) as unknown;
  const r = checkEntry(e);
  expect(r.success && r.data).toBe(e);
});
