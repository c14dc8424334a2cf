/**
 * A snapshot exists from the moment its manifest is committed, so every object it names must be
 * durable before that. Objects are staged by the repository and given up to the storage as
 * consumed file bodies, renamed in without an fsync each (one syncfs instead); they only become
 * durable at the repository's next sync(). The manifest itself is renamed in the same way, after a
 * sync that covers it and before one that makes the rename durable. The real LocalStorage and Repository do the work here;
 * an observing decorator and a recording wrapper around sync() only record the order of durable
 * operations, which is what a crash would expose and what no read-back after a clean run can see.
 */
import { dataManifest, materialize } from '../support/manifests';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { LocalStorage } from '../../src/storage/local_storage';
import { isFileBody, type Body, type Storage } from '../../src/storage/storage';
import { Repository } from '../../src/repository/repository';
import { objectKey } from '../../src/repository/layout';

type Op = { op: 'object-pending' | 'object-durable' | 'flush' | 'commit'; key: string; consumed?: boolean };

/** Forwards everything to the real storage; records what became durable, and when. */
function observed(inner: Storage): { storage: Storage; ops: Op[] } {
  const ops: Op[] = [];
  const storage = new Proxy(inner, {
    get(target, prop, receiver) {
      const real = Reflect.get(target, prop, receiver);
      if (typeof real !== 'function') return real;
      if (prop === 'put') {
        return async (key: string, body: Body, ...rest: unknown[]) => {
          await real.call(target, key, body, ...rest);
          // A consumed file is renamed in as it is: durable only once the filesystem is synced.
          // Any other put is durable when it resolves (fsync + rename + directory fsync).
          const consumed = isFileBody(body) && body.consume === true;
          if (key.startsWith('snapshots/') && key.endsWith('.json')) ops.push({ op: 'commit', key, consumed });
          else ops.push({ op: consumed ? 'object-pending' : 'object-durable', key });
        };
      }
      return real.bind(target);
    },
  });
  return { storage, ops };
}

test('every object a manifest names is durable (flushed) before the manifest is committed', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'durability-'));
  try {
    const { storage, ops } = observed(await LocalStorage.open(dir));
    const repo = await Repository.open(storage);
    const sync = repo.sync.bind(repo);
    repo.sync = async () => {
      // What the sync covers: whether the manifest to commit is already written in the staging directory.
      const staged = (await readdir(await repo.stagingDirectory())).some((n) => n.startsWith('manifest-'));
      await sync();
      ops.push({ op: 'flush', key: staged ? 'manifest-staged' : '' });
    };
    const small = path.join(dir, 'small.txt');
    await writeFile(small, 'a small attachment');
    const stored = [
      await repo.ingest(Readable.from([Buffer.alloc(300_000, 7)])),
      await repo.ingestFile(small, { size: 18 }),
    ];
    expect(stored.every((s) => s.isNew)).toBe(true);
    await repo.writeSnapshot(dataManifest('20260101T000000Z-aaaaaa', stored));

    const commit = ops.findIndex((o) => o.op === 'commit');
    expect(commit).toBeGreaterThan(0);
    // The manifest is renamed in (no copy of it): its bytes were synced before (the flush the objects
    // need comes after it was written), and the rename itself is synced before writeSnapshot resolves.
    expect(ops[commit]?.consumed).toBe(true);
    expect(ops.slice(0, commit).some((o) => o.op === 'flush' && o.key === 'manifest-staged')).toBe(true);
    expect(ops.slice(commit + 1).map((o) => o.op)).toEqual(['flush']);
    for (const s of stored) {
      const key = objectKey(s.sha256);
      const written = ops.findIndex((o) => o.key === key);
      expect(written).toBeGreaterThanOrEqual(0);
      expect(written).toBeLessThan(commit);
      if (ops[written]!.op === 'object-pending') {
        // A deferred write needs a completed flush after it and before the commit.
        const flushed = ops.slice(written + 1, commit).some((o) => o.op === 'flush');
        expect({ key, flushedBeforeCommit: flushed }).toEqual({ key, flushedBeforeCommit: true });
      }
    }
    // The snapshot is really there, naming what was stored.
    expect((await materialize(await repo.loadSnapshot('latest'))).components[0]?.entries.map((e) => e.sha256)).toEqual(
      stored.map((s) => s.sha256),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
