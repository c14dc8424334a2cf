/**
 * The only place that spawns child processes: argv arrays, no shell, secrets through env only,
 * one AbortSignal that kills the whole process group, and a bounded stderr tail for errors.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { CancelledError, OutputTooLargeError, ProcessError, TimeoutError } from '../core/errors';
import { redact } from '../core/redact';
import { underBudget, type ProcessBudget } from './budget';

/** The signal of the innermost withChildSignal scope, for children started there without one of their own. */
const scopeSignal = new AsyncLocalStorage<AbortSignal>();

/**
 * Runs `fn` with `signal` given to every child it starts (however deep) that names no signal of its
 * own: work done outside a job (a restore's preparation in the CLI) is cancelled as a job is, its
 * children stopped rather than left running, in their own process groups, after we exit.
 */
export function withChildSignal<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  return scopeSignal.run(signal, fn);
}

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
  /**
   * Collected stdout past 16 MiB: 'truncate' (default: a log nobody parses, kept to its start) or
   * 'fail' (an output read whole, e.g. JSON): the child is stopped, OutputTooLargeError.
   */
  stdoutOverflow?: 'truncate' | 'fail';
  uid?: number;
  gid?: number;
  /** Start the child under this CPU/I/O priority (an online backup's children only; process/budget.ts). */
  budget?: ProcessBudget;
  /** Stop the child (its whole group) and reject with TimeoutError when it runs past this. */
  deadline?: Deadline;
}

/**
 * How long a child may take: `ms` in all, or with `idle` `ms` without writing a byte to stdout or
 * stderr (a long job that reports as it goes). `what` names it in the error, `hint` says what to do.
 */
export interface Deadline {
  ms: number;
  idle?: boolean;
  what?: string;
  hint?: string;
}

/** How long a child stopped for its deadline gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 5_000;

export interface RunHandle {
  child: ChildProcess;
  /** Present when stdout is 'pipe'. */
  stdout: Readable | null;
  /** Resolves with collected stdout on success; rejects with ProcessError or CancelledError. */
  done: Promise<{ stdout: string; code: number }>;
}

const STDERR_TAIL = 64 * 1024;
/** Bytes of stdout a 'collect' run keeps (RunOptions.stdoutOverflow says what happens past them). */
export const STDOUT_LIMIT = 16 * 1024 * 1024;

/** Starts `cmd args`; the caller must await `done` (it rejects on non-zero exit). */
export function startProcess(cmd: string, args: readonly string[], opts: RunOptions = {}): RunHandle {
  const signal = opts.signal ?? scopeSignal.getStore();
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
  let stdoutBytes = 0;
  let overflowed = false;
  if (stdoutMode === 'collect') {
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      stdoutBytes += Buffer.byteLength(chunk);
      if (stdoutBytes > STDOUT_LIMIT && opts.stdoutOverflow === 'fail') {
        // What is kept would be cut off: nothing more is worth reading, the child is stopped.
        if (!overflowed) {
          overflowed = true;
          stdout = '';
          kill();
        }
        return;
      }
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
  signal?.addEventListener('abort', kill, { once: true });
  // A scope cancelled between two children: the next one is stopped at once, not left to finish.
  if (!opts.signal && signal?.aborted) kill();
  // The deadline: a SIGTERM to the group, and a SIGKILL when that is not enough (a process stuck
  // on a FIFO or a dead mount may never get to its handler's end).
  let timedOut = false;
  let deadlineTimer: NodeJS.Timeout | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const deadline = opts.deadline;
  const expire = () => {
    timedOut = true;
    kill();
    killTimer = setTimeout(() => {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }, KILL_GRACE_MS);
    killTimer.unref();
  };
  const arm = () => {
    if (!deadline || timedOut) return;
    clearTimeout(deadlineTimer);
    deadlineTimer = setTimeout(expire, deadline.ms);
  };
  arm();
  if (deadline?.idle) {
    child.stdout?.on('data', arm);
    child.stderr?.on('data', arm);
  }
  const label = redact([cmd, ...args].join(' '));
  const done = new Promise<{ stdout: string; code: number }>((resolve, reject) => {
    child.on('error', (err) => {
      clearTimeout(deadlineTimer);
      releaseInput();
      reject(
        new ProcessError(`could not run ${cmd}: ${err.message}`, {
          cause: err,
          hint: (err as NodeJS.ErrnoException).code === 'ENOENT' ? `install ${cmd} or put it on PATH` : undefined,
        }),
      );
    });
    child.on('close', (code, sig) => {
      signal?.removeEventListener('abort', kill);
      clearTimeout(deadlineTimer);
      clearTimeout(killTimer);
      if (timedOut && deadline && !signal?.aborted) {
        releaseInput();
        const what = deadline.what ?? cmd;
        const span = deadline.ms < 1000 ? `${deadline.ms} ms` : `${Math.round(deadline.ms / 1000)} s`;
        reject(
          new TimeoutError(
            `${what} ${deadline.idle ? `wrote nothing for ${span}` : `did not finish within ${span}`} and was stopped`,
            {
              cause: new ProcessError(`${cmd} was stopped (${sig ? `killed by ${sig}` : `exit code ${code ?? -1}`})`),
              hint: deadline.hint,
              details: { command: label, deadlineMs: deadline.ms, idle: deadline.idle === true },
            },
          ),
        );
        return;
      }
      if (signal?.aborted) {
        releaseInput();
        reject(new CancelledError(`${cmd} was cancelled`));
        return;
      }
      if (overflowed) {
        releaseInput();
        reject(
          new OutputTooLargeError(
            `${opts.deadline?.what ?? cmd} printed more than ${STDOUT_LIMIT / (1024 * 1024)} MiB (${STDOUT_LIMIT} bytes), the most that is read of its output; it was stopped and its output not used`,
            { details: { command: label, limitBytes: STDOUT_LIMIT } },
          ),
        );
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
