/**
 * The stages of one streaming pipeline (child processes, stream copies, uploads) run as a group:
 * the first failure tears every stage down, every stage is awaited, and the ROOT cause is thrown.
 * Without this, a consumer that fails (disk full) leaves its producers blocked on a full pipe
 * forever: the job "ends" but the process never exits and pg_dump's session keeps its locks.
 */
import type { Stream } from 'node:stream';
import { BridgeError } from '../core/errors';

/** The abort reason of a teardown: never a cause by itself. */
class TeardownError extends BridgeError {
  constructor() {
    super('CANCELLED', 'pipeline torn down after a failure in another stage');
  }
}

export class StageGroup {
  private readonly controller = new AbortController();
  private readonly streams: Stream[] = [];
  /** Give this to every child process and stream of the group: it aborts on teardown too. */
  readonly signal: AbortSignal;

  constructor(private readonly parent?: AbortSignal) {
    this.signal = parent ? AbortSignal.any([parent, this.controller.signal]) : this.controller.signal;
  }

  /** Streams destroyed on teardown (a stalled Transform never ends by itself). */
  track<T extends Stream>(stream: T): T {
    this.streams.push(stream);
    return stream;
  }

  /** Kills the group's children (through `signal`) and destroys its tracked streams. */
  teardown(): void {
    if (!this.controller.signal.aborted) this.controller.abort(new TeardownError());
    for (const s of this.streams) (s as Stream & { destroy?: () => void }).destroy?.();
  }

  /**
   * Awaits every stage. On the first rejection the group is torn down, the remaining stages are
   * still awaited (so nothing outlives the call), and the root cause is thrown: the first error
   * that is not merely a consequence of another stage failing (SIGPIPE, EPIPE, our own teardown).
   */
  async all<T extends readonly unknown[]>(stages: [...{ [K in keyof T]: Promise<T[K]> }]): Promise<T> {
    const errors: unknown[] = [];
    const settled = await Promise.allSettled(
      stages.map((p) =>
        p.catch((err: unknown) => {
          errors.push(err);
          this.teardown();
          throw err;
        }),
      ),
    );
    if (errors.length) throw rootCause(errors, this.parent);
    return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
  }
}

/** The first error that is a cause rather than a consequence; the first one when all are consequences. */
export function rootCause(errors: unknown[], parent?: AbortSignal): unknown {
  // A cancellation asked for from outside (SIGTERM, the API) is the cause; a teardown of an
  // enclosing group (this group's stages are its stage) is a consequence like ours.
  if (parent?.aborted && !(parent.reason instanceof TeardownError)) {
    return errors.find((e) => e instanceof BridgeError && e.code === 'CANCELLED') ?? errors[0];
  }
  return errors.find((e) => !isConsequence(e)) ?? errors[0];
}

/** True for an error that only follows from another stage failing (SIGPIPE, EPIPE, a teardown). */
export function isConsequence(err: unknown): boolean {
  if (err instanceof BridgeError) {
    if (err.code === 'CANCELLED') return true;
    // A child whose reader went away dies of SIGPIPE, or exits non-zero saying so (zstd: "Write
    // error : … Connection reset by peer", since Node's pipes are socket pairs).
    if (
      err.details?.signal === 'SIGPIPE' ||
      (err.code === 'PROCESS_FAILED' && /broken pipe|connection reset by peer/i.test(err.message))
    ) {
      return true;
    }
  }
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return (
    code === 'EPIPE' ||
    code === 'ERR_STREAM_PREMATURE_CLOSE' ||
    code === 'ERR_STREAM_DESTROYED' ||
    code === 'ABORT_ERR' ||
    (err as Error | undefined)?.name === 'AbortError'
  );
}
