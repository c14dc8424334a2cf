/**
 * Which physical backup to take when none is asked for, and how many days of full backups the
 * recovery window needs. Pure, so the rules are tested without a cluster.
 */
import type { BackupType, Retention } from './pgbackrest';
import type { BackupInfo } from './info';

const DAY_MS = 86_400_000;

/**
 * full when there is none or the newest full started `fullEveryDays` ago or more; otherwise incr.
 * incr (changed files since the previous backup of any type) rather than diff (since the full):
 * each day copies only that day's changes, and pgBackRest restores an incr chain by file
 * reference, not by replaying it, so a longer chain costs little at restore. The risk of a chain,
 * one damaged link, is bounded by the next full.
 */
export function chooseBackupType(backups: readonly BackupInfo[], now: Date, fullEveryDays: number): BackupType {
  const fulls = backups.filter((b) => b.type === 'full');
  const newest = fulls.reduce<BackupInfo | undefined>(
    (a, b) => (!a || b.timestamp.start > a.timestamp.start ? b : a),
    undefined,
  );
  if (!newest) return 'full';
  return now.getTime() - newest.timestamp.start * 1000 >= fullEveryDays * DAY_MS ? 'full' : 'incr';
}

/**
 * pitr.window ("7d", "36h") as pgBackRest's time retention, which counts whole days: hours are
 * rounded up, so the window is always covered (a 36h window keeps 2 days).
 */
export function retentionFor(window: string): Retention {
  const m = /^(\d+)([dh])$/.exec(window);
  if (!m) throw new Error(`pitr.window ${window} is not a duration (the config schema should have refused it)`);
  const n = Number(m[1]);
  return { fullDays: m[2] === 'd' ? n : Math.ceil(n / 24) };
}
