/**
 * A restore is never started by one request: `prepare` describes what will be overwritten and
 * returns a short-lived token; only a second request with that token (from the same user)
 * starts the job. Tokens are single-use and expire after a few minutes.
 */
import { randomBytes } from 'node:crypto';
import { BridgeError } from '../core/errors';

export interface PendingRestore {
  token: string;
  /** The snapshot restored; for a point-in-time restore, the file snapshot it takes the files from. */
  snapshotId: string;
  /** A point-in-time restore (physical mode): `latest` or the time in UTC; absent for a snapshot restore. */
  at?: string;
  include?: string[];
  userId: string;
  expiresAt: number;
  overwrites: string[];
}

export class RestoreConfirmations {
  private readonly pending = new Map<string, PendingRestore>();
  constructor(private readonly ttlMs = 5 * 60_000) {}

  create(p: Omit<PendingRestore, 'token' | 'expiresAt'>): PendingRestore {
    this.sweep();
    const rec = { ...p, token: randomBytes(16).toString('hex'), expiresAt: Date.now() + this.ttlMs };
    this.pending.set(rec.token, rec);
    return rec;
  }

  /** Returns and removes the pending restore; throws when unknown, expired or another user's. */
  consume(token: string, userId: string): PendingRestore {
    this.sweep();
    const p = this.pending.get(token);
    if (!p || p.userId !== userId) {
      throw new BridgeError(
        'PRECONDITION_FAILED',
        'this restore confirmation is unknown or expired: prepare the restore again',
        { hint: 'confirmations are valid for 5 minutes, once, for the admin who asked' },
      );
    }
    this.pending.delete(token);
    return p;
  }

  /** Finds a pending restore by a short code (the first 8 characters), for the slash command. */
  byCode(code: string, userId: string): PendingRestore | undefined {
    this.sweep();
    return [...this.pending.values()].find((p) => p.token.startsWith(code) && p.userId === userId && code.length >= 8);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [k, v] of this.pending) if (v.expiresAt < now) this.pending.delete(k);
  }
}
