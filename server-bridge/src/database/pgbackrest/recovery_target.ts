/**
 * What `restore --at` asks for, read strictly (a time without its offset is refused: it would be
 * read in whichever zone the server happens to run), and which backup set reaches it.
 */
import { UsageError } from '../../core/errors';
import type { BackupInfo } from './info';

export type RecoveryTarget = { kind: 'latest' } | { kind: 'time'; at: Date };

const TIME = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)\s*(Z|[+-]\d{2}(?::?\d{2})?)$/i;

/** `latest`, or an ISO-like time with a zone: `2026-12-01 14:31:00+01:00`, `…T13:31:00Z`, `…+0100`. */
export function parseRecoveryTarget(text: string): RecoveryTarget {
  const t = text.trim();
  if (t.toLowerCase() === 'latest') return { kind: 'latest' };
  const m = TIME.exec(t);
  if (!m) {
    throw new UsageError(
      `--at ${JSON.stringify(text)} is not a time with its offset (e.g. "2026-12-01 14:31:00+01:00") nor "latest"`,
    );
  }
  const zone = (m[3] as string).toUpperCase();
  const offset = zone === 'Z' ? 'Z' : zone.length === 3 ? `${zone}:00` : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
  const at = new Date(`${m[1]}T${m[2]}${offset}`);
  if (Number.isNaN(at.getTime())) throw new UsageError(`--at ${JSON.stringify(text)} is not a valid time`);
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
