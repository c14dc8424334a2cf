/**
 * The only place that spawns child processes: argv arrays, no shell, secrets through env only,
 * one AbortSignal that kills the whole process group, and a bounded stderr tail for errors.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { CancelledError, ProcessError } from '../core/errors';
import { redact } from '../core/redact';
import { underBudget, type ProcessBudget } from './budget';

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  signal?: AbortSignal;
  /** Exit codes that count as success besides 0; each use must say why. */
  okExitCodes?: number[];
  /** Where stdin comes from: a stream piped in, or 'ignore'. */
  stdin?: Readable | 'ignore';
  /** Keep stdout as a stream for the caller (default: collect it, up to 16 MiB). */
  stdout?: 'pipe' | 'collect' | 'ignore' | Writable;
  uid?: number;
  gid?: number;
  /** Start the child under this CPU/I/O priority (an online backup's children only; process/budget.ts). */
  budget?: ProcessBudget;
}

export interface RunHandle {
  child: ChildProcess;
  /** Present when stdout is 'pipe'. */
  stdout: Readable | null;
  /** Resolves with collected stdout on success; rejects with ProcessError or CancelledError. */
  done: Promise<{ stdout: string; code: number }>;
}

const STDERR_TAIL = 64 * 1024;
const STDOUT_LIMIT = 16 * 1024 * 1024;

/** Starts `cmd args`; the caller must await `done` (it rejects on non-zero exit). */
export function startProcess(cmd: string, args: readonly string[], opts: RunOptions = {}): RunHandle {
  const stdoutMode = opts.stdout ?? 'collect';
  const env = opts.env ?? process.env;
  // Errors and labels keep naming `cmd`: the wrappers exec it under the same pid.
  const run = opts.budget ? underBudget(cmd, args, opts.budget, env.PATH) : { cmd, args: [...args] };
  const child = spawn(run.cmd, run.args, {
    cwd: opts.cwd,
    env,
    stdio: [
      opts.stdin === undefined || opts.stdin === 'ignore' ? 'ignore' : 'pipe',
      stdoutMode === 'ignore' ? 'ignore' : 'pipe',
      'pipe',
    ],
    detached: true, // own process group, so abort kills pipelines the child may start
    uid: opts.uid,
    gid: opts.gid,
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL);
  });
  let stdout = '';
  if (stdoutMode === 'collect') {
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      if (stdout.length < STDOUT_LIMIT) stdout += chunk;
    });
  } else if (stdoutMode !== 'pipe' && stdoutMode !== 'ignore') {
    child.stdout?.pipe(stdoutMode);
  }
  // When a child exits, Node resumes every stdio stream nobody has attached a reader to yet, and
  // whatever it had written is dropped. A caller that reads the output a little later (after a
  // DROP step, say) would see an empty stream: a fast zstd then "restored" an empty dump. So the
  // output is taken into a stream of ours at once; it keeps the data until it is read.
  let piped: PassThrough | null = null;
  if (stdoutMode === 'pipe' && child.stdout) {
    piped = new PassThrough({ highWaterMark: 256 * 1024 });
    const source = child.stdout;
    source.on('error', (err) => piped?.destroy(err));
    source.pipe(piped);
    // A reader that gives up early must still end the child (as closing its pipe would).
    piped.on('close', () => {
      if (!source.readableEnded) source.destroy();
    });
  }
  // A child that dies before reading all of its input leaves the stream feeding it paused with
  // nobody to read it, and whatever writes into that stream (another child: zstd) blocked forever.
  // Destroying the source tells the producer that its reader is gone.
  let releaseInput = (): void => undefined;
  if (opts.stdin && opts.stdin !== 'ignore' && child.stdin) {
    const stdin = child.stdin;
    const source = opts.stdin;
    releaseInput = () => {
      if (!source.readableEnded) {
        source.unpipe(stdin);
        source.destroy();
      }
    };
    stdin.on('error', () => {
      /* the child closed stdin early; its exit status tells the story */
    });
    source.on('error', (err) => stdin.destroy(err));
    source.pipe(stdin);
  }
  const kill = () => {
    if (child.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
  };
  opts.signal?.addEventListener('abort', kill, { once: true });
  const label = redact([cmd, ...args].join(' '));
  const done = new Promise<{ stdout: string; code: number }>((resolve, reject) => {
    child.on('error', (err) => {
      releaseInput();
      reject(
        new ProcessError(`could not run ${cmd}: ${err.message}`, {
          cause: err,
          hint: (err as NodeJS.ErrnoException).code === 'ENOENT' ? `install ${cmd} or put it on PATH` : undefined,
        }),
      );
    });
    child.on('close', (code, sig) => {
      opts.signal?.removeEventListener('abort', kill);
      if (opts.signal?.aborted) {
        releaseInput();
        reject(new CancelledError(`${cmd} was cancelled`));
        return;
      }
      const exit = code ?? -1;
      if (exit === 0 || opts.okExitCodes?.includes(exit)) {
        resolve({ stdout, code: exit });
        return;
      }
      releaseInput();
      const tail = redact(stderr.trim().split('\n').slice(-8).join('\n'));
      // A wrapper (nice, ionice) that cannot exec the program exits 127, as a shell would.
      const missing = run.cmd !== cmd && exit === 127;
      reject(
        new ProcessError(
          `${cmd} failed (${sig ? `killed by ${sig}` : `exit code ${exit}`})${tail ? `: ${tail}` : ''}`,
          {
            details: { command: label, exitCode: exit, signal: sig },
            hint: missing ? `install ${cmd} or put it on PATH` : undefined,
          },
        ),
      );
    });
  });
  return { child, stdout: piped, done };
}

/** Runs a command to completion and returns its stdout. */
export async function runProcess(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  return (await startProcess(cmd, args, opts).done).stdout;
}
