/**
 * A read budget for online backups (backup.budget.readMBps): a token bucket that every byte the
 * backup reads pays into before it is read, so the disk keeps room for Mattermost. I/O classes
 * (ionice) depend on the disk's scheduler ("none", the default for NVMe and many virtual disks,
 * ignores them), and PostgreSQL reads the dumped tables in its own server process, which we cannot
 * renice: pacing the bytes we consume is the one limit that holds everywhere.
 */
import { Transform } from 'node:stream';
import { CancelledError, throwIfAborted } from './errors';

/** Anything reads can be paced through; `take` resolves once `bytes` may be read, or rejects on abort. */
export interface ReadBudget {
  readonly bytesPerSecond: number;
  /** Waits until `bytes` fit the rate (first come, first served); rejects with the abort's reason (CancelledError). */
  take(bytes: number, signal?: AbortSignal): Promise<void>;
  /** Takes `bytes` only when that needs no wait (true), else takes nothing (false): for synchronous bursts. */
  tryTake(bytes: number): boolean;
}

/** Bytes in a MB as mm-backup counts them everywhere (core/units.ts): 1024 × 1024. */
export const MB = 1024 * 1024;

/**
 * Generic cell rate algorithm: `paidUntil` is the time at which every byte granted so far is paid
 * for at the rate. A take reserves its bytes at once (so concurrent takers queue in call order and
 * a big one cannot be overtaken forever) and waits until its reservation is no further ahead of
 * now than the burst allows. Takes bigger than the burst simply wait longer: a 1 GB file at
 * 10 MB/s waits ~100 s, so the long-run rate holds whatever the sizes asked for.
 */
export class TokenBucket implements ReadBudget {
  private paidUntil: number;
  private readonly burstMs: number;

  /**
   * @param bytesPerSecond the long-run rate (> 0)
   * @param burstBytes what may go at once after a pause; default a tenth of a second's worth, at
   *   least 64 KiB (one stream chunk, so a chunk never waits on itself)
   */
  constructor(
    readonly bytesPerSecond: number,
    burstBytes = Math.max(64 * 1024, bytesPerSecond / 10),
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(bytesPerSecond > 0) || !Number.isFinite(bytesPerSecond)) {
      throw new RangeError(`a rate limit must be a positive number of bytes per second, not ${bytesPerSecond}`);
    }
    this.burstMs = (burstBytes / bytesPerSecond) * 1000;
    // Nothing owed yet: the first burst goes at once.
    this.paidUntil = this.now();
  }

  tryTake(bytes: number): boolean {
    if (!(bytes > 0)) return true;
    const now = this.now();
    const until = Math.max(this.paidUntil, now) + (bytes / this.bytesPerSecond) * 1000;
    if (until - this.burstMs - now > 0) return false;
    this.paidUntil = until;
    return true;
  }

  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    if (!(bytes > 0)) return;
    const now = this.now();
    const cost = (bytes / this.bytesPerSecond) * 1000;
    // Paid-up time in the past is not credit: an hour of quiet still allows only one burst.
    this.paidUntil = Math.max(this.paidUntil, now) + cost;
    // What may run ahead of the rate is the burst.
    const wait = this.paidUntil - this.burstMs - now;
    if (wait <= 0) return;
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        // Give the reservation back so those queued behind it do not wait for bytes never read.
        this.paidUntil -= cost;
        reject(abortError(signal));
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, Math.ceil(wait));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** The error an aborted wait rejects with: the abort's reason when it is ours, else CancelledError. */
function abortError(signal?: AbortSignal): Error {
  try {
    throwIfAborted(signal);
  } catch (err) {
    return err as Error;
  }
  return new CancelledError();
}

/** The budget for `mbPerSecond` (absent, 0 or less: no limit, undefined). */
export function readBudget(mbPerSecond: number | undefined): ReadBudget | undefined {
  return mbPerSecond !== undefined && mbPerSecond > 0 ? new TokenBucket(mbPerSecond * MB) : undefined;
}

/** A pass-through stream that pays for every chunk before passing it on (the database dump goes through one). */
export function throttled(budget: ReadBudget, signal?: AbortSignal): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, cb) {
      budget.take(chunk.length, signal).then(
        () => cb(null, chunk),
        (err: unknown) => cb(err as Error),
      );
    },
  });
}
