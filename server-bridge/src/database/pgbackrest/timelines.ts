/**
 * The history a restore follows, read from pgBackRest's repository: after a point-in-time
 * restore PostgreSQL goes on on a new timeline, whose `<tli>.history` file (archived at the
 * promotion) lists every ancestor timeline and the WAL position where it was left. A restore
 * along the current timeline replays an ancestor only up to that position, so:
 * - a backup taken on an ancestor after it was left (the abandoned part) cannot be restored from;
 * - the times between the switch point and the new timeline's start were only on the abandoned
 *   history: along the current one they give the state of the switch point (a hole);
 * - the WAL it needs is the ancestors' segments before each switch and the current timeline's
 *   after it: one sequence of segment numbers, in which a missing one is a gap whatever the
 *   timelines (`pgbackrest verify` 2.45 starts a new range at each timeline, so it cannot see a
 *   gap at a switch, and `pgbackrest info` gives one min/max per database, not per timeline).
 * The listing is names and times only (`repo-ls`), no WAL is read: cheap enough for every status.
 */
import type { BackupInfo, StanzaInfo } from './info';
import type { LocalSuperuser } from './local_superuser';
import type { RepoEntry } from './pgbackrest';
import { recoveryWindow } from './recovery_window';
import { currentTimeline } from './restore_queries';
import type { ArchiverStats } from './settings';
import { applyGaps, type GapEffect, type WalGap } from './wal_gaps';

/** One line of a history file: the ancestor `parent` was left at `switchLsn`. */
export interface TimelineSwitch {
  parent: number;
  switchLsn: string;
  reason: string;
}

/** Names and times in `archive/<stanza>/<archiveId>`: segments per timeline, history files. */
export interface ArchiveListing {
  archiveId: string;
  /** Per timeline: its segments' 24-hex names, ascending, with their times in the repository. */
  segments: Map<number, Array<{ name: string; at: Date }>>;
  /** Per timeline > 1: when its history file reached the repository (the new timeline's start). */
  histories: Map<number, Date>;
}

/** The current timeline and its ancestors, oldest first; each but the last with where it was left. */
export interface Lineage {
  timeline: number;
  steps: Array<{ timeline: number; leftAt?: string; reason?: string; begin?: Date }>;
}

/** A stretch of wall time that the current history cannot give back as it was (docs/pitr.md). */
export interface HistoryHole {
  /** The abandoned timeline. */
  timeline: number;
  /**
   * The switch point's time: the history file's `before <time>` (the first commit recovery did not
   * apply; PostgreSQL writes it for a time target), else when the timeline's last segment before
   * the switch reached the repository.
   */
  from: Date;
  /** When the next timeline began (its history file's time in the repository). */
  to: Date;
}

export interface HistoryView {
  lineage: Lineage;
  /** Backups a restore along the current timeline can start from. */
  usable: BackupInfo[];
  holes: HistoryHole[];
  /** Segments missing from the sequence the current history needs, after the oldest usable backup's start. */
  gaps: WalGap[];
}

const SEGMENT_FILE = /^([0-9A-F]{16})\/([0-9A-F]{24})-[0-9a-f]{40}(?:\.(?:gz|bz2|lz4|zst))?$/;
const HISTORY_FILE = /^([0-9A-F]{8})\.history$/;
const LSN = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i;
/** 16 MiB segments (PostgreSQL's default, as restore_space.ts assumes): 256 per 4 GiB "log". */
const SEGS_PER_LOG = 0x100;

/** Reads a `repo-ls --recurse --output=json` listing of the archive id's directory. */
export function readListing(archiveId: string, entries: RepoEntry[]): ArchiveListing {
  const segments = new Map<number, Array<{ name: string; at: Date }>>();
  const histories = new Map<number, Date>();
  for (const e of entries) {
    if (e.type !== 'file' || e.time === undefined) continue;
    const s = SEGMENT_FILE.exec(e.name);
    if (s && (s[2] as string).startsWith(s[1] as string)) {
      const name = s[2] as string;
      const tli = parseInt(name.slice(0, 8), 16);
      const list = segments.get(tli) ?? [];
      list.push({ name, at: new Date(e.time * 1000) });
      segments.set(tli, list);
      continue;
    }
    const h = HISTORY_FILE.exec(e.name);
    if (h) histories.set(parseInt(h[1] as string, 16), new Date(e.time * 1000));
  }
  for (const list of segments.values()) list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { archiveId, segments, histories };
}

/** PostgreSQL's history file: `<parent tli>\t<switch lsn>\t<reason>` per line, oldest first; `#` comments. */
export function parseHistory(text: string): TimelineSwitch[] {
  const out: TimelineSwitch[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(\d{1,10})\s+([0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8})\s*(.*)$/.exec(line);
    if (!m) continue; // PostgreSQL skips what it cannot read too (readTimeLineHistory)
    out.push({ parent: Number(m[1]), switchLsn: (m[2] as string).toUpperCase(), reason: (m[3] ?? '').slice(0, 200) });
  }
  return out;
}

