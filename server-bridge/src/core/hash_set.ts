/**
 * A set of SHA-256 names (objects) in 8 bytes each, for sets as large as a repository: the first 64
 * bits of each name, sorted and deduplicated in a BigUint64Array (a Set<string> costs 100–200 bytes
 * a name). Names are added into a buffer that is sorted (natively) and merged in when full, so a
 * name added many times (an object every snapshot uses) costs nothing after its first time.
 *
 * Not exact, by design: `has` may answer yes for a name never added whose first 64 bits equal an
 * added one's (by chance about n²/2^65, about 3·10⁻⁸ for a million names; on purpose, with 2^32
 * hashes by someone who chooses file contents). Use it only where a wrong yes errs safe, e.g. prune
 * keeping an unused object; where a yes would skip work that must be done (copying, checking), use
 * the exact, sorted pass of hash_sort.ts instead.
 */
import os from 'node:os';
import { BridgeError } from './errors';

/** Which 32-bit half of a 64-bit element comes first in memory. */
const HI = os.endianness() === 'LE' ? 1 : 0;
const LO = 1 - HI;
const MIN_BUFFER = 1 << 16;

/** The first 32 and the next 32 bits of the last name parsed, as unsigned numbers (no BigInt, no array per name). */
let parsedHi = 0;
let parsedLo = 0;

/**
 * Parses a name's first 16 hex digits into parsedHi and parsedLo. Names come checked (the manifest schema,
 * layout.objectOfKey): only the length and the digits read are checked again, a full check per name
 * would cost more than the rest of the set.
 */
function parsePrefix(sha256: string): void {
  if (sha256.length !== 64) throw notAName(sha256);
  let hi = 0;
  let lo = 0;
  for (let i = 0; i < 8; i++) hi = hi * 16 + nibble(sha256, i);
  for (let i = 8; i < 16; i++) lo = lo * 16 + nibble(sha256, i);
  parsedHi = hi;
  parsedLo = lo;
}

function nibble(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c >= 48 && c <= 57) return c - 48; // '0'–'9'
  if (c >= 97 && c <= 102) return c - 87; // 'a'–'f'
  throw notAName(s);
}

function notAName(s: string): BridgeError {
  return new BridgeError('INTERNAL', `not an object name: ${JSON.stringify(s)}`);
}

/** Writes the first 32 and the next 32 bits of `sha256` into out[0] and out[1], checked as PrefixSet checks a name. */
export function readPrefix(sha256: string, out: Uint32Array): void {
  parsePrefix(sha256);
  out[0] = parsedHi;
  out[1] = parsedLo;
}

/** Contract: `has(x)` is true for every x added; it may also be true for an x never added (see above). */
export class PrefixSet {
  /** Sorted, distinct prefixes; `words` views the same memory as 32-bit halves. */
  private sorted = new BigUint64Array(0);
  private words = new Uint32Array(this.sorted.buffer);
  private buffer = new BigUint64Array(MIN_BUFFER);
  private bufferWords = new Uint32Array(this.buffer.buffer);
  private buffered = 0;
  private mergesDone = 0;

  add(sha256: string): void {
    if (this.buffered === this.buffer.length) this.merge();
    parsePrefix(sha256);
    const at = this.buffered++ * 2;
    this.bufferWords[at + HI] = parsedHi;
    this.bufferWords[at + LO] = parsedLo;
  }

  has(sha256: string): boolean {
    if (this.buffered) this.merge();
    parsePrefix(sha256);
    const hi = parsedHi;
    const lo = parsedLo;
    const w = this.words;
    let a = 0;
    let b = this.sorted.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      const mh = w[2 * mid + HI] as number;
      const ml = w[2 * mid + LO] as number;
      if (mh === hi && ml === lo) return true;
      if (mh < hi || (mh === hi && ml < lo)) a = mid + 1;
      else b = mid;
    }
    return false;
  }

  /** Distinct prefixes held (at most the number of distinct names added). */
  get size(): number {
    if (this.buffered) this.merge();
    return this.sorted.length;
  }

  /**
   * Merges run so far. Each costs O(size): has() after add() merges first, so a caller that adds
   * one name between lookups pays O(size) per name; add in bulk between lookups.
   */
  get merges(): number {
    return this.mergesDone;
  }

  /** Bytes of memory the set holds now. */
  get bytes(): number {
    return this.sorted.byteLength + this.buffer.byteLength;
  }

  /**
   * Sorts the buffer and merges what is new into the sorted array (two passes: count, then
   * write into an array of exactly the new size). The buffer grows with the set (a quarter of
   * it), so each merge's cost is shared by at least that many additions.
   */
  private merge(): void {
    this.mergesDone++;
    const n = this.buffered;
    this.buffered = 0;
    this.buffer.subarray(0, n).sort();
    const bw = this.bufferWords;
    const sw = this.words;
    const m = this.sorted.length;
    const count = (write: Uint32Array | undefined): number => {
      let i = 0;
      let j = 0;
      let out = 0;
      let lastHi = -1;
      let lastLo = -1;
      while (i < m || j < n) {
        let hi: number;
        let lo: number;
        const takeOld =
          j >= n ||
          (i < m &&
            ((sw[2 * i + HI] as number) < (bw[2 * j + HI] as number) ||
              ((sw[2 * i + HI] as number) === (bw[2 * j + HI] as number) &&
                (sw[2 * i + LO] as number) <= (bw[2 * j + LO] as number))));
        if (takeOld) {
          hi = sw[2 * i + HI] as number;
          lo = sw[2 * i + LO] as number;
          i++;
        } else {
          hi = bw[2 * j + HI] as number;
          lo = bw[2 * j + LO] as number;
          j++;
        }
        if (hi === lastHi && lo === lastLo) continue;
        lastHi = hi;
        lastLo = lo;
        if (write) {
          write[2 * out + HI] = hi;
          write[2 * out + LO] = lo;
        }
        out++;
      }
      return out;
    };
    const total = count(undefined);
    if (total > m) {
      const next = new BigUint64Array(total);
      const nextWords = new Uint32Array(next.buffer);
      count(nextWords);
      this.sorted = next;
      this.words = nextWords;
    }
    const want = Math.max(MIN_BUFFER, this.sorted.length >>> 2);
    if (want > this.buffer.length * 1.5) {
      this.buffer = new BigUint64Array(want);
      this.bufferWords = new Uint32Array(this.buffer.buffer);
    }
  }
}
