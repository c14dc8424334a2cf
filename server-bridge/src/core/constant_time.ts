/** Comparing secrets (tokens) without leaking through timing how much of them matched. */
import { createHash, timingSafeEqual } from 'node:crypto';

/** Equal strings, compared in constant time (hashed first, so lengths leak nothing either). */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}
