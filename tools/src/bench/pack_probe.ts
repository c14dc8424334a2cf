/**
 * The pack probe (docs/performance.md "Packs: measured"): on real files on this disk, N small
 * objects stored (A) as the repository stores them today, one objects/<ab>/<sha256> file each
 * (LocalStorage.storeSmallSync: a staged write and a rename, what Repository.ingestSmallSync does
 * after reading the source), against (B) appended to packs with PackWriter.addSync and stored with
 * their indexes (storePack); each followed by the repository's one `sync -f`; then read back, (A)
 * readSmallSync per object, (B) the pack index loaded and a pread per object, every object checked
 * against its SHA-256 in both. Payloads are generated and hashed in memory beforehand: reading the
 * source files costs the same either way and is left out. Runs are interleaved ABBA; ratios within
 * a pair are what count on a shared machine, the load average is printed with each run.
 *
 *   node tools/dist/bench/pack_probe.js [--files 100000] [--min 120] [--max 6144] [--pairs 2]
 *        [--dir /var/tmp] [--cold] [--index 1000000]
 *
 * --cold drops the page cache before each read phase (root only; slows every process on the
 * machine for a moment). --index N instead measures the pack index's build time and memory for N
 * packed objects, in a fresh child process.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { median, treeSize } from './measure';

/* The sidecar's own modules, from its build (the package exports none: this probe is a developer tool). */
const SB = path.join(path.dirname(require.resolve('mattermost-backup-server-bridge/package.json')), 'dist');
interface Storage {
  describe(): { local?: { root: string; tempDir: string } };
  storeSmallSync(key: string, bytes: Buffer): boolean;
  readSmallSync(key: string, max: number): Buffer;
}
interface Finished {
  packSha: string;
  size: number;
  file: string;
}
interface Writer {
  addSync(sha: string, bytes: Buffer): boolean;
  finishSync(): Finished;
  readonly full: boolean;
  readonly count: number;
}
interface Location {
  pack: string;
  offset: number;
  size: number;
}
interface Index {
  count: number;
  lookup(sha: string): Location | undefined;
  sizeOfPack(pack: string): number | undefined;
  recordBytes: number;
}
interface Reader {
  readSync(sha: string, offset: number, size: number): Buffer;
  close(): void;
}
/* eslint-disable @typescript-eslint/no-require-imports -- the sidecar's build, by path (see SB) */
const { LocalStorage } = require(path.join(SB, 'storage/local_storage.js')) as {
  LocalStorage: { open(root: string): Promise<Storage> };
};
const { objectKey, packKey } = require(path.join(SB, 'repository/layout.js')) as {
  objectKey: (sha: string) => string;
  packKey: (sha: string) => string;
};
const { PackWriter } = require(path.join(SB, 'repository/pack_writer.js')) as {
  PackWriter: { open(dir: string): Writer };
};
const { storePack } = require(path.join(SB, 'repository/pack_store.js')) as {
  storePack: (s: Storage, p: Finished) => Promise<void>;
};
const { loadPackIndex } = require(path.join(SB, 'repository/pack_index.js')) as {
  loadPackIndex: (s: Storage) => Promise<{ index: Index; broken: unknown[] }>;
};
const { PackFileReader } = require(path.join(SB, 'repository/pack_reader.js')) as {
  PackFileReader: { open(file: string, pack: string, size: number): Reader };
};
const { serializePackIndexFile } = require(path.join(SB, 'repository/pack_index_file.js')) as {
  serializePackIndexFile: (i: {
    pack: string;
    size: number;
    objects: Array<{ sha256: string; offset: number; size: number }>;
  }) => string;
};
/* eslint-enable @typescript-eslint/no-require-imports */

const INLINE = 128 * 1024;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