/** The lineage of `timeline` from its history file's switches (empty for timeline 1) and the listing's times. */
export function lineageOf(timeline: number, switches: TimelineSwitch[], listing: ArchiveListing): Lineage {
  const steps: Lineage['steps'] = switches.map((s) => ({
    timeline: s.parent,
    leftAt: s.switchLsn,
    reason: s.reason,
  }));
  steps.push({ timeline });
  for (let i = 1; i < steps.length; i++) {
    const step = steps[i] as Lineage['steps'][number];
    step.begin = listing.histories.get(step.timeline);
  }
  return { timeline, steps };
}

/** An LSN as a number (fits: 2^53 bytes of WAL is far away). */
function lsnValue(lsn: string): number {
  const [hi = '0', lo = '0'] = lsn.split('/');
  return parseInt(hi, 16) * 0x100000000 + parseInt(lo, 16);
}

/** The segment number (timeline left out) of a 24-hex name, or of the segment holding an LSN. */
function segNo(name: string): number {
  return parseInt(name.slice(8, 16), 16) * SEGS_PER_LOG + parseInt(name.slice(16, 24), 16);
}
function segNoOfLsn(lsn: string): number {
  return Math.floor(lsnValue(lsn) / (16 * 1024 * 1024));
}
function segName(tli: number, no: number): string {
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
  return `${hex(tli)}${hex(Math.floor(no / SEGS_PER_LOG))}${hex(no % SEGS_PER_LOG)}`;
}

