/**
 * A backup's parallel reads find the packs not ready all at once, each asking the repository to
 * prepare them. They are prepared once: the marker read and written once, one staging directory.
 * Before, every caller read the marker and wrote it back; against the S3 test server, whose
 * writes replace a file in place, a read beside such a write got a body shorter than its
 * Content-Length and waited for the rest until the client's 5-minute timeout (the
 * offsite_direct e2e test's first backup, stopped in its config step).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { MARKER_KEY } from '../../src/repository/layout';
import { Repository } from '../../src/repository/repository';
import { ForwardingStorage } from '../../src/storage/forwarding_storage';
import { RetryingStorage } from '../../src/storage/retrying_storage';
import type { Body, ReadOptions } from '../../src/storage/storage';
import { useS3Server } from '../support/s3_fixture';

const s3 = useS3Server();
let work: string;

beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'prepare-once-'));
});
afterEach(() => rm(work, { recursive: true, force: true }));

/** Counts the reads and writes of the marker that reach the bucket. */
class MarkerCounter extends ForwardingStorage {
  reads = 0;
  writes = 0;
  override load<T>(key: string, consume: (body: Readable) => Promise<T>, opts?: ReadOptions): Promise<T> {
    if (key === MARKER_KEY) this.reads++;
    return super.load(key, consume, opts);
  }
  override put(key: string, body: Body, opts?: { signal?: AbortSignal }): Promise<void> {
    if (key === MARKER_KEY) this.writes++;
    return super.put(key, body, opts);
  }
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('sixteen reads at once into a bucket: the marker is read and upgraded once, every object packed', async () => {
  const counted = new MarkerCounter(s3.bucket(`prepare-once-${Date.now()}`));
  const bucket = new RetryingStorage(counted, { attempts: 2, baseDelayMs: 50, maxDelayMs: 100 });
  const stagingDir = await mkdtemp(path.join(work, 'staging-'));
  const repo = await Repository.open(bucket, { packs: true, stagingDir });
  const bodies = Array.from({ length: 16 }, (_, i) => randomBytes(200 + i * 97));
  const files = await Promise.all(
    bodies.map(async (b, i) => {
      const f = path.join(work, `f${i}`);
      await writeFile(f, b);
      return f;
    }),
  );
  const before = { reads: counted.reads, writes: counted.writes };

  const stored = await Promise.all(files.map((f, i) => repo.ingestFile(f, { size: bodies[i]?.length })));
  await repo.packs.flush();

  expect(stored.map((s) => s.sha256)).toEqual(bodies.map(sha));
  expect(stored.every((s) => s.isNew)).toBe(true);
  // Read once (its version, 1) and written once (version 2, packs), not once per caller.
  expect({ reads: counted.reads - before.reads, writes: counted.writes - before.writes }).toEqual({
    reads: 1,
    writes: 1,
  });
  // The staging directory is left empty: the pack went to the bucket.
  expect(await readdir(stagingDir)).toEqual([]);
  const reader = await Repository.open(bucket);
  for (const b of bodies) expect(await reader.readObjectBytes(sha(b))).toEqual(b);
}, 60_000);

test('a bucket repository asked for its staging directory by many callers at once makes one', async () => {
  const repo = await Repository.open(s3.bucket(`staging-once-${Date.now()}`));
  const dirs = await Promise.all(Array.from({ length: 16 }, () => repo.stagingDirectory()));
  try {
    expect(new Set(dirs).size).toBe(1);
    expect(path.basename(dirs[0] as string)).toMatch(/^mm-backup-stage-/);
  } finally {
    for (const d of new Set(dirs)) await rm(d, { recursive: true, force: true });
  }
});
