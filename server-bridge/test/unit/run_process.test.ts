import { runProcess, startProcess, withChildSignal } from '../../src/process/run_process';
import { PassThrough } from 'node:stream';
import { caught } from '../support/caught';

test('collects stdout of a real child', async () => {
  expect(await runProcess(process.execPath, ['-e', 'process.stdout.write("hi")'])).toBe('hi');
});

test('a non-zero exit rejects with PROCESS_FAILED, the exit code and the stderr tail', async () => {
  const err = await caught(runProcess('sh', ['-c', 'echo boom >&2; exit 3']));
  expect(err.code).toBe('PROCESS_FAILED');
  expect(err.message).toContain('sh failed (exit code 3): boom');
});

test('tolerated exit codes are explicit', async () => {
  await expect(runProcess('sh', ['-c', 'exit 1'], { okExitCodes: [1] })).resolves.toBe('');
});

test('a missing program is a clear error with a hint', async () => {
  await expect(runProcess('definitely-not-installed-xyz', [])).rejects.toMatchObject({
    code: 'PROCESS_FAILED',
    hint: expect.stringContaining('install'),
  });
});

test('abort kills the child and its whole process group', async () => {
  const ac = new AbortController();
  const h = startProcess('sh', ['-c', 'sleep 30 & sleep 30; wait'], { signal: ac.signal });
  setTimeout(() => ac.abort(), 100);
  const t0 = Date.now();
  await expect(h.done).rejects.toMatchObject({ code: 'CANCELLED' });
  expect(Date.now() - t0).toBeLessThan(5000);
});

test('stdin is streamed in and stdout streamed out', async () => {
  const input = new PassThrough();
  const h = startProcess('cat', [], { stdin: input, stdout: 'pipe' });
  input.end('streamed');
  const chunks: Buffer[] = [];
  for await (const c of h.stdout!) chunks.push(c as Buffer);
  await h.done;
  expect(Buffer.concat(chunks).toString()).toBe('streamed');
});

test('secrets in error messages are redacted', async () => {
  const err = await caught(
    runProcess('sh', ['-c', 'echo "could not connect to postgres://mmuser:hunter2secret@db:5432/mm" >&2; exit 2']),
  );
  expect(err.message).toContain('could not connect to postgres://mmuser:***@db:5432/mm');
  expect(err.message).not.toContain('hunter2secret');
});

test('output is kept when it is read only after the child has exited', async () => {
  // Node resumes (and drops) the unread stdout of an exited child; a restore that read the
  // decompressed dump after its DROP step once got an empty stream from a fast zstd this way.
  const h = startProcess(process.execPath, ['-e', "process.stdout.write('x'.repeat(50000))"], { stdout: 'pipe' });
  await h.done;
  await new Promise((r) => setTimeout(r, 100));
  let n = 0;
  for await (const c of h.stdout as NodeJS.ReadableStream) n += (c as Buffer).length;
  expect(n).toBe(50000);
});

test('a reader that stops early still lets a chatty child end', async () => {
  const h = startProcess(
    process.execPath,
    [
      '-e',
      "const b = Buffer.alloc(65536); (function w() { while (process.stdout.write(b)); process.stdout.once('drain', w); })()",
    ],
    { stdout: 'pipe' },
  );
  for await (const _ of h.stdout as NodeJS.ReadableStream) break; // destroys the stream
  const settled = await Promise.race([
    h.done.then(
      () => 'exited',
      () => 'exited',
    ),
    new Promise((r) => setTimeout(() => r('still running'), 10_000)),
  ]);
  expect(settled).toBe('exited');
});

test('a deadline stops the whole group and rejects with TIMED_OUT, the cause and the hint', async () => {
  const t0 = Date.now();
  const err = await caught(
    runProcess('sh', ['-c', 'sleep 30 & sleep 30; wait'], {
      deadline: { ms: 300, what: 'the sleeper', hint: 'wake it' },
    }),
  );
  expect(Date.now() - t0).toBeLessThan(5000);
  expect(err).toMatchObject({
    code: 'TIMED_OUT',
    message: 'the sleeper did not finish within 300 ms and was stopped',
    hint: 'wake it',
    details: { deadlineMs: 300, idle: false },
  });
  expect((err.cause as Error).message).toBe('sh was stopped (killed by SIGTERM)');
});

test('a child that ignores SIGTERM is killed after the grace time', async () => {
  const t0 = Date.now();
  const err = await caught(runProcess('sh', ['-c', "trap '' TERM; sleep 30"], { deadline: { ms: 200 } }));
  expect(err.code).toBe('TIMED_OUT');
  expect((err.cause as Error).message).toBe('sh was stopped (killed by SIGKILL)');
  expect(Date.now() - t0).toBeLessThan(10_000);
}, 20_000);

test('an idle deadline counts silence only: a child that keeps writing runs past it, a silent one is stopped', async () => {
  const talker = 'for i in 1 2 3 4 5 6; do echo $i; sleep 0.2; done';
  await expect(runProcess('sh', ['-c', talker], { deadline: { ms: 700, idle: true } })).resolves.toBe(
    '1\n2\n3\n4\n5\n6\n',
  );
  const err = await caught(runProcess('sh', ['-c', 'echo start; sleep 30'], { deadline: { ms: 700, idle: true } }));
  expect(err).toMatchObject({ code: 'TIMED_OUT', message: 'sh wrote nothing for 700 ms and was stopped' });
});

test('a scope signal reaches every child started inside it without a signal of its own, and only those', async () => {
  const ac = new AbortController();
  const own = new AbortController();
  const t0 = Date.now();
  const inside = withChildSignal(ac.signal, async () => {
    await runProcess('true', []);
    const mine = caught(runProcess('sleep', ['30'], { signal: own.signal }));
    const scoped = caught(runProcess('sleep', ['30']));
    setTimeout(() => ac.abort(), 100);
    const err = await scoped;
    expect(Date.now() - t0).toBeLessThan(5_000);
    // The child with its own signal runs on until that one is aborted.
    await new Promise((r) => setTimeout(r, 200));
    own.abort();
    return [err, await mine];
  });
  const [scoped, mine] = await inside;
  expect(scoped?.code).toBe('CANCELLED');
  expect(mine?.code).toBe('CANCELLED');
  // Started after the scope was cancelled: stopped at once, not left to finish.
  const late = await caught(withChildSignal(ac.signal, () => runProcess('sleep', ['30'])));
  expect(late.code).toBe('CANCELLED');
  expect(Date.now() - t0).toBeLessThan(5_000);
  // Outside any scope nothing changes.
  await expect(runProcess('true', [])).resolves.toBe('');
});

test('collected stdout past 16 MiB: cut off by default (a log), OUTPUT_TOO_LARGE with the limit when read whole', async () => {
  // A JSON text valid only whole: 17 MiB of blanks between the brackets.
  const print = ['-e', 'process.stdout.write("[" + " ".repeat(17 * 1024 * 1024) + "]")'];
  const cut = await runProcess(process.execPath, print);
  expect(cut.length).toBeGreaterThanOrEqual(16 * 1024 * 1024);
  expect(cut.endsWith(']')).toBe(false);
  const err = await caught(runProcess(process.execPath, print, { stdoutOverflow: 'fail' }));
  expect(err.code).toBe('OUTPUT_TOO_LARGE');
  expect(err.message).toContain('printed more than 16 MiB (16777216 bytes)');
  // Under the limit the same option changes nothing.
  await expect(
    runProcess(process.execPath, ['-e', 'process.stdout.write("[]")'], { stdoutOverflow: 'fail' }),
  ).resolves.toBe('[]');
});