/** Sizes log-uniform between min and max, as the bench's many-files tree draws them. */
function payloads(n: number, min: number, max: number): Array<{ sha: string; bytes: Buffer }> {
  const out: Array<{ sha: string; bytes: Buffer }> = [];
  for (let i = 0; i < n; i++) {
    const size = Math.round(min * Math.exp(Math.random() * Math.log(max / min)));
    const bytes = randomBytes(size);
    out.push({ sha: createHash('sha256').update(bytes).digest('hex'), bytes });
  }
  return out;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const load = () => os.loadavg()[0]!.toFixed(2);

function syncFs(root: string): number {
  const t = performance.now();
  spawnSync('sync', ['-f', root]);
  return performance.now() - t;
}

function dropCaches(): void {
  spawnSync('sync');
  writeFileSync('/proc/sys/vm/drop_caches', '1');
}

interface RunResult {
  variant: 'A' | 'B';
  writeMs: number;
  syncMs: number;
  readMs: number;
  indexMs: number;
  diskBytes: number;
  files: number;
  load: string;
}

async function runA(dir: string, objs: Array<{ sha: string; bytes: Buffer }>, cold: boolean): Promise<RunResult> {
  const s = await LocalStorage.open(dir);
  const l = load();
  let t = performance.now();
  for (const o of objs) s.storeSmallSync(objectKey(o.sha), o.bytes);
  const writeMs = performance.now() - t;
  const syncMs = syncFs(dir);
  if (cold) dropCaches();
  t = performance.now();
  for (const o of objs) {
    if (sha256(s.readSmallSync(objectKey(o.sha), INLINE)) !== o.sha) throw new Error('A: wrong bytes');
  }
  const readMs = performance.now() - t;
  const size = await treeSize(path.join(dir, 'objects'));
  return { variant: 'A', writeMs, syncMs, readMs, indexMs: 0, diskBytes: size.diskBytes, files: size.files, load: l };
}

async function runB(dir: string, objs: Array<{ sha: string; bytes: Buffer }>, cold: boolean): Promise<RunResult> {
  const s = await LocalStorage.open(dir);
  const staging = s.describe().local!.tempDir;
  mkdirSync(staging, { recursive: true });
  const l = load();
  let t = performance.now();
  let w = PackWriter.open(staging);
  for (const o of objs) {
    w.addSync(o.sha, o.bytes);
    if (w.full) {
      await storePack(s, w.finishSync());
      w = PackWriter.open(staging);
    }
  }
  if (w.count) await storePack(s, w.finishSync());
  const writeMs = performance.now() - t;
  const syncMs = syncFs(dir);
  if (cold) dropCaches();
  t = performance.now();
  const { index } = await loadPackIndex(s);
  const indexMs = performance.now() - t;
  const readers = new Map<string, Reader>();
  for (const o of objs) {
    const at = index.lookup(o.sha);
    if (!at) throw new Error('B: object not indexed');
    let r = readers.get(at.pack);
    if (!r) {
      r = PackFileReader.open(path.join(dir, ...packKey(at.pack).split('/')), at.pack, index.sizeOfPack(at.pack)!);
      readers.set(at.pack, r);
    }
    r.readSync(o.sha, at.offset, at.size);
  }
  for (const r of readers.values()) r.close();
  const readMs = performance.now() - t;
  const p = await treeSize(path.join(dir, 'packs'));
  const i = await treeSize(path.join(dir, 'index'));
  return {
    variant: 'B',
    writeMs,
    syncMs,
    readMs,
    indexMs,
    diskBytes: p.diskBytes + i.diskBytes,
    files: p.files + i.files,
    load: l,
  };
}

/** The pack index at `n` objects: index files written, then loaded in a fresh process that reports its memory. */
async function indexProbe(n: number, base: string): Promise<void> {
  const root = await mkdtemp(path.join(base, 'pack-index-probe-'));
  try {
    mkdirSync(path.join(root, 'index'));
    const per = 4000; // ~16 MiB packs of 4 KiB objects
    const present: string[] = [];
    for (let p = 0; p * per < n; p++) {
      const pack = randomBytes(32).toString('hex');
      const objects: Array<{ sha256: string; offset: number; size: number }> = [];
      let offset = 0;
      for (let i = 0; i < Math.min(per, n - p * per); i++) {
        const size = 1000 + (i % 5000);
        const sha256 = randomBytes(32).toString('hex');
        if (present.length < 100_000 && i % 10 === 0) present.push(sha256);
        objects.push({ sha256, offset, size });
        offset += size;
      }
      const text = serializePackIndexFile({ pack, size: offset, objects });
      writeFileSync(path.join(root, 'index', `${pack}.json`), text);
    }
    writeFileSync(path.join(root, 'present.txt'), present.join('\n'));
    const child = spawnSync(process.execPath, ['--expose-gc', __filename, '--index-child', root], {
      encoding: 'utf8',
    });
    process.stdout.write(child.stdout + child.stderr);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

function vm(field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

async function indexChild(root: string): Promise<void> {
  const MB = 1024 * 1024;
  global.gc?.();
  const before = { rss: vm('VmRSS'), heap: process.memoryUsage().heapUsed, ab: process.memoryUsage().arrayBuffers };
  const s = await LocalStorage.open(root);
  let t = performance.now();
  const { index, broken } = await loadPackIndex(s);
  const buildMs = performance.now() - t;
  const peak = vm('VmHWM');
  global.gc?.();
  const after = { rss: vm('VmRSS'), heap: process.memoryUsage().heapUsed, ab: process.memoryUsage().arrayBuffers };
  const probes = Array.from({ length: 100_000 }, () => randomBytes(32).toString('hex'));
  t = performance.now();
  let hits = 0;
  for (const p of probes) if (index.lookup(p)) hits++;
  const lookupUs = ((performance.now() - t) * 1000) / probes.length;
  const present = readFileSync(path.join(root, 'present.txt'), 'utf8').split('\n');
  t = performance.now();
  let found = 0;
  for (const p of present) if (index.lookup(p)) found++;
  const hitUs = ((performance.now() - t) * 1000) / present.length;
  process.stdout.write(
    `index: ${index.count} objects, ${broken.length} broken; build ${(buildMs / 1000).toFixed(2)} s; records ${(index.recordBytes / MB).toFixed(1)} MB; ` +
      `RSS ${(before.rss / MB).toFixed(0)} -> ${(after.rss / MB).toFixed(0)} MB (peak ${(peak / MB).toFixed(0)} MB); ` +
      `heap ${(before.heap / MB).toFixed(1)} -> ${(after.heap / MB).toFixed(1)} MB; arrayBuffers ${(before.ab / MB).toFixed(1)} -> ${(after.ab / MB).toFixed(1)} MB; ` +
      `lookup (miss) ${lookupUs.toFixed(2)} µs, ${hits} hits; lookup (hit) ${hitUs.toFixed(2)} µs, ${found} of ${present.length} found\n`,
  );
}

async function main(): Promise<void> {
  if (process.argv.includes('--index-child')) {
    await indexChild(arg('index-child', ''));
    return;
  }
  const base = arg('dir', '/var/tmp');
  if (process.argv.includes('--index')) {
    await indexProbe(Number(arg('index', '1000000')), base);
    return;
  }
  const n = Number(arg('files', '100000'));
  const min = Number(arg('min', '120'));
  const max = Number(arg('max', '6144'));
  const pairs = Number(arg('pairs', '2'));
  const cold = process.argv.includes('--cold');
  const objs = payloads(n, min, max);
  const bytes = objs.reduce((a, o) => a + o.bytes.length, 0);
  process.stdout.write(
    `pack probe: ${n} objects of ${min}-${max} B (${(bytes / 1024 / 1024).toFixed(0)} MB), ${pairs} ABBA pairs, ${cold ? 'cold' : 'warm'} reads, ${os.cpus().length} cores, in ${base}\n`,
  );
  const results: RunResult[] = [];
  const order = Array.from({ length: pairs }, (_, i) => (i % 2 ? ['B', 'A'] : ['A', 'B'])).flat();
  for (const v of order) {
    const dir = await mkdtemp(path.join(base, `pack-probe-${v}-`));
    try {
      const r = v === 'A' ? await runA(dir, objs, cold) : await runB(dir, objs, cold);
      results.push(r);
      process.stdout.write(
        `  ${v}: write ${(r.writeMs / 1000).toFixed(2)} s (${((r.writeMs * 1000) / n).toFixed(1)} µs/object), sync ${(r.syncMs / 1000).toFixed(2)} s, ` +
          `read ${(r.readMs / 1000).toFixed(2)} s (${((r.readMs * 1000) / n).toFixed(1)} µs/object, index load ${(r.indexMs / 1000).toFixed(2)} s), ` +
          `${r.files} files, ${(r.diskBytes / 1024 / 1024).toFixed(0)} MB on disk, load ${r.load}\n`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const med = (v: 'A' | 'B', k: 'writeMs' | 'syncMs' | 'readMs') =>
    median(results.filter((r) => r.variant === v).map((r) => r[k]));
  for (const k of ['writeMs', 'syncMs', 'readMs'] as const) {
    process.stdout.write(
      `median ${k.replace('Ms', '')}: A ${(med('A', k) / 1000).toFixed(2)} s, B ${(med('B', k) / 1000).toFixed(2)} s, B/A ${(med('B', k) / med('A', k)).toFixed(2)}\n`,
    );
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
