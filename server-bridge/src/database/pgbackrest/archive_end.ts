/**
 * Where the archived WAL in a local (posix) pgBackRest repository ends, read from the repository
 * itself: with no live cluster (a restore onto a new host) there is no pg_stat_archiver, and
 * `pgbackrest info` names segments, not times. The newest segment of each timeline is found by
 * name, and the one written last (its file's modification time) is where the old host stopped:
 * its timeline is the history it was on, its time the end of what can be reached.
 */
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { PreconditionError } from '../../core/errors';
import type { RepoEntry } from './pgbackrest';

export interface ArchiveEnd {
  /** The segment's 24-hex name. */
  segment: string;
  timeline: number;
  /** When it was written into the repository (its file's mtime). */
  at: Date;
}

const LOG_DIR = /^[0-9A-F]{16}$/;
/** A segment pgBackRest stored: name, checksum, optional compression suffix; never `.partial` or `.history`. */
const SEGMENT = /^([0-9A-F]{24})-[0-9a-f]{40}(\.(?:gz|bz2|lz4|zst))?$/;

/**
 * The last archived segment under `<repoPath>/archive/<stanza>/<archiveId>`, or undefined when
 * there is none (or the directory cannot be read). Nothing is followed through a link: the
 * repository is writable by postgres, so names and times here only steer the choice of timeline
 * and the window's end; pgBackRest checks what it restores.
 */
export async function lastArchivedSegment(
  repoPath: string,
  stanza: string,
  archiveId: string,
): Promise<ArchiveEnd | undefined> {
  if (!/^[0-9]+-[0-9]+$/.test(archiveId)) return undefined;
  const dir = path.join(repoPath, 'archive', stanza, archiveId);
  const logs = (await readdir(dir).catch(() => [] as string[])).filter((n) => LOG_DIR.test(n)).sort();
  // The highest log directory of each timeline holds that timeline's newest segment.
  const lastLog = new Map<string, string>();
  for (const l of logs) lastLog.set(l.slice(0, 8), l);
  let best: ArchiveEnd | undefined;
  for (const log of lastLog.values()) {
    const sub = path.join(dir, log);
    if (!(await lstat(sub).catch(() => undefined))?.isDirectory()) continue;
    const names = (await readdir(sub).catch(() => [] as string[])).filter((n) => SEGMENT.test(n)).sort();
    const last = names[names.length - 1];
    if (!last) continue;
    const st = await lstat(path.join(sub, last)).catch(() => undefined);
    if (!st?.isFile()) continue;
    const segment = (SEGMENT.exec(last) as RegExpExecArray)[1] as string;
    // A time a Date cannot hold (a file's time set by whoever writes the repository) would end the
    // window at an invalid date and fail later with no word of where it came from.
    if (!(st.mtimeMs >= 0 && st.mtimeMs <= 253_402_300_799_000)) {
      throw new PreconditionError(
        'PRECONDITION_FAILED',
        `${path.join(sub, last)} has a modification time outside 1970 … 9999 (${Math.floor(st.mtimeMs / 1000)} s): where the archived WAL ends cannot be read; nothing was changed`,
        { hint: 'set its time to when it was archived (touch -d), or find out who changed the repository' },
      );
    }
    if (!best || st.mtimeMs > best.at.getTime()) {
      best = { segment, timeline: parseInt(segment.slice(0, 8), 16), at: new Date(st.mtimeMs) };
    }
  }
  return best;
}

/** Lists a directory of the repository (relative to its path), as `pgbackrest repo-ls` does. */
export type RepoLister = (dir: string) => Promise<RepoEntry[]>;

/**
 * The last archived segment under `archive/<stanza>/<archiveId>` of any repository, read through
 * `ls` (two listings per timeline at most: its log directories, then the highest one's files).
 */
export async function lastArchivedSegmentVia(
  ls: RepoLister,
  stanza: string,
  archiveId: string,
): Promise<ArchiveEnd | undefined> {
  if (!/^[0-9]+-[0-9]+$/.test(archiveId)) return undefined;
  const dir = `archive/${stanza}/${archiveId}`;
  const logs = (await ls(dir))
    .filter((e) => e.type === 'path' && LOG_DIR.test(e.name))
    .map((e) => e.name)
    .sort();
  const lastLog = new Map<string, string>();
  for (const l of logs) lastLog.set(l.slice(0, 8), l);
  let best: ArchiveEnd | undefined;
  for (const log of lastLog.values()) {
    const files = (await ls(`${dir}/${log}`))
      .filter((e) => e.type === 'file' && SEGMENT.test(e.name) && e.time !== undefined)
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    const last = files[files.length - 1];
    if (!last) continue;
    const segment = (SEGMENT.exec(last.name) as RegExpExecArray)[1] as string;
    const at = new Date((last.time as number) * 1000);
    // Whole seconds: a tie goes to the higher timeline, the history that went on.
    if (!best || at.getTime() >= best.at.getTime()) {
      best = { segment, timeline: parseInt(segment.slice(0, 8), 16), at };
    }
  }
  return best;
}
