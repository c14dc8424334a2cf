/**
 * The names of the objects a job packs are kept in a file in the temporary directory (TMPDIR, a
 * NameFile). When that disk fills, on a real full tmpfs: the pack whose names could not be written
 * is neither stored nor left staged, the job fails with DISK_SPACE naming the temporary directory
 * (not the repository), the packs stored before stay readable, nothing is left on the temporary
 * disk, and once there is room the next job packs the same objects. The job runs in a child
 * (test/support/packs_temp_full_child.cjs) given TMPDIR: rebuild dist/ before running it.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Repository } from '../../src/repository/repository';
import { LocalStorage } from '../../src/storage/local_storage';
import { DIST, runNode, SUPPORT } from '../support/memory_child';

const PER_PACK = 256;
let base: string;
let small: string;

beforeAll(async () => {
  base = await mkdtemp(path.join(os.tmpdir(), 'packs-temp-full-'));
  small = path.join(base, 'tmp');
  await mkdir(small);
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0777', 'tmpfs', small], { encoding: 'utf8' });
  if (m.status !== 0) throw new Error(`cannot mount a tmpfs (these tests need root): ${m.stderr}`);
});
afterAll(async () => {
  spawnSync('umount', ['-l', small]);
  await rm(base, { recursive: true, force: true });
});

interface ChildReport {
  error?: { name: string; code: string; message: string; hint?: string; instance: string };
  flushed: string;
  stored: string[];
  objects: Array<[string, string]>;
}

test('the temporary disk fills as a pack is finished: DISK_SPACE naming it; that pack is neither stored nor staged; the next job packs it', async () => {
  // 64 KiB of tmpfs, 40 KiB taken: the names of a few packs of 256 objects (8 KiB each) fit, not all.
  const filler = path.join(small, 'filler');
  await writeFile(filler, Buffer.alloc(40 * 1024, 1));
  const repoDir = path.join(base, 'repo');
  const stage = path.join(base, 'stage');
  await mkdir(stage);
  const res = await runNode(
    [path.join(SUPPORT, 'packs_temp_full_child.cjs'), DIST, repoDir, stage, String(PER_PACK), '40'],
    { TMPDIR: small },
  );
  if (res.code !== 0) {
    throw new Error(`the packing process failed (${res.code ?? res.signal}):\n${res.stderr.slice(-3000)}`);
  }
  const out = JSON.parse(res.stdout) as ChildReport;
  const e = out.error;
  if (!e) throw new Error(`40 packs were finished and no write to ${small} failed`);
  expect(e.instance).toBe('DiskFullError');
  expect(e.code).toBe('DISK_SPACE');
  expect(e.message).toMatch(
    new RegExp(
      `^the temporary directory \\(${small}/mm-backup-index-\\d+-\\w+\\) is full: writing a list of object names failed; `,
    ),
  );
  expect(e.message).toMatch(/\d+(\.\d)? (B|KB) free of 64(\.0)? KB on /);
  expect(e.message).not.toMatch(/repository/);
  expect(e.hint).toMatch(/free space on that disk/);
  // The job fails at flush too, so its manifest is never written.
  expect(out.flushed).toBe('rejected with the same error');

  // The failing add was the last object of its pack: every pack before it was finished whole.
  const objects = out.objects.map(([sha, b64]) => ({ sha, bytes: Buffer.from(b64, 'base64') }));
  expect(objects.length % PER_PACK).toBe(0);
  const finished = objects.length / PER_PACK - 1;
  expect(finished).toBeGreaterThanOrEqual(1);
  // Packs finished before the failure are stored, or left staged for the staging cleaner; the failed one is neither.
  const staged = (await readdir(stage)).filter((f) => f.startsWith('pack-'));
  expect(out.stored.length + staged.length).toBe(finished);
  // The child's files of names were never visible and its spool directory went with it.
  expect(await readdir(small)).toEqual(['filler']);

  const storage = await LocalStorage.open(repoDir);
  const reader = await Repository.open(storage);
  const storedObjects = objects.slice(0, out.stored.length * PER_PACK);
  for (const o of objects.slice(finished * PER_PACK)) expect(await reader.packs.locate(o.sha)).toBeUndefined();
  for (const o of storedObjects) {
    const loc = await reader.packs.locate(o.sha);
    if (!loc) throw new Error(`stored object ${o.sha} is in no pack`);
    expect((await reader.packs.read(loc)).equals(o.bytes)).toBe(true);
  }

  // Room again: the next job packs what the failed one could not keep.
  await rm(filler);
  for (const f of staged) await rm(path.join(stage, f));
  const next = await Repository.open(storage, {
    packs: true,
    stagingDir: stage,
    packTargets: { targetObjects: PER_PACK },
  });
  await next.packs.prepare(stage);
  for (const o of objects.slice(storedObjects.length)) await next.packs.add(o.sha, o.bytes);
  await next.packs.flush();
  const after = await Repository.open(storage);
  for (const o of objects) {
    const loc = await after.packs.locate(o.sha);
    if (!loc) throw new Error(`object ${o.sha} is in no pack after the next job`);
    expect((await after.packs.read(loc)).equals(o.bytes)).toBe(true);
  }
});
