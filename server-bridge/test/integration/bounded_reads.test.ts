/**
 * Repository files read whole are refused as they arrive once past their bound (read_limits.ts),
 * not buffered: someone else may have written the repository or the bucket. A 200 MB
 * repository.json in a real local repository, and a 48 MiB one in the real S3-compatible test
 * server (s3rver), are refused with an error naming the file and the bound; an object file longer
 * than its snapshot says, and an off-site pack index replaced by a huge one after its size was
 * looked at, likewise. How much was read is measured where it happens: the process's read bytes
 * (/proc/self/io rchar) for local files, the bytes the server sent through a counting proxy for S3.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { PreconditionError } from '../../src/core/errors';
import { PrefixSet } from '../../src/core/hash_set';
import { sweepOffsitePacks } from '../../src/operations/replicate_packs';
import { MARKER_KEY, objectKey, packIndexKey, packKey } from '../../src/repository/layout';
import { readMarker } from '../../src/repository/marker';
import { MAX_INDEX_FILE_BYTES } from '../../src/repository/pack_limits';
import { serializePackIndexFile } from '../../src/repository/pack_index_file';
import { FileTooLargeError, MAX_MARKER_BYTES, MAX_WHOLE_OBJECT_BYTES } from '../../src/repository/read_limits';
import { Repository } from '../../src/repository/repository';
import { ForwardingStorage } from '../../src/storage/forwarding_storage';
import { LocalStorage } from '../../src/storage/local_storage';
import type { ObjectInfo } from '../../src/storage/storage';
import { startCountingProxy, type CountingProxy } from '../support/counting_proxy';
import { useS3Server } from '../support/s3_fixture';

const HUGE = 200_000_000;
const MiB = 1024 * 1024;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bounded-reads-'));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

/** Bytes this process has read by system calls so far (Linux). */
function bytesRead(): number {
  return Number(/^rchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))?.[1]);
}

/** Runs `fn`, returning what it threw and how many bytes the process read meanwhile. */
async function measured(fn: () => Promise<unknown>): Promise<{ err: unknown; read: number }> {
  const before = bytesRead();
  const err = await fn().then(
    () => undefined,
    (e: unknown) => e,
  );
  return { err, read: bytesRead() - before };
}

test('a 200 MB repository.json is refused as it arrives: a clear error, a few KiB read, not 200 MB', async () => {
  const file = path.join(dir, MARKER_KEY);
  await writeFile(file, '{"format":"mm-backup-repository",');
  await truncate(file, HUGE); // sparse: the rest reads as zeros
  const { err, read } = await measured(async () => Repository.open(await LocalStorage.open(dir)));
  expect(err).toBeInstanceOf(PreconditionError);
  expect((err as PreconditionError).message).toBe(
    `${MARKER_KEY} at ${dir} is longer than ${MAX_MARKER_BYTES} bytes, so it is not an mm-backup repository marker (and is not read)`,
  );
  expect((err as PreconditionError).hint).toMatch(/put its repository.json back from a copy/);
  expect(read).toBeLessThan(4 * MiB);
});

test('an object file longer than its snapshot says is refused at that size, not read to its end', async () => {
  const repo = await Repository.open(await LocalStorage.open(dir), { packs: false });
  const body = randomBytes(200 * 1024);
  const obj = await repo.ingest(Readable.from([body]));
  expect((await repo.readObjectBytes(obj.sha256, { size: obj.size })).equals(body)).toBe(true);
  await truncate(path.join(dir, ...objectKey(obj.sha256).split('/')), HUGE);
  const { err, read } = await measured(() => repo.readObjectBytes(obj.sha256, { size: obj.size }));
  expect(err).toBeInstanceOf(FileTooLargeError);
  expect((err as FileTooLargeError).message).toBe(
    `${objectKey(obj.sha256)} is longer than ${obj.size} bytes (the size its snapshot gives it), so it is not read`,
  );
  expect(read).toBeLessThan(4 * MiB);
});

