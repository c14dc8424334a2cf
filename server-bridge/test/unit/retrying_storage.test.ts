/**
 * RetryingStorage over a flaky network double (test/support/flaky_storage.ts) in front of the
 * in-memory storage: every body kind is replayed after a transient failure, a whole read that
 * breaks midway is read again from the start, and permanent errors are not retried.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { NotFoundError, StorageError } from '../../src/core/errors';
import { MemoryStorage } from '../../src/storage/memory_storage';
import { RetryingStorage } from '../../src/storage/retrying_storage';
import { EncryptedStorage } from '../../src/storage/encrypted_storage';
import { fileBody, readAll, readBuffer, streamBody, type Body } from '../../src/storage/storage';
import { Repository } from '../../src/repository/repository';
import { objectKey } from '../../src/repository/layout';
import { FlakyStorage } from '../support/flaky_storage';

const policy = { attempts: 4, baseDelayMs: 1, maxDelayMs: 4 };
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'retry-'));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

function stack(failures = 2) {
  const memory = new MemoryStorage();
  const flaky = new FlakyStorage(memory, failures);
  return { memory, flaky, storage: new RetryingStorage(flaky, policy) };
}

const content = randomBytes(200_000);

test.each<[string, () => Promise<Body>]>([
  ['a buffer', async () => content],
  [
    'a file',
    async () => {
      await writeFile(path.join(dir, 'f'), content);
      return fileBody(path.join(dir, 'f'));
    },
  ],
  [
    'a consumed (staged) file',
    async () => {
      await writeFile(path.join(dir, 'f'), content);
      return fileBody(path.join(dir, 'f'), { consume: true });
    },
  ],
  [
    'a stream factory',
    async () => streamBody(() => Readable.from([content.subarray(0, 1000), content.subarray(1000)])),
  ],
])('a put of %s is retried after transient failures, and the whole body arrives', async (_kind, body) => {
  const { memory, flaky, storage } = stack(2);
  await storage.put('objects/ab/x', await body());
  expect(flaky.attempts.get('put objects/ab/x')).toBe(3);
  expect((await readBuffer(memory, 'objects/ab/x')).equals(content)).toBe(true);
});

test('a whole read that breaks midway is read again from the start (load, readBuffer)', async () => {
  const { memory, flaky, storage } = stack(2);
  await memory.put('k', content);
  const got = await readBuffer(storage, 'k');
  expect(flaky.attempts.get('load k')).toBe(3);
  expect(got.equals(content)).toBe(true); // no half read twice
});

test('a restore copy whose read breaks midway starts the file and the hash over (Repository.copyObjectTo)', async () => {
  const { flaky, storage } = stack(1);
  const repo = await Repository.open(storage, { stagingDir: dir });
  const stored = await repo.ingest(Readable.from([content]));
  const dest = path.join(dir, 'restored.bin');
  await repo.copyObjectTo(stored.sha256, dest);
  expect(flaky.attempts.get(`load ${objectKey(stored.sha256)}`)).toBe(2);
  expect(
    createHash('sha256')
      .update(await readFile(dest))
      .digest('hex'),
  ).toBe(stored.sha256);
});

test('without retries the same broken read fails: the double really breaks reads', async () => {
  const memory = new MemoryStorage();
  await memory.put('k', content);
  await expect(readBuffer(new FlakyStorage(memory, 1), 'k')).rejects.toBeInstanceOf(StorageError);
});

test("a stream get is retried until it opens; its bytes are then the reader's", async () => {
  const { memory, flaky, storage } = stack(2);
  await memory.put('k', content);
  expect((await readAll(await storage.get('k'))).equals(content)).toBe(true);
  expect(flaky.attempts.get('get k')).toBe(3);
});

test('permanent errors are not retried: a missing key, a put that cannot be encrypted', async () => {
  const { flaky, storage } = stack(0);
  await expect(readBuffer(storage, 'missing')).rejects.toBeInstanceOf(NotFoundError);
  expect(flaky.attempts.get('load missing')).toBe(1);
  const noRecipient = new FlakyStorage(
    new EncryptedStorage(new MemoryStorage(), { recipients: [], identities: [] }),
    0,
  );
  await expect(new RetryingStorage(noRecipient, policy).put('objects/ab/y', content)).rejects.toMatchObject({
    permanent: true,
  });
  expect(noRecipient.attempts.get('put objects/ab/y')).toBe(1);
});

test('transient failures beyond the attempts fail with the last error', async () => {
  const { flaky, storage } = stack(10);
  await expect(storage.put('k', content)).rejects.toThrow(/connection reset/);
  expect(flaky.attempts.get('put k')).toBe(policy.attempts);
});

test('a repository on memory: staged objects are consumed, leftovers cleaned, snapshots written and listed', async () => {
  const repo = await Repository.open(new MemoryStorage(), { stagingDir: dir });
  const a = await repo.ingest(Readable.from([Buffer.from('one')]));
  const again = await repo.ingest(Readable.from([Buffer.from('one')]));
  expect([a.isNew, again.isNew]).toEqual([true, false]);
  await writeFile(path.join(dir, 'left-over'), 'x');
  // At least the left-over: cleanStaging also removes spool directories that dead processes left
  // in the shared temp directory, and other test processes (killed on purpose) leave some there.
  expect(await repo.cleanStaging()).toBeGreaterThanOrEqual(1);
  await expect(stat(path.join(dir, 'left-over'))).rejects.toMatchObject({ code: 'ENOENT' });
  expect(await repo.space()).toBeUndefined(); // no local disk to report
  expect(await repo.snapshotIds()).toEqual([]);
});
