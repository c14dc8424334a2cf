// A pack's index file is hostile input (whoever can write the bucket can write it): every lie
// about the pack's layout is refused whole, with the problem named, before a reader cuts slices.
import { createHash } from 'node:crypto';
import {
  PackIndexError,
  parsePackIndexFile,
  serializePackIndexFile,
  type PackIndexFile,
  type PackIndexProblem,
} from '../../src/repository/pack_index_file';
import { MAX_INDEX_FILE_BYTES, MAX_PACK_OBJECTS, MAX_PACKED_OBJECT } from '../../src/repository/pack_limits';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const PACK = sha('the pack');

/** A valid index of three objects of 5, 0 and 7 bytes, as a plain document to spoil. */
function doc(): Record<string, unknown> & { objects: Array<Record<string, unknown>> } {
  return {
    format: 'mm-backup-pack-index',
    version: 1,
    pack: PACK,
    size: 12,
    objects: [
      { sha256: sha('a'), offset: 0, size: 5 },
      { sha256: sha('b'), offset: 5, size: 0 },
      { sha256: sha('c'), offset: 5, size: 7 },
    ],
  };
}

function problemOf(text: string | Buffer, pack = PACK): PackIndexProblem {
  try {
    parsePackIndexFile(text, pack);
  } catch (err) {
    expect(err).toBeInstanceOf(PackIndexError);
    expect((err as PackIndexError).code).toBe('VERIFICATION_FAILED');
    expect((err as PackIndexError).pack).toBe(pack);
    return (err as PackIndexError).problem;
  }
  throw new Error('expected the index to be refused');
}

const spoiled = (f: (d: ReturnType<typeof doc>) => void): string => {
  const d = doc();
  f(d);
  return JSON.stringify(d);
};

test('a valid index parses, and serialize/parse round-trips it exactly', () => {
  const parsed = parsePackIndexFile(JSON.stringify(doc()), PACK);
  expect(parsed).toEqual({ pack: PACK, size: 12, objects: doc().objects });
  const text = serializePackIndexFile(parsed);
  expect(text.startsWith('{"format":"mm-backup-pack-index","version":1,"pack":')).toBe(true);
  expect(parsePackIndexFile(Buffer.from(text), PACK)).toEqual(parsed);
});

test('format, version, keys and the pack name are exact', () => {
  expect(problemOf('not json')).toBe('not-json');
  expect(problemOf('[]')).toBe('format');
  expect(problemOf('null')).toBe('format');
  expect(
    problemOf(
      spoiled((d) => {
        d.format = 'restic';
      }),
    ),
  ).toBe('format');
  expect(
    problemOf(
      spoiled((d) => {
        d.version = 2;
      }),
    ),
  ).toBe('format');
  expect(
    problemOf(
      spoiled((d) => {
        d.extra = 1;
      }),
    ),
  ).toBe('format');
  expect(problemOf(spoiled((d) => delete d.size))).toBe('format');
  expect(problemOf(JSON.stringify(doc()).replace('{"format"', '{"__proto__":{},"format"'))).toBe('format');
  expect(
    problemOf(
      spoiled((d) => {
        d.size = -1;
      }),
    ),
  ).toBe('format');
  expect(
    problemOf(
      spoiled((d) => {
        d.size = 12.5;
      }),
    ),
  ).toBe('format');
  expect(
    problemOf(
      spoiled((d) => {
        d.size = '12';
      }),
    ),
  ).toBe('format');
  expect(
    problemOf(
      spoiled((d) => {
        d.objects = [];
      }),
    ),
  ).toBe('format');
  // Another pack's index copied under this name: its offsets would cut the wrong file.
  expect(
    problemOf(
      spoiled((d) => {
        d.pack = sha('another');
      }),
    ),
  ).toBe('pack-name');
  expect(problemOf(JSON.stringify(doc()), sha('another'))).toBe('pack-name');
});

test('each object: exact keys, a lowercase hex sha, whole sizes within the packable maximum', () => {
  expect(
    problemOf(
      spoiled((d) => {
        d.objects[0]!.sha256 = sha('a').toUpperCase();
      }),
    ),
  ).toBe('bad-object');
  expect(
    problemOf(
      spoiled((d) => {
        d.objects[0]!.sha256 = `${sha('a').slice(0, 63)}g`;
      }),
    ),
  ).toBe('bad-object');
  expect(
    problemOf(
      spoiled((d) => {
        d.objects[0]!.sha256 = sha('a').slice(0, 40);
      }),
    ),
  ).toBe('bad-object');
  expect(
    problemOf(
      spoiled((d) => {
        d.objects[0]!.sha256 = `../../${sha('a').slice(6)}`;
      }),
    ),
  ).toBe('bad-object');
  expect(
    problemOf(
      spoiled((d) => {
        d.objects[1]!.extra = true;
      }),
    ),
  ).toBe('bad-object');
  expect(
    problemOf(
      spoiled((d) => {
        d.objects[1]!.offset = '5';
      }),
    ),
  ).toBe('bad-object');
  expect(
    problemOf(
      spoiled((d) => {
        d.objects[2]!.size = -7;
      }),
    ),
  ).toBe('bad-object');
  const big = spoiled((d) => {
    d.objects[2]!.size = MAX_PACKED_OBJECT + 1;
    d.size = 5 + MAX_PACKED_OBJECT + 1;
  });
  expect(problemOf(big)).toBe('bad-object');
  const atMax = spoiled((d) => {
    d.objects[2]!.size = MAX_PACKED_OBJECT;
    d.size = 5 + MAX_PACKED_OBJECT;
  });
  expect(parsePackIndexFile(atMax, PACK).size).toBe(5 + MAX_PACKED_OBJECT);
});

test('objects must lie back to back from 0 to the pack size: overlaps, gaps and a wrong total are refused', () => {
  expect(
    problemOf(
      spoiled((d) => {
        d.objects[2]!.offset = 4;
      }),
    ),
  ).toBe('layout'); // overlap
  expect(
    problemOf(
      spoiled((d) => {
        d.objects[2]!.offset = 6;
      }),
    ),
  ).toBe('layout'); // gap
  expect(
    problemOf(
      spoiled((d) => {
        d.objects[0]!.offset = 1;
      }),
    ),
  ).toBe('layout'); // not from 0
  expect(problemOf(spoiled((d) => d.objects.reverse()))).toBe('layout'); // not in offset order
  expect(
    problemOf(
      spoiled((d) => {
        d.size = 13;
      }),
    ),
  ).toBe('layout'); // a tail nobody owns
  expect(
    problemOf(
      spoiled((d) => {
        d.size = 11;
      }),
    ),
  ).toBe('layout'); // the last object past the end
});

test('a sha twice in one index is refused', () => {
  expect(
    problemOf(
      spoiled((d) => {
        d.objects[2]!.sha256 = sha('a');
      }),
    ),
  ).toBe('duplicate');
});

test('size bounds: a file over the byte limit is refused before parsing, an index over the object limit too', () => {
  expect(problemOf(Buffer.alloc(MAX_INDEX_FILE_BYTES + 1, 0x20))).toBe('too-large');
  const many: PackIndexFile = {
    pack: PACK,
    size: 0,
    objects: Array.from({ length: MAX_PACK_OBJECTS + 1 }, (_, i) => ({ sha256: sha(String(i)), offset: 0, size: 0 })),
  };
  // Compact enough to stay under the byte limit, so the count check is what refuses it.
  const text = serializePackIndexFile(many);
  expect(Buffer.byteLength(text)).toBeLessThan(MAX_INDEX_FILE_BYTES);
  expect(problemOf(text)).toBe('too-many');
});
