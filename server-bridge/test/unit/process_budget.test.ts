/**
 * An online backup's CPU and I/O budget on real processes, read back from the kernel: a child
 * started under a budget has the niceness (/proc/<pid>/stat) and I/O class (ionice -p) asked for,
 * one started without has its parent's; lowering our own process or one worker thread (run in a
 * child node process of the built dist/, so this test process is left alone).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import { backupBudget, budgetGaps, type ProcessBudget } from '../../src/process/budget';
import { startProcess, type RunHandle } from '../../src/process/run_process';
import { caught } from '../support/caught';
import { ioClassOf, niceOf, waitForComm } from '../support/priority';

const ours = { nice: niceOf(process.pid), io: ioClassOf(process.pid) };
const handles: Array<{ h: RunHandle; ac: AbortController }> = [];

/** `sleep 60` started with `opts`, once it really is sleep (the wrappers have exec'd it). */
async function sleeper(opts: { budget?: ProcessBudget; env?: NodeJS.ProcessEnv } = {}): Promise<number> {
  const ac = new AbortController();
  const h = startProcess('sleep', ['60'], { ...opts, signal: ac.signal });
  handles.push({ h, ac });
  const pid = h.child.pid as number;
  await waitForComm(pid, 'sleep');
  return pid;
}

afterEach(async () => {
  for (const { h, ac } of handles.splice(0)) {
    ac.abort();
    await h.done.catch(() => undefined);
  }
});

test('this test runs at normal priority (what "unchanged" is compared with)', () => {
  // The assertions below would prove little if the test itself already ran lowered.
  expect(ours.nice).toBeLessThan(7);
  expect(ours.io).not.toBe('idle');
});

test('a child started under a budget has its niceness and best-effort level', async () => {
  const pid = await sleeper({ budget: { nice: 7, ioClass: 'best-effort', ioLevel: 6 } });
  expect(niceOf(pid)).toBe(7);
  expect(ioClassOf(pid)).toBe('best-effort: prio 6');
});

test('the idle I/O class, and the defaults of backup.budget', async () => {
  const idle = await sleeper({ budget: { nice: 12, ioClass: 'idle', ioLevel: 7 } });
  expect(niceOf(idle)).toBe(12);
  expect(ioClassOf(idle)).toBe('idle');
  const defaults = backupBudget({ enabled: true, nice: 10, ioClass: 'best-effort', ioLevel: 7 }, 'online');
  const pid = await sleeper({ budget: defaults?.children });
  expect(niceOf(pid)).toBe(10);
  expect(ioClassOf(pid)).toBe('best-effort: prio 7');
});

test('without a budget (off, offline, or ioClass none and nice 0) a child runs as its parent does', async () => {
  const settings = { enabled: true, nice: 10, ioClass: 'idle', ioLevel: 7 } as const;
  expect(backupBudget(settings, 'offline')).toBeUndefined();
  expect(backupBudget({ ...settings, enabled: false }, 'online')).toBeUndefined();
  const plain = await sleeper({ budget: backupBudget(settings, 'offline')?.children });
  expect(niceOf(plain)).toBe(ours.nice);
  expect(ioClassOf(plain)).toBe(ours.io);
  const neutral = await sleeper({ budget: { nice: 0, ioClass: 'none', ioLevel: 7 } });
  expect(niceOf(neutral)).toBe(ours.nice);
  expect(ioClassOf(neutral)).toBe(ours.io);
});

test('pipes, exit status and abort work through the wrappers', async () => {
  const budget: ProcessBudget = { nice: 5, ioClass: 'best-effort', ioLevel: 7 };
  const input = new PassThrough();
  const cat = startProcess('cat', [], { stdin: input, stdout: 'pipe', budget });
  input.end('through nice and ionice');
  const chunks: Buffer[] = [];
  for await (const c of cat.stdout as AsyncIterable<Buffer>) chunks.push(c);
  await cat.done;
  expect(Buffer.concat(chunks).toString()).toBe('through nice and ionice');

  const failed = await caught(startProcess('sh', ['-c', 'echo boom >&2; exit 3'], { budget }).done);
  expect(failed.message).toContain('sh failed (exit code 3): boom');

  const missing = await caught(startProcess('definitely-not-installed-xyz', [], { budget }).done);
  expect(missing.code).toBe('PROCESS_FAILED');
  expect(missing.message).toContain('definitely-not-installed-xyz failed');
  expect(missing.hint).toBe('install definitely-not-installed-xyz or put it on PATH');

  // The program is the process-group leader (the wrappers exec'd it): abort kills what it started.
  const ac = new AbortController();
  const h = startProcess('sh', ['-c', 'sleep 30 & sleep 30; wait'], { signal: ac.signal, budget });
  setTimeout(() => ac.abort(), 200);
  const t0 = Date.now();
  await expect(h.done).rejects.toMatchObject({ code: 'CANCELLED' });
  expect(Date.now() - t0).toBeLessThan(5000);
});

