/**
 * The one contract every Storage must pass (local, S3, memory, and the decorators: retrying,
 * encrypted): atomic puts of every body kind (buffer, file, consumed file, stream factory),
 * whole reads through load, ranged reads through loadRange (and readRangeSync where offered),
 * NotFound on missing keys, ordered listing, idempotent delete,
 * streamed large objects, aborts that leave nothing visible, and keys that cannot escape the root.
 */
import { Readable } from 'node:stream';
import { randomBytes, createHash } from 'node:crypto';
import { writeFile, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { NotFoundError, StorageError } from '../../src/core/errors';
import { OutOfRangeError } from '../../src/storage/range';
import { RetryingStorage } from '../../src/storage/retrying_storage';
import {
  fileBody,
  readAll as readWhole,
  readBuffer,
  readRangeBuffer,
  streamBody,
  type Storage,
} from '../../src/storage/storage';
import { FlakyStorage } from './flaky_storage';

/** 200,000 bytes: more than one 64 KiB read of a file stream and more than one age chunk. */
const PACK_SIZE = 200_000;

/** [offset, length]: at the start, across the first 64 KiB boundary, in the middle, at the end, the whole. */
const RANGES: Array<[number, number]> = [
  [0, 1],
  [0, 1000],
  [65_000, 1000],
  [100_000, 37_123],
  [PACK_SIZE - 1000, 1000],
  [PACK_SIZE - 1, 1],
  [0, PACK_SIZE],
];

/** [offset, length] an object of PACK_SIZE bytes does not hold: partly, from its end, far beyond. */
const PAST_THE_END: Array<[number, number]> = [
  [PACK_SIZE - 1, 2],
  [PACK_SIZE, 1],
  [PACK_SIZE + 50_000, 10],
  [0, PACK_SIZE + 1],
];

async function readAll(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function keys(s: Storage, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of s.list(prefix)) out.push(o.key);
  return out;
}

export function storageContract(
  name: string,
  make: () => Promise<{ storage: Storage; cleanup(): Promise<void> }>,
): void {
  describe(`Storage contract: ${name}`, () => {
    let storage: Storage;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      const made = await make();
      storage = made.storage;
      cleanup = () => made.cleanup();
    });
    afterEach(async () => cleanup());

    test('put then get returns the same bytes; stat reports the size', async () => {
      const body = randomBytes(1000);
      await storage.put('a/b/c.bin', body);
      expect(await readAll(await storage.get('a/b/c.bin'))).toEqual(body);
      expect(await storage.stat('a/b/c.bin')).toEqual({ key: 'a/b/c.bin', size: 1000 });
    });

    test('readSmallSync, where offered, gives exactly the bytes put (never transformed ones); a missing key is NotFoundError', async () => {
      const read = storage.readSmallSync?.bind(storage);
      // Offered only by a plain local directory; a decorator that transforms bytes must not pass it on.
      expect(read !== undefined).toBe(name.startsWith('LocalStorage'));
      if (!read) return;
      const body = randomBytes(3000);
      await storage.put('objects/ab/small', body);
      expect(read('objects/ab/small', 3000)).toEqual(body);
      expect(() => read('objects/ab/small', 2999)).toThrow(/more than the 2999 expected/);
      expect(() => read('objects/ab/none', 3000)).toThrow(NotFoundError);
      expect(() => read('../escape', 3000)).toThrow(TypeError);
    });

    test('statSync, where offered, answers as stat does', async () => {
      const statSync = storage.statSync?.bind(storage);
      expect(statSync !== undefined).toBe(name.startsWith('LocalStorage'));
      if (!statSync) return;
      await storage.put('objects/ef/small', randomBytes(700));
      expect(statSync('objects/ef/small')).toEqual(await storage.stat('objects/ef/small'));
      expect(statSync('objects/ef/small')).toEqual({ key: 'objects/ef/small', size: 700 });
      expect(statSync('objects/ef/none')).toBeUndefined();
      expect(() => statSync('../escape')).toThrow(/invalid storage key/);
    });

    test('storeSmallSync, where offered, stores bytes readable by get and list, never replaces an object, and leaves no temporary file', async () => {
      const store = storage.storeSmallSync?.bind(storage);
      expect(store !== undefined).toBe(name.startsWith('LocalStorage'));
      if (!store) return;
      const body = randomBytes(2000);
      expect(store('objects/cd/small', body)).toBe(true);
      expect(await readAll(await storage.get('objects/cd/small'))).toEqual(body);
      // Keys name their content: a second store of the key writes nothing, whatever the bytes.
      expect(store('objects/cd/small', Buffer.from('other'))).toBe(false);
      expect(await readAll(await storage.get('objects/cd/small'))).toEqual(body);
      const keys: string[] = [];
      for await (const o of storage.list('')) keys.push(o.key);
      expect(keys).toEqual(['objects/cd/small']);
      expect(() => store('../escape', body)).toThrow(TypeError);
    });

    test('missing keys: get rejects with NotFoundError, stat is undefined, delete succeeds', async () => {
      await expect(storage.get('nope/x')).rejects.toBeInstanceOf(NotFoundError);
      expect(await storage.stat('nope/x')).toBeUndefined();
      await expect(storage.delete('nope/x')).resolves.toBeUndefined();
    });

    test('overwrite replaces the content completely', async () => {
      await storage.put('k', Buffer.from('a long first version'));
      await storage.put('k', Buffer.from('short'));
      expect((await readAll(await storage.get('k'))).toString()).toBe('short');
    });

    test('list yields every key under a prefix once, in lexical order, and nothing else', async () => {
      for (const k of ['snapshots/b.json', 'snapshots/a.json', 'objects/aa/1', 'objects/ab/2', 'other']) {
        await storage.put(k, Buffer.from(k));
      }
      expect(await keys(storage, 'snapshots')).toEqual(['snapshots/a.json', 'snapshots/b.json']);
      expect(await keys(storage, 'objects')).toEqual(['objects/aa/1', 'objects/ab/2']);
      expect(await keys(storage, 'missing')).toEqual([]);
    });

    test('a large streamed object round-trips intact', async () => {
      const chunks = Array.from({ length: 40 }, () => randomBytes(256 * 1024));
      const expected = createHash('sha256').update(Buffer.concat(chunks)).digest('hex');
      await storage.put(
        'big',
        streamBody(() => Readable.from(chunks)),
      );
      const got = createHash('sha256')
        .update(await readAll(await storage.get('big')))
        .digest('hex');
      expect(got).toBe(expected);
      expect((await storage.stat('big'))?.size).toBe(40 * 256 * 1024);
    });

    test('a put whose source fails midway leaves no visible object and no listed key', async () => {
      const failing = new Readable({
        read() {
          this.push(randomBytes(64 * 1024));
          this.destroy(new Error('source broke'));
        },
      });
      await expect(
        storage.put(
          'half/written',
          streamBody(() => failing),
        ),
      ).rejects.toThrow();
      expect(await storage.stat('half/written')).toBeUndefined();
      expect(await keys(storage, 'half')).toEqual([]);
    });

    test('an aborted put leaves nothing visible', async () => {
      const ac = new AbortController();
      const slow = new Readable({
        read() {
          setTimeout(() => this.push(randomBytes(1024)), 5);
        },
      });
      setTimeout(() => ac.abort(), 30);
      await expect(
        storage.put(
          'aborted',
          streamBody(() => slow),
          { signal: ac.signal },
        ),
      ).rejects.toThrow();
      expect(await storage.stat('aborted')).toBeUndefined();
    });

    test('a file body is stored whole and the file left in place; a consumed one is gone after the put', async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'contract-'));
      try {
        const src = path.join(dir, 'src');
        await writeFile(src, 'file body');
        await storage.put('files/one', fileBody(src));
        expect((await readBuffer(storage, 'files/one')).toString()).toBe('file body');
        expect((await stat(src)).size).toBe(9);
        const staged = path.join(dir, 'staged');
        await writeFile(staged, 'given up');
        await storage.put('files/two', fileBody(staged, { consume: true }));
        expect((await readBuffer(storage, 'files/two')).toString()).toBe('given up');
        await expect(stat(staged)).rejects.toMatchObject({ code: 'ENOENT' });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    test('load hands the whole object to the consumer and resolves with its result; a missing key is NotFoundError', async () => {
      await storage.put('l/one', Buffer.from('whole read'));
      expect(await storage.load('l/one', async (s) => (await readWhole(s)).toString().toUpperCase())).toBe(
        'WHOLE READ',
      );
      await expect(storage.load('l/none', readWhole)).rejects.toBeInstanceOf(NotFoundError);
    });

    test('loadRange hands the consumer exactly the bytes of the range: start, middle, end, the whole object', async () => {
      const body = randomBytes(PACK_SIZE);
      await storage.put('packs/p1', body);
      for (const [offset, length] of RANGES) {
        const got = await readRangeBuffer(storage, 'packs/p1', offset, length);
        expect({ offset, length, equal: got.equals(body.subarray(offset, offset + length)) }).toEqual({
          offset,
          length,
          equal: true,
        });
      }
      // The consumer's result is loadRange's.
      expect(await storage.loadRange('packs/p1', 10, 5, async (s) => (await readWhole(s)).toString('hex'))).toBe(
        body.subarray(10, 15).toString('hex'),
      );
    });

    test('loadRange of length 0 gives the consumer an empty stream without asking the store, even for a missing key', async () => {
      const body = randomBytes(100);
      await storage.put('packs/p0', body);
      for (const [key, offset] of [
        ['packs/p0', 0],
        ['packs/p0', 100],
        ['packs/p0', 5000],
        ['packs/none', 0],
      ] as const) {
        expect((await readRangeBuffer(storage, key, offset, 0)).length).toBe(0);
      }
      await expect(readRangeBuffer(storage, '../escape', 0, 0)).rejects.toThrow(/invalid storage key/);
    });

    test('loadRange of a range the object does not hold is a permanent OutOfRangeError, before the consumer sees a byte where the size is known', async () => {
      await storage.put('packs/p2', randomBytes(PACK_SIZE));
      await storage.put('packs/empty', Buffer.alloc(0));
      for (const [key, offset, length] of [
        ...PAST_THE_END.map(([o, l]) => ['packs/p2', o, l] as const),
        ['packs/empty', 0, 1] as const,
      ]) {
        let seen = 0;
        const err = await storage
          .loadRange(key, offset, length, async (s) => {
            for await (const c of s) seen += (c as Buffer).length;
          })
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        // A backend that knows the size refuses before calling the consumer; an encrypting one
        // finds the end by decrypting, so its consumer has had the bytes the object holds.
        const size = key === 'packs/empty' ? 0 : PACK_SIZE;
        const held = name.includes('age-encrypted') ? Math.max(0, Math.min(size, offset + length) - offset) : 0;
        expect({ key, offset, length, err, seen }).toEqual({
          key,
          offset,
          length,
          err: expect.any(OutOfRangeError),
          seen: held,
        });
        expect((err as OutOfRangeError).permanent).toBe(true);
        expect((err as OutOfRangeError).message).toContain(`bytes ${offset}-${offset + length - 1} of ${key}`);
      }
    });

    test('loadRange of a missing key is NotFoundError; a range that is not two non-negative integers is a TypeError', async () => {
      await expect(readRangeBuffer(storage, 'packs/none', 0, 10)).rejects.toBeInstanceOf(NotFoundError);
      await storage.put('packs/p3', Buffer.from('0123456789'));
      for (const [offset, length] of [
        [-1, 2] as const,
        [0, -1],
        [1.5, 2],
        [0, Number.NaN],
        [Number.MAX_SAFE_INTEGER, 2],
      ]) {
        await expect(readRangeBuffer(storage, 'packs/p3', offset, length)).rejects.toThrow(TypeError);
      }
      await expect(readRangeBuffer(storage, '../escape', 0, 1)).rejects.toThrow(/invalid storage key/);
    });

    test('loadRange calls the consumer again from the start of the range after a transient failure', async () => {
      const body = randomBytes(PACK_SIZE);
      await storage.put('packs/p4', body);
      // Whatever `storage` is, a dropped connection in front of it, and retries around that.
      const flaky = new RetryingStorage(new FlakyStorage(storage), { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 });
      const [offset, length] = [70_000, 50_000];
      const want = body.subarray(offset, offset + length);
      const calls: Array<{ got: number; fromStart: boolean; failed: boolean }> = [];
      const result = await flaky.loadRange('packs/p4', offset, length, async (s) => {
        const call = { got: 0, fromStart: true, failed: false };
        calls.push(call);
        try {
          for await (const c of s) {
            const b = c as Buffer;
            if (!b.equals(want.subarray(call.got, call.got + b.length))) call.fromStart = false;
            call.got += b.length;
          }
        } catch (err) {
          call.failed = true;
          throw err;
        }
        return call.got;
      });
      expect(result).toBe(length);
      expect(calls.length).toBeGreaterThanOrEqual(2);
      expect(calls[0]).toEqual({ got: expect.any(Number), fromStart: true, failed: true });
      expect(calls[0]?.got).toBeLessThan(length);
      expect(calls.every((c) => c.fromStart)).toBe(true);
      expect(calls.at(-1)).toEqual({ got: length, fromStart: true, failed: false });
    });

    test('a transient failure of loadRange without retries reaches the caller as a StorageError that is not permanent', async () => {
      await storage.put('packs/p5', randomBytes(1000));
      const err = await readRangeBuffer(new FlakyStorage(storage), 'packs/p5', 100, 500).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StorageError);
      expect((err as StorageError).permanent).toBe(false);
    });

    test('readRangeSync, where offered, answers as loadRange does', async () => {
      const read = storage.readRangeSync?.bind(storage);
      // Like readSmallSync: only a plain local directory; never through a decorator.
      expect(read !== undefined).toBe(name.startsWith('LocalStorage'));
      if (!read) return;
      const body = randomBytes(PACK_SIZE);
      await storage.put('packs/s1', body);
      for (const [offset, length] of RANGES) {
        expect(read('packs/s1', offset, length).equals(body.subarray(offset, offset + length))).toBe(true);
      }
      expect(read('packs/s1', PACK_SIZE + 10, 0).length).toBe(0);
      expect(read('packs/none', 0, 0).length).toBe(0);
      for (const [offset, length] of PAST_THE_END) {
        expect(() => read('packs/s1', offset, length)).toThrow(OutOfRangeError);
      }
      expect(() => read('packs/none', 0, 1)).toThrow(NotFoundError);
      expect(() => read('packs/s1', -1, 1)).toThrow(TypeError);
      expect(() => read('../escape', 0, 1)).toThrow(TypeError);
    });

    test('openRangeSync, where offered, reads many ranges of one open key as readRangeSync does', async () => {
      const open = storage.openRangeSync?.bind(storage);
      expect(open !== undefined).toBe(name.startsWith('LocalStorage'));
      if (!open) return;
      const body = randomBytes(PACK_SIZE);
      await storage.put('packs/s2', body);
      const reader = open('packs/s2');
      try {
        expect(reader.size).toBe(PACK_SIZE);
        for (const [offset, length] of RANGES) {
          expect(reader.read(offset, length).equals(body.subarray(offset, offset + length))).toBe(true);
        }
        for (const [offset, length] of PAST_THE_END) expect(() => reader.read(offset, length)).toThrow(OutOfRangeError);
        expect(() => reader.read(-1, 1)).toThrow(TypeError);
      } finally {
        reader.close();
      }
      expect(() => open('packs/none')).toThrow(NotFoundError);
      expect(() => open('../escape')).toThrow(TypeError);
    });

    test('describe names the kind and a location', () => {
      const d = storage.describe();
      expect(d.kind).toMatch(/^(local|s3|memory)$/);
      expect(d.location.length).toBeGreaterThan(0);
    });

    test.each(['../escape', '/abs', 'a/../../b', 'a//b', '', 'a/./b', 'spa ce'])(
      'rejects the unsafe key %j',
      async (key) => {
        await expect(storage.put(key, Buffer.from('x'))).rejects.toThrow(/invalid storage key/);
        await expect(storage.get(key)).rejects.toThrow(/invalid storage key/);
      },
    );
  });
}
