/**
 * The text of a progress line: a bar, the percentage and done/total when the total is known and
 * not zero, the count alone otherwise (never "/0"). Byte counts share one scale (KB, MB, GB) so
 * both sides read alike; counts take their noun in the right number ("1/1 file", "3 objects").
 */
import { plural } from '../core/units';

export type ProgressUnit = 'bytes' | 'files' | 'objects';

const NOUN: Record<Exclude<ProgressUnit, 'bytes'>, string> = { files: 'file', objects: 'object' };
const SCALES: Array<[string, number]> = [
  ['GB', 1024 ** 3],
  ['MB', 1024 ** 2],
  ['KB', 1024],
];

export function progressText(done: number, total: number | undefined, unit: ProgressUnit, barSize = 30): string {
  const known = total !== undefined && total > 0;
  const amount =
    unit === 'bytes' ? bytes(done, known ? total : undefined) : counts(done, known ? total : undefined, unit);
  if (!known) return amount;
  const ratio = Math.min(Math.max(done / total, 0), 1);
  const full = Math.round(ratio * barSize);
  return `[${'\u2588'.repeat(full)}${'\u2591'.repeat(barSize - full)}] ${Math.floor(ratio * 100)}% ${amount}`;
}

function bytes(done: number, total: number | undefined): string {
  const largest = Math.max(done, total ?? 0);
  const [name, size] = SCALES.find(([, s]) => largest >= s) ?? ['B', 1];
  const f = (n: number) => (size === 1 ? String(Math.round(n)) : (n / size).toFixed(1));
  return total === undefined ? `${f(done)} ${name}` : `${f(done)}/${f(total)} ${name}`;
}

function counts(done: number, total: number | undefined, unit: Exclude<ProgressUnit, 'bytes'>): string {
  if (total === undefined) return plural(done, NOUN[unit], unit);
  return `${done}/${plural(total, NOUN[unit], unit)}`;
}
