/** zstd as a child process: faster than pg_dump's own zlib at a better ratio (see README, Performance). */
import { PassThrough, type Readable } from 'node:stream';
import { startProcess, type RunHandle } from '../process/run_process';
import type { ProcessBudget } from '../process/budget';

/** Returns a writable end to feed and the compressed stream to consume; zstd runs under `budget` when given. */
export function compressor(
  level: number,
  signal?: AbortSignal,
  budget?: ProcessBudget,
): { input: PassThrough; proc: RunHandle; output: Readable } {
  const input = new PassThrough();
  const proc = startProcess('zstd', ['-q', `-${level}`, '-T0', '-c'], {
    stdin: input,
    stdout: 'pipe',
    signal,
    budget,
  });
  return { input, proc, output: proc.stdout as Readable };
}

export function decompressor(source: Readable, signal?: AbortSignal): { proc: RunHandle; output: Readable } {
  const proc = startProcess('zstd', ['-q', '-d', '-c'], { stdin: source, stdout: 'pipe', signal });
  return { proc, output: proc.stdout as Readable };
}
