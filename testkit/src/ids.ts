/**
 * Mattermost-style ids and a seeded random generator. Sandbox ids are derived from
 * md5(seed:kind:index) so the database (which generates rows server-side with md5()) and Node
 * (which writes the attachment files) agree on every id without passing lists around.
 */
import { createHash, randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A fresh random 26-character lowercase alphanumeric id, like Mattermost's model.NewId(). */
export function newId(): string {
  const bytes = randomBytes(26);
  let s = '';
  for (const b of bytes) s += ALPHABET.charAt(b % 36);
  return s;
}

/** The deterministic sandbox id of object `kind` number `index`: the first 26 hex chars of md5(`seed:kind:index`). */
export function derivedId(seed: string, kind: string, index: number): string {
  return createHash('md5').update(`${seed}:${kind}:${index}`).digest('hex').slice(0, 26);
}

/** True for a valid Mattermost id (26 lowercase alphanumerics). */
export function isValidId(id: string): boolean {
  return /^[a-z0-9]{26}$/.test(id);
}

/** A small, fast, seedable PRNG (mulberry32); returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
