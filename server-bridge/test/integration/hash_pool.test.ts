/**
 * The hash pool with real worker threads and real files: digests match Node's own hashing at the
 * sizes that stress the chunking, errors come back with their fs codes, a FIFO fails instead of
 * blocking a thread, abort stops the work (and a copy's half-written file), idle workers go away,
 * and a process using the pool exits as soon as its work is done.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FileOpError } from '../../src/repository/file_op_error';
import { HashPool } from '../../src/repository/hash_pool';
import { caught } from '../support/caught';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let work: string;
const pools: HashPool[] = [];
function pool(opts: ConstructorParameters<typeof HashPool>[0] = {}): HashPool {
  const p = new HashPool(opts);
  pools.push(p);
  return p;
}
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'hash-pool-'));
});
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
  await rm(work, { recursive: true, force: true });
});

test('hash and copy agree with crypto at the sizes around the chunk size', async () => {
  const p = pool({ size: 2, chunkSize: 4096 });
  const sizes = [0, 1, 4095, 4096, 4097, 3 * 4096, 100_003];
  await Promise.all(
    sizes.map(async (n) => {
      const bytes = randomBytes(n);
      const file = path.join(work, `f${n}`);
      await writeFile(file, bytes);
      expect(await p.hash(file)).toEqual({ sha256: sha(bytes), size: n });
      const dest = path.join(work, `copy${n}`);
      expect(await p.copy(file, dest)).toEqual({ sha256: sha(bytes), size: n });
      expect((await readFile(dest)).equals(bytes)).toBe(true);
      expect((await stat(dest)).mode & 0o777).toBe(0o600);
    }),
  );
  // Two workers at most, however many calls were made at once.
  expect(p.threads).toBeLessThanOrEqual(2);
});

test('errors come back with their fs codes, and say which side failed', async () => {
  const p = pool();
  const missing = path.join(work, 'gone');
  for (const call of [p.hash(missing), p.copy(missing, path.join(work, 'x'))]) {
    const err = await caught(call);
    if (!(err instanceof FileOpError)) throw err;
    expect(err.code).toBe('ENOENT'); // what the tree walk takes for a file that vanished
    expect(err.syscall).toBe('open');
    expect(err.path).toBe(missing);
    expect(err.side).toBe('source');
  }
  const src = path.join(work, 'src');
  await writeFile(src, 'content');
  const err = await caught(p.copy(src, path.join(work, 'no-such-dir', 'dest')));
  if (!(err instanceof FileOpError)) throw err;
  expect(err.code).toBe('ENOENT');
  expect(err.side).toBe('destination');
  // An existing destination is never overwritten.
  await writeFile(path.join(work, 'taken'), 'mine');
  expect((await caught(p.copy(src, path.join(work, 'taken')))).code).toBe('EEXIST');
  expect(await readFile(path.join(work, 'taken'), 'utf8')).toBe('mine');
  // A directory is not a file.
  expect((await caught(p.hash(work))).code).toBe('EFTYPE');
});

test('a FIFO fails at once instead of blocking a worker forever', async () => {
  const p = pool({ size: 1 });
  const fifo = path.join(work, 'fifo');
  const made = spawnSync('mkfifo', [fifo]);
  expect(made.status).toBe(0);
  const started = Date.now();
  expect((await caught(p.hash(fifo))).code).toBe('EFTYPE');
  expect((await caught(p.copy(fifo, path.join(work, 'fifo-copy')))).code).toBe('EFTYPE');
  expect(existsSync(path.join(work, 'fifo-copy'))).toBe(false);
  expect(Date.now() - started).toBeLessThan(5000);
  // The single worker is free again.
  const file = path.join(work, 'after');
  await writeFile(file, 'x');
  expect((await p.hash(file)).size).toBe(1);
});

/** A sparse file: gigabytes to read and hash, next to nothing on disk. */
async function sparse(name: string, bytes: number): Promise<string> {
  const file = path.join(work, name);
  await writeFile(file, '');
  await truncate(file, bytes);
  return file;
}

test('abort stops a running copy within a chunk and removes what it had written', async () => {
  const p = pool({ size: 1 });
  const src = await sparse('huge', 8 * 1024 ** 3); // about 6 s of hashing alone on the test machine
  const dest = path.join(work, 'dest');
  const ac = new AbortController();
  const copying = p.copy(src, dest, { signal: ac.signal });
  // Under way: the copy has started writing.
  for (let i = 0; i < 200 && !((await stat(dest).catch(() => undefined))?.size ?? 0); i++) await sleep(50);
  expect((await stat(dest)).size).toBeGreaterThan(0);
  const t = Date.now();
  ac.abort();
  const err = await caught(copying);
  expect(err.name).toBe('AbortError');
  expect(err.code).toBe('ABORT_ERR');
  expect(Date.now() - t).toBeLessThan(1500);
  expect(existsSync(dest)).toBe(false);
  // The worker stopped cooperatively and takes the next job.
  const small = path.join(work, 'small');
  await writeFile(small, 'abc');
  expect((await p.hash(small)).sha256).toBe(sha(Buffer.from('abc')));
});

