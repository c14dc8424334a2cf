/**
 * What `restore --at` asks for, read strictly (a time without its offset is refused: it would be
 * read in whichever zone the server happens to run), and which backup set reaches it.
 */
import { UsageError } from '../../core/errors';
import type { BackupInfo } from './info';

export type RecoveryTarget = { kind: 'latest' } | { kind: 'time'; at: Date };

const TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,6})?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)$/i;

/** The text as an error message shows it: long input is cut, never repeated whole. */
function shown(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
}

/** `latest`, or an ISO-like time with a zone: `2026-12-01 14:31:00+01:00`, `…T13:31:00Z`, `…+0100`. */
export function parseRecoveryTarget(text: string): RecoveryTarget {
  const t = text.trim();
  if (t.toLowerCase() === 'latest') return { kind: 'latest' };
  const m = t.length <= 64 ? TIME.exec(t) : null;
  if (!m) {
    throw new UsageError(
      `--at ${shown(text)} is not a time with its offset (e.g. "2026-12-01 14:31:00+01:00") nor "latest"`,
    );
  }
  const [y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '00'].map(Number);
  const zone = (m[8] as string).toUpperCase();
  const offset = zone === 'Z' ? 'Z' : zone.length === 3 ? `${zone}:00` : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
  // Date reads 2026-02-30 as March 2nd and 24:00 as the next day: a field out of its range is refused.
  const fields = new Date(Date.UTC(y, mo - 1, d, h, mi, sec));
  const exists =
    fields.getUTCFullYear() === y &&
    fields.getUTCMonth() === mo - 1 &&
    fields.getUTCDate() === d &&
    fields.getUTCHours() === h &&
    fields.getUTCMinutes() === mi &&
    fields.getUTCSeconds() === sec &&
    (zone === 'Z' || (Number(offset.slice(1, 3)) <= 23 && Number(offset.slice(4, 6)) <= 59));
  const at = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6] ?? '00'}${m[7] ?? ''}${offset}`);
  if (!exists || Number.isNaN(at.getTime())) {
    throw new UsageError(
      `--at ${shown(text)} is not a valid time (a date, hour, minute, second or offset out of range)`,
    );
  }
  return { kind: 'time', at };
}

/**
 * The backup to restore from: the newest one consistent (stopped) at or before `at`; for the end
 * of the archive, the newest. undefined when none is old enough (the time is before the window).
 */
export function chooseBackupSet(backups: readonly BackupInfo[], at: Date | undefined): BackupInfo | undefined {
  const sorted = [...backups].sort((a, b) => a.timestamp.stop - b.timestamp.stop);
  if (!at) return sorted[sorted.length - 1];
  return sorted.filter((b) => b.timestamp.stop * 1000 <= at.getTime()).pop();
}