test('without nice and ionice on PATH the child runs unbudgeted, and the gap is reported', async () => {
  const bin = await mkdtemp(path.join(os.tmpdir(), 'budget-path-'));
  try {
    // A PATH that finds sleep and nothing else.
    const sleepBin = ['/usr/bin/sleep', '/bin/sleep'].find((p) => existsSync(p)) as string;
    await symlink(sleepBin, path.join(bin, 'sleep'));
    const budget: ProcessBudget = { nice: 9, ioClass: 'idle', ioLevel: 7 };
    expect(budgetGaps(budget, bin)).toEqual([
      'niceness 9 (no "nice" on PATH: install coreutils)',
      'I/O class idle (no "ionice" on PATH: install util-linux)',
    ]);
    expect(budgetGaps(budget)).toEqual([]); // this machine has both
    const pid = await sleeper({ budget, env: { PATH: bin } });
    expect(niceOf(pid)).toBe(ours.nice);
    expect(ioClassOf(pid)).toBe(ours.io);
  } finally {
    await rm(bin, { recursive: true, force: true });
  }
});

/** Runs `script` in a child node process (CommonJS, the built dist/); resolves its first line, ends it on `release`. */
function nodeChild(script: string): { line: Promise<Record<string, number>>; release(): Promise<void> } {
  const child = spawn(process.execPath, ['-e', script], {
    cwd: path.resolve(__dirname, '../..'),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const line = new Promise<Record<string, number>>((resolve, reject) => {
    lines.once('line', (l) => resolve(JSON.parse(l) as Record<string, number>));
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before saying anything`)));
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    line,
    release: async () => {
      child.stdin.end();
      await exited;
    },
  };
}

test('applyToProcess lowers every thread of the process, what it starts later inherits it, and budgets stay targets', async () => {
  const c = nodeChild(`
    const { applyToProcess } = require('./dist/process/own_priority');
    const { startProcess } = require('./dist/process/run_process');
    const { Worker } = require('node:worker_threads');
    const { spawn } = require('node:child_process');
    applyToProcess({ nice: 8, ioClass: 'idle', ioLevel: 7 }).then(() => {
      const w = new Worker('setInterval(() => {}, 1000)', { eval: true });
      w.once('online', () => {
        const s = spawn('sleep', ['60'], { stdio: 'ignore' });
        // Budgeted children of a lowered process: niceness is a target, not an increment.
        const ac = new AbortController();
        const more = startProcess('sleep', ['61'], { signal: ac.signal, budget: { nice: 10, ioClass: 'none', ioLevel: 7 } });
        const less = startProcess('sleep', ['62'], { signal: ac.signal, budget: { nice: 5, ioClass: 'none', ioLevel: 7 } });
        for (const h of [more, less]) h.done.catch(() => undefined);
        console.log(JSON.stringify({ pid: process.pid, sleep: s.pid, more: more.child.pid, less: less.child.pid }));
        process.stdin.on('end', () => { s.kill(); ac.abort(); setTimeout(() => process.exit(0), 100); });
        process.stdin.resume();
      });
    });
  `);
  try {
    const { pid, sleep, more, less } = await c.line;
    const tasks = readdirSync(`/proc/${pid}/task`).map(Number);
    expect(tasks.length).toBeGreaterThan(4); // main, libuv pool, V8 platform, the worker
    for (const tid of tasks) {
      expect({ tid, nice: niceOf(pid as number, tid) }).toEqual({ tid, nice: 8 });
      expect({ tid, io: ioClassOf(tid) }).toEqual({ tid, io: 'idle' });
    }
    expect(niceOf(sleep as number)).toBe(8);
    expect(ioClassOf(sleep as number)).toBe('idle');
    await waitForComm(more as number, 'sleep');
    expect(niceOf(more as number)).toBe(10); // 8 + 2, not 8 + 10
    expect(niceOf(less as number)).toBe(8); // never raised back: that needs privileges
  } finally {
    await c.release();
  }
});

test('applyToThisThread lowers the calling worker thread only, never the main thread', async () => {
  const c = nodeChild(`
    const { Worker } = require('node:worker_threads');
    const w = new Worker(\`
      const { parentPort } = require('node:worker_threads');
      const { applyToThisThread } = require(\${JSON.stringify(require.resolve('./dist/process/own_priority'))});
      const tid = Number(require('node:path').basename(require('node:fs').readlinkSync('/proc/thread-self')));
      applyToThisThread({ nice: 11, ioClass: 'best-effort', ioLevel: 5 }).then(() => parentPort.postMessage(tid));
      setInterval(() => {}, 1000);
    \`, { eval: true });
    w.once('message', (tid) => {
      console.log(JSON.stringify({ pid: process.pid, tid }));
      process.stdin.on('end', () => process.exit(0));
      process.stdin.resume();
    });
  `);
  try {
    const { pid, tid } = await c.line;
    expect(niceOf(pid as number, tid)).toBe(11);
    expect(ioClassOf(tid as number)).toBe('best-effort: prio 5');
    // The main thread (tid = pid) answers the sidecar's HTTP API: untouched.
    expect(niceOf(pid as number, pid)).toBe(ours.nice);
    expect(ioClassOf(pid as number)).toBe(ours.io);
  } finally {
    await c.release();
  }
});