test('abort of a queued call: it never runs, the running one is unaffected', async () => {
  const p = pool({ size: 1 });
  const src = await sparse('big', 16 * 1024 ** 2);
  const running = p.hash(src);
  const ac = new AbortController();
  const dest = path.join(work, 'never');
  const queued = p.copy(src, dest, { signal: ac.signal });
  ac.abort();
  expect((await caught(queued)).name).toBe('AbortError');
  expect((await running).size).toBe(16 * 1024 ** 2);
  expect(existsSync(dest)).toBe(false);
  // Already aborted: rejected without queueing.
  expect((await caught(p.hash(src, { signal: ac.signal }))).name).toBe('AbortError');
});

test('a worker that does not stop in time is terminated', async () => {
  // One read and hash of 256 MiB takes far longer than the 1 ms grace: the worker cannot see the flag in time.
  const p = pool({ size: 1, chunkSize: 256 * 1024 ** 2, abortGraceMs: 1 });
  const src = await sparse('huge', 1024 ** 3);
  // The worker is started and warm first: one still starting when the abort comes sees the flag
  // before its first read and answers within the grace (a CI run under load did that).
  const warm = path.join(work, 'warm');
  await writeFile(warm, 'w'.repeat(1024 * 1024));
  await p.hash(warm);
  const ac = new AbortController();
  const hashing = p.hash(src, { signal: ac.signal });
  // Mid-way through its first chunk: reading and hashing 256 MiB takes far longer than this.
  await sleep(100);
  expect(p.threads).toBe(1);
  ac.abort();
  expect((await caught(hashing)).name).toBe('AbortError');
  expect(p.threads).toBe(0);
  // Its thread exits once the read under way returns (the kernel's call cannot be interrupted).
  await p.close();
});

test('idle workers are terminated', async () => {
  const p = pool({ size: 2, idleMs: 100 });
  const file = path.join(work, 'f');
  await writeFile(file, 'x');
  await Promise.all([p.hash(file), p.hash(file), p.hash(file)]);
  expect(p.threads).toBeGreaterThan(0);
  await sleep(400);
  expect(p.threads).toBe(0);
  // And the pool starts again on demand.
  expect((await p.hash(file)).size).toBe(1);
});

test('a process using the pool waits for its answer, then exits at once (idle workers do not hold it)', async () => {
  const dist = path.resolve(__dirname, '../../dist/repository/hash_pool.js');
  const file = path.join(work, 'data');
  const bytes = randomBytes(3 * 1024 * 1024);
  await writeFile(file, bytes);
  // Nothing but the pool keeps this process alive while it hashes; it never closes the pool.
  const script = `
    const { sharedHashPool } = require(${JSON.stringify(dist)});
    const file = ${JSON.stringify(file)};
    Promise.all([sharedHashPool().hash(file), sharedHashPool().copy(file, file + '.copy')]).then(([h, c]) => {
      console.log(JSON.stringify({ sha256: h.sha256, copied: c.sha256, at: Date.now() }));
    });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exitedAt = await new Promise<number>((resolve) => child.on('exit', () => resolve(Date.now())));
  const line = JSON.parse(out) as { sha256: string; copied: string; at: number };
  expect(line.sha256).toBe(sha(bytes));
  expect(line.copied).toBe(sha(bytes));
  // Well under the 2 s idle timeout: the idle workers did not keep it alive.
  expect(exitedAt - line.at).toBeLessThan(1000);
});

test('many calls at once: every answer is the right file', async () => {
  const p = pool({ size: 3, chunkSize: 1000 });
  await mkdir(path.join(work, 'many'));
  await mkdir(path.join(work, 'copies'));
  const files = await Promise.all(
    Array.from({ length: 300 }, async (_, i) => {
      const bytes = randomBytes(i * 37);
      const f = path.join(work, 'many', String(i));
      await writeFile(f, bytes);
      return { f, digest: sha(bytes) };
    }),
  );
  const got = await Promise.all(
    files.map(async ({ f }, i) => {
      if (i % 2) return (await p.hash(f)).sha256;
      const copied = await p.copy(f, path.join(work, 'copies', String(i)));
      expect(await readFile(path.join(work, 'copies', String(i)))).toEqual(await readFile(f));
      return copied.sha256;
    }),
  );
  got.forEach((g, i) => expect(g).toBe(files[i]?.digest));
  expect(await readdir(path.join(work, 'many'))).toHaveLength(300);
  expect(await readdir(path.join(work, 'copies'))).toHaveLength(150);
});
