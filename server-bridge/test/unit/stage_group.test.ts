/**
 * A failing stage tears its pipeline down: real zstd children, real pipes. The group returns only
 * once every child has exited, and reports the failure that caused the others, not their SIGPIPE.
 */
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BridgeError } from '../../src/core/errors';
import { startProcess } from '../../src/process/run_process';
import { StageGroup } from '../../src/process/stage_group';

/** An endless incompressible source: the children never finish on their own. */
function endless(): Readable {
  return new Readable({
    read() {
      this.push(randomBytes(64 * 1024));
    },
  });
}

/** A consumer that fails once it has taken `after` bytes, like a disk that fills up. */
function failingSink(after: number): Writable {
  let seen = 0;
  return new Writable({
    write(chunk: Buffer, _e, cb) {
      seen += chunk.length;
      cb(seen > after ? Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }) : null);
    },
  });
}

test('a consumer that fails: both children end, and its error is the one thrown', async () => {
  const group = new StageGroup();
  const source = group.track(endless());
  const z = startProcess('zstd', ['-q', '-1', '-c'], { stdin: source, stdout: 'pipe', signal: group.signal });
  const unz = startProcess('zstd', ['-q', '-d', '-c'], {
    stdin: z.stdout as Readable,
    stdout: 'pipe',
    signal: group.signal,
  });
  const t0 = Date.now();
  const err = await group
    .all([z.done, unz.done, pipeline(unz.stdout as Readable, failingSink(1024 * 1024))])
    .catch((e: unknown) => e);
  expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
  expect(Date.now() - t0).toBeLessThan(10_000);
  for (const child of [z.child, unz.child]) expect(child.exitCode !== null || child.signalCode !== null).toBe(true);
});

test('a child that dies: its own failure is reported, not the SIGPIPE of the child feeding it', async () => {
  const group = new StageGroup();
  const z = startProcess('zstd', ['-q', '-1', '-c'], {
    stdin: group.track(endless()),
    stdout: 'pipe',
    signal: group.signal,
  });
  // A reader that reads a little and exits non-zero, as pg_restore does on a bad dump.
  const reader = startProcess('sh', ['-c', 'head -c 100000 >/dev/null; echo "reader: bad input" >&2; exit 3'], {
    stdin: z.stdout as Readable,
    stdout: 'ignore',
    signal: group.signal,
  });
  const err = await group.all([z.done, reader.done]).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(BridgeError);
  expect((err as Error).message).toMatch(/^sh failed \(exit code 3\): reader: bad input/);
  expect(z.child.exitCode !== null || z.child.signalCode !== null).toBe(true);
});

test('a cancellation from outside is reported as the cancellation', async () => {
  const outside = new AbortController();
  const group = new StageGroup(outside.signal);
  const z = startProcess('zstd', ['-q', '-1', '-c'], {
    stdin: group.track(endless()),
    stdout: 'pipe',
    signal: group.signal,
  });
  const sink = pipeline(
    z.stdout as Readable,
    new Writable({
      write(_c, _e, cb) {
        cb();
      },
    }),
  );
  setTimeout(() => outside.abort(), 200);
  const err = await group.all([z.done, sink]).catch((e: unknown) => e);
  expect((err as BridgeError).code).toBe('CANCELLED');
});
