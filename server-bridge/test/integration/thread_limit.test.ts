// A process that cannot start another thread (its container's `pids.max`, or RLIMIT_NPROC: the
// kernel answers EAGAIN and `new Worker` throws ERR_WORKER_INIT_FAILED) still backs up: the
// second reading thread's files are read by the main thread, and the hash threads' copies are made
// on the main thread (hash_here.ts); warnings say so. Before, the backup failed. A real limit on a
// real process: a child started under RLIMIT_NPROC at exactly the threads it runs once ready.
// RLIMIT_NPROC counts every task of the child's user, and root is exempt: as root the child runs
// as `nobody`, who runs nothing else here.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { INLINE_FILE } from '../../src/repository/repository';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'thread-limit-'));
  await chmod(work, 0o777);
});
afterEach(() => rm(work, { recursive: true, force: true }));

const NOBODY = 65534;
const root = (process.getuid?.() ?? 0) === 0;
const child = path.join(__dirname, '..', 'support', 'thread_limit_child.cjs');
const dist = path.resolve(__dirname, '..', '..', 'dist');

interface ChildResult {
  entries: Array<[string, string | null]>;
  warnings: string[];
  readByThread: number;
  hashThreads: number;
  restoreWarnings: string[];
  restored: Array<[string, string]>;
  error?: string;
}

/** Runs the child (under RLIMIT_NPROC `nproc` when given): the threads it ran once ready, and its result. */
function runChild(tree: string, name: string, nproc?: number): Promise<{ ready: number; result: ChildResult }> {
  const cmd = [
    process.execPath,
    child,
    dist,
    tree,
    path.join(work, `repo-${name}`),
    path.join(work, `restored-${name}`),
  ];
  const argv = nproc === undefined ? cmd : ['prlimit', `--nproc=${nproc}:${nproc}`, '--', ...cmd];
  const p = spawn(argv[0] as string, argv.slice(1), {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, TMPDIR: work },
    ...(root ? { uid: NOBODY, gid: NOBODY } : {}),
  });
  let stderr = '';
  p.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve, reject) => {
    let ready = -1;
    const lines = createInterface({ input: p.stdout });
    lines.on('line', (line) => {
      if (line.startsWith('ready ')) {
        ready = Number(line.slice(6));
        p.stdin.write('go\n');
        return;
      }
      resolve({ ready, result: JSON.parse(line) as ChildResult });
    });
    p.on('exit', (code, signal) => {
      if (ready < 0 || code !== 0) reject(new Error(`the child ended (${code ?? signal}): ${stderr}`));
    });
  });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('with no thread to spare, a backup and a restore do everything on the main thread, and say so', async () => {
  const tree = path.join(work, 'tree');
  await mkdir(path.join(tree, 'small'), { recursive: true });
  const files = new Map<string, Buffer>();
  for (let i = 0; i < 300; i++) files.set(`small/f${String(i).padStart(3, '0')}`, randomBytes(100 + i));
  // Past INLINE_FILE: staged by a hash thread's copy.
  for (let i = 0; i < 3; i++) files.set(`big${i}`, randomBytes(INLINE_FILE + 4096 + i));
  for (const [rel, data] of files) await writeFile(path.join(tree, rel), data);
  await chmod(tree, 0o755);

  const free = await runChild(tree, 'free');
  expect(free.result.error).toBeUndefined();
  expect(free.result.warnings).toEqual([]);
  expect(free.result.readByThread).toBeGreaterThan(0); // the reading thread ran
  expect(free.result.restoreWarnings).toEqual([]);
  expect(free.result.restored).toEqual([...files].map(([rel, data]) => [rel, sha(data)]).sort());

  const limited = await runChild(tree, 'limited', free.ready);
  expect(limited.ready).toBe(free.ready);
  expect(limited.result.error).toBeUndefined();
  expect(limited.result.entries).toEqual(free.result.entries);
  for (const [rel, data] of files) expect(limited.result.entries).toContainEqual([rel, sha(data)]);
  expect(limited.result.readByThread).toBe(0);
  expect(limited.result.hashThreads).toBe(0);
  expect(limited.result.warnings).toEqual([
    expect.stringMatching(/^the second reading thread could not start \(.*EAGAIN.*\); the main thread read its files$/),
    expect.stringMatching(
      /^\d+ hash threads? could not start \(.*EAGAIN.*\): files were read with the threads there were, or on the main thread$/,
    ),
  ]);
  expect(limited.result.restored).toEqual(free.result.restored);
  expect(limited.result.restoreWarnings).toEqual([
    expect.stringMatching(/^no writer thread could start \(.*EAGAIN.*\): the main thread wrote every file$/),
  ]);
}, 60_000);