test('a snapshot naming a huge size does not lift the bound: read whole only up to MAX_WHOLE_OBJECT_BYTES', async () => {
  const repo = await Repository.open(await LocalStorage.open(dir), { packs: false });
  const obj = await repo.ingest(Readable.from([randomBytes(1000)]));
  await truncate(path.join(dir, ...objectKey(obj.sha256).split('/')), HUGE);
  const { err, read } = await measured(() => repo.readObjectBytes(obj.sha256, { size: 9e15 }));
  expect(err).toBeInstanceOf(FileTooLargeError);
  expect((err as FileTooLargeError).message).toBe(
    `${objectKey(obj.sha256)} is longer than ${MAX_WHOLE_OBJECT_BYTES} bytes (read whole only up to that), so it is not read`,
  );
  expect(read).toBeLessThan(MAX_WHOLE_OBJECT_BYTES + 4 * MiB);
});

/** A writer racing the sweep: the index file is made huge just after its size was looked at. */
class GrowsAfterStat extends ForwardingStorage {
  constructor(
    private readonly local: LocalStorage,
    private readonly grow: string,
  ) {
    super(local);
  }

  override async stat(key: string): Promise<ObjectInfo | undefined> {
    const info = await this.inner.stat(key);
    if (key === this.grow) await truncate(path.join(this.local.root, ...key.split('/')), HUGE);
    return info;
  }
}

test('an off-site pack index that grows to 200 MB after its stat is refused by the sweep as it arrives, the pack kept', async () => {
  const local = await LocalStorage.open(path.join(dir, 'local'));
  const off = await LocalStorage.open(path.join(dir, 'off'));
  const content = Buffer.from('one packed object');
  const pack = createHash('sha256').update(content).digest('hex');
  const object = createHash('sha256').update(content).digest('hex');
  await off.put(packKey(pack), content);
  const index = serializePackIndexFile({
    pack,
    size: content.length,
    objects: [{ sha256: object, offset: 0, size: content.length }],
  });
  await off.put(packIndexKey(pack), Buffer.from(index));

  const { err, read } = await measured(async () => {
    const r = await sweepOffsitePacks(local, new GrowsAfterStat(off, packIndexKey(pack)), new PrefixSet(), {
      readIndexes: true,
    });
    expect(r.removed).toBe(0);
    expect(r.kept).toEqual([
      { pack, why: `pack index ${pack.slice(0, 12)}… is not valid: more than ${MAX_INDEX_FILE_BYTES} bytes` },
    ]);
  });
  expect(err).toBeUndefined();
  expect(read).toBeLessThan(MAX_INDEX_FILE_BYTES + 8 * MiB);
  expect(await off.stat(packKey(pack))).toBeDefined();
});

describe('in a bucket', () => {
  const s3 = useS3Server();
  let proxy: CountingProxy;
  beforeAll(async () => {
    proxy = await startCountingProxy(s3.server.endpoint);
  });
  afterAll(async () => proxy?.close());

  test('a 48 MiB repository.json is refused as it arrives: far fewer bytes come from the server', async () => {
    const storage = s3.bucket(`r-${randomBytes(4).toString('hex')}`, proxy.endpoint);
    const size = 48 * MiB;
    await storage.put(
      MARKER_KEY,
      Buffer.concat([Buffer.from('{"format":"mm-backup-repository",'), Buffer.alloc(size)]),
    );
    proxy.reset();
    const err = await readMarker(storage).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PreconditionError);
    expect((err as PreconditionError).message).toMatch(
      new RegExp(
        `^repository.json at .* is longer than ${MAX_MARKER_BYTES} bytes, so it is not an mm-backup repository marker`,
      ),
    );
    // What the server sent before the connection was dropped: socket buffers, not the object.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(proxy.received()).toBeLessThan(16 * MiB);
  });
});