/** PostgreSQL writes `before|after <timestamp>` for a time target; other reasons carry no time. */
function reasonTime(reason: string | undefined): Date | undefined {
  const m = /^(?:before|after)\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)([+-]\d\d(?::?\d\d)?)?\s*$/.exec(
    reason ?? '',
  );
  if (!m) return undefined;
  const zone = m[2] ?? '+00';
  const offset = zone.length === 3 ? `${zone}:00` : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
  const d = new Date(`${(m[1] as string).replace(' ', 'T')}${offset}`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/**
 * What the current history allows. Backups: on a lineage timeline, and on an ancestor only when
 * they stopped before it was left (by LSN when pgBackRest gives it, else by segment). Holes: from
 * each switch point's time (the history file's `before|after <time>`, else the time its
 * timeline's last segment before the switch reached the repository) to the next timeline's
 * start. Gaps: segment numbers missing between the oldest usable backup's first segment and the
 * current timeline's last one, each looked up on the timeline the history has there.
 */
export function historyView(backups: readonly BackupInfo[], lineage: Lineage, listing: ArchiveListing): HistoryView {
  const steps = lineage.steps;
  const stepOf = (tli: number) => steps.findIndex((s) => s.timeline === tli);
  const usable = backups.filter((b) => {
    const start = b.archive?.start;
    if (!start) return false;
    const i = stepOf(parseInt(start.slice(0, 8), 16));
    if (i < 0) return false;
    const left = steps[i]?.leftAt;
    if (!left) return true;
    const stopLsn = b.lsn?.stop;
    if (stopLsn && LSN.test(stopLsn)) return lsnValue(stopLsn) <= lsnValue(left);
    return !!b.archive?.stop && segNo(b.archive.stop) < segNoOfLsn(left);
  });

  const holes: HistoryHole[] = [];
  for (let i = 0; i + 1 < steps.length; i++) {
    const step = steps[i] as Lineage['steps'][number];
    const to = steps[i + 1]?.begin;
    if (!to || !step.leftAt) continue;
    const switchSeg = segNoOfLsn(step.leftAt);
    const before = (listing.segments.get(step.timeline) ?? []).filter((s) => segNo(s.name) < switchSeg).pop();
    const from = reasonTime(step.reason) ?? before?.at ?? steps[i]?.begin;
    if (from && from < to) holes.push({ timeline: step.timeline, from, to });
  }

  // The timeline the current history has at each segment number: an ancestor up to (not
  // including) the segment of its switch point, whose file the next timeline holds.
  const owner = (no: number): number => {
    for (const s of steps) if (!s.leftAt || no < segNoOfLsn(s.leftAt)) return s.timeline;
    return lineage.timeline;
  };
  const gaps: WalGap[] = [];
  const present = new Map<number, Set<number>>();
  for (const [tli, list] of listing.segments) present.set(tli, new Set(list.map((s) => segNo(s.name))));
  const first = usable.map((b) => b.archive?.start as string).sort((a, b) => segNo(a) - segNo(b))[0];
  const lastOnCurrent = listing.segments.get(lineage.timeline)?.at(-1)?.name;
  const lastOnLineage = [...steps]
    .reverse()
    .map((s) => listing.segments.get(s.timeline)?.at(-1)?.name)
    .find(Boolean);
  const last = lastOnCurrent ?? lastOnLineage;
  if (first && last) {
    let run: string | undefined; // the last present segment before a missing stretch
    let missing = false;
    // Bounded: at most a few weeks of WAL is kept (pitr.window); a corrupt name cannot make this run away.
    const end = Math.min(segNo(last), segNo(first) + 2_000_000);
    for (let no = segNo(first); no <= end; no++) {
      const tli = owner(no);
      if (present.get(tli)?.has(no)) {
        if (missing && run) {
          gaps.push({ archiveId: listing.archiveId, lastBefore: run, firstAfter: segName(tli, no) });
        }
        missing = false;
        run = segName(tli, no);
      } else {
        missing = true;
      }
    }
  }
  return { lineage, usable, holes, gaps };
}

/** What reading the history needs of pgBackRest (PgBackRest's repo-ls and repo-get). */
export interface RepoReader {
  repoLs(dir: string, signal?: AbortSignal, opts?: { recurse?: boolean }): Promise<RepoEntry[]>;
  repoGet(file: string, signal?: AbortSignal): Promise<string>;
}

/**
 * The history view of `timeline` in the stanza's current archive id: one recursive listing and,
 * past timeline 1, one history file. undefined when the stanza has no archive yet.
 */
export async function readHistoryView(
  cli: RepoReader,
  stanzaName: string,
  backups: readonly BackupInfo[],
  archiveId: string | undefined,
  timeline: number,
  signal?: AbortSignal,
): Promise<HistoryView | undefined> {
  if (!archiveId || !/^[0-9]+-[0-9]+$/.test(archiveId) || !Number.isInteger(timeline) || timeline < 1) return undefined;
  const dir = `archive/${stanzaName}/${archiveId}`;
  const listing = readListing(archiveId, await cli.repoLs(dir, signal, { recurse: true }));
  const hex = timeline.toString(16).toUpperCase().padStart(8, '0');
  // Timeline 1 has no history file; a later one without it cannot be followed by recovery either.
  const switches = timeline > 1 ? parseHistory(await cli.repoGet(`${dir}/${hex}.history`, signal)) : [];
  return historyView(backups, lineageOf(timeline, switches, listing), listing);
}

/**
 * The history view of the live cluster's timeline (asked of PostgreSQL): what status, restore
 * --at in place and deep verify all judge the archive by. undefined while no backup exists.
 */
export async function readLiveHistoryView(
  cli: RepoReader,
  stanza: StanzaInfo | undefined,
  su: LocalSuperuser,
  signal?: AbortSignal,
): Promise<HistoryView | undefined> {
  if (!stanza?.backup.length) return undefined;
  const timeline = await currentTimeline(su, signal);
  return readHistoryView(cli, stanza.name, stanza.backup, stanza.archive.at(-1)?.id, timeline, signal);
}

/**
 * Whether a gap `pgbackrest verify` found (inside one timeline) lies on this history: on one of
 * its timelines, before the point that timeline was left. One off it is in WAL no restore along
 * the history reads (an abandoned timeline's part after its switch point).
 */
export function gapOnHistory(g: WalGap, lineage: Lineage): boolean {
  const step = lineage.steps.find((st) => st.timeline === parseInt(g.firstAfter.slice(0, 8), 16));
  return !!step && (!step.leftAt || segNo(g.firstAfter) < segNoOfLsn(step.leftAt));
}

export interface HistoryEffect extends GapEffect {
  /** Holes inside the window: times the current history gives back only as their switch point. */
  holes: HistoryHole[];
  /** The timeline the window is of. */
  timeline?: number;
}

/** A hole for people: what it is and what a restore to a time in it would give. */
export function describeHole(h: HistoryHole): string {
  return `${h.from.toISOString()} … ${h.to.toISOString()} was on timeline ${h.timeline} after the point a restore left it at (timeline ${h.timeline} was abandoned; the current history resumes at ${h.to.toISOString()}): a time in it is not restorable on the current timeline`;
}

/**
 * The recovery window along the current history: from the backups it can use, ending as
 * recovery_window.ts says, then cut by the gaps along it (the listing's, and those the last deep
 * verify found on its timelines), with the holes inside it named. Without a view (the listing
 * could not be read) it is the plain window with the verify gaps, as before.
 */
export function applyHistory(
  stanza: StanzaInfo | undefined,
  archiver: ArchiverStats,
  view: HistoryView | undefined,
  verifyGaps: WalGap[],
): HistoryEffect {
  if (!view) return { ...applyGaps(recoveryWindow(stanza, archiver), stanza, verifyGaps), holes: [] };
  const onHistory: StanzaInfo | undefined = stanza && { ...stanza, backup: view.usable };
  const window = recoveryWindow(onHistory, archiver);
  // A gap verify found counts only on a timeline of this history, before the point it was left.
  const fromVerify = verifyGaps.filter((g) => gapOnHistory(g, view.lineage));
  const bySegment = (x: string) => x.slice(8);
  const effect = applyGaps(window, onHistory, [...view.gaps, ...fromVerify], bySegment);
  const w = effect.window;
  const holes = w ? view.holes.filter((h) => h.to > w.start && h.from < w.end) : [];
  return { ...effect, holes, timeline: view.lineage.timeline };
}

/** The hole `at` falls in, if any (its start included: "before <time>" means that commit is not on the new history). */
export function holeAt(holes: readonly HistoryHole[], at: Date): HistoryHole | undefined {
  return holes.find((h) => at >= h.from && at < h.to);
}
