/**
 * The one contract every Storage must pass (local now, S3 later): atomic puts, NotFound on
 * missing keys, ordered listing, idempotent delete, streamed large objects, aborts that leave
 * nothing visible, and keys that cannot escape the root.
 */
import { Readable } from 'node:stream';
import { randomBytes, createHash } from 'node:crypto';
import { writeFile, mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { NotFoundError } from '../../src/core/errors';
import type { Storage } from '../../src/storage/storage';

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

export function storageContract(name: string, make: () => Promise<{ storage: Storage; cleanup(): Promise<void> }>): void {
  describe(`Storage contract: ${name}`, () => {
    let storage: Storage;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ storage, cleanup } = await make());
    });
    afterEach(async () => cleanup());

    test('put then get returns the same bytes; stat reports the size', async () => {
      const body = randomBytes(1000);
      await storage.put('a/b/c.bin', body);
      expect(await readAll(await storage.get('a/b/c.bin'))).toEqual(body);
      expect(await storage.stat('a/b/c.bin')).toEqual({ key: 'a/b/c.bin', size: 1000 });
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
      for (const k of ['snapshots/b.json', 'snapshots/a.json', 'objects/aa/1', 'objects/ab/2', 'other']) await storage.put(k, Buffer.from(k));
      expect(await keys(storage, 'snapshots')).toEqual(['snapshots/a.json', 'snapshots/b.json']);
      expect(await keys(storage, 'objects')).toEqual(['objects/aa/1', 'objects/ab/2']);
      expect(await keys(storage, 'missing')).toEqual([]);
    });

    test('a large streamed object round-trips intact', async () => {
      const chunks = Array.from({ length: 40 }, () => randomBytes(256 * 1024));
      const expected = createHash('sha256').update(Buffer.concat(chunks)).digest('hex');
      await storage.put('big', Readable.from(chunks));
      const got = createHash('sha256').update(await readAll(await storage.get('big'))).digest('hex');
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
      await expect(storage.put('half/written', failing)).rejects.toThrow();
      expect(await storage.stat('half/written')).toBeUndefined();
      expect(await keys(storage, 'half')).toEqual([]);
    });

    test('an aborted put leaves nothing visible', async () => {
      const ac = new AbortController();
      const slow = new Readable({ read() { setTimeout(() => this.push(randomBytes(1024)), 5); } });
      setTimeout(() => ac.abort(), 30);
      await expect(storage.put('aborted', slow, { signal: ac.signal })).rejects.toThrow();
      expect(await storage.stat('aborted')).toBeUndefined();
    });

    test('putFile and getFile copy whole files', async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'contract-'));
      const src = path.join(dir, 'src');
      await writeFile(src, 'file body');
      await storage.putFile('files/one', src);
      await storage.getFile('files/one', path.join(dir, 'dest'));
      expect(await readFile(path.join(dir, 'dest'), 'utf8')).toBe('file body');
      expect(await readFile(src, 'utf8')).toBe('file body');
    });

    test.each(['../escape', '/abs', 'a/../../b', 'a//b', '', 'a/./b', 'spa ce'])('rejects the unsafe key %j', async (key) => {
      await expect(storage.put(key, Buffer.from('x'))).rejects.toThrow(/invalid storage key/);
      await expect(storage.get(key)).rejects.toThrow(/invalid storage key/);
    });

    test('flush succeeds and keeps everything readable', async () => {
      await storage.put('x/y', Buffer.from('durable'));
      await storage.flush();
      expect((await readAll(await storage.get('x/y'))).toString()).toBe('durable');
    });
  });
}
