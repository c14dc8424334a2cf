/**
 * Snapshots in physical mode (docs/pitr.md): the database part of a backup is a reference to the
 * newest pgBackRest backup of the current timeline plus the WAL position the snapshot is
 * consistent at, instead of a dump. The position is read (and the dump's "pinned" moment passed)
 * at once; a committed transaction and a WAL switch follow, and the switched segment must reach
 * pgBackRest's archive before the record is returned, so a committed manifest always refers to
 * WAL that is in the repository. A logical dump is still taken every pitr.logicalDumpEveryDays
 * (or with --logical), so that a portable copy exists.
 */
import type {
  BackupComponent,
  BackupContext,
  ComponentPlan,
  ComponentStepTitles,
  Estimate,
  WalkContext,
} from '../components/component';
import { MAIN_DATABASE } from '../components/registry';
import type { Config } from '../config/schema';
import { PreconditionError, ProcessError } from '../core/errors';
import { describeTarget, type DbTarget } from '../database/dsn';
import type { DatabaseEngine } from '../database/engine';
import type { BackupInfo, StanzaInfo } from '../database/pgbackrest/info';
import type { LocalSuperuser } from '../database/pgbackrest/local_superuser';
import { PgBackRest, resolvePgBackRest } from '../database/pgbackrest/pgbackrest';
import { postgresAccount } from '../database/pgbackrest/postgres_account';
import { switchWal } from '../database/pgbackrest/restore_queries';
import { readArchiver } from '../database/pgbackrest/settings';
import type { Discovery } from '../discovery/discover';
import type { EngineContext } from '../jobs/context';
import type { ComponentRecord, Manifest } from '../manifest/manifest';
import { segmentTimeline, type PhysicalReference } from '../manifest/physical_reference';
import { z } from 'zod';
import { inspectPitr, type PitrSite } from './pitr_site';
import { loadPitrState } from './pitr_state';

const DAY_MS = 86_400_000;
/** pgBackRest's archive-push of one segment takes a few hundred ms: a coarser poll added most of a period to every backup. */
const POLL_MS = 100;

/** What the database part of this backup is, and why (said in the job's preflight and result; a fallback rewrites it). */
export interface DatabasePart {
  physical: boolean;
  reason: string;
}

/** True when `m`'s main database part is a dump (what a logical restore and the restore-by-hand recipe need). */
export function hasLogicalDump(m: Manifest): boolean {
  return m.components.some((c) => c.id === MAIN_DATABASE && c.status === 'included' && c.database !== undefined);
}

/**
 * Physical when physical mode is enabled, the database is PostgreSQL, --logical was not asked, and
 * the newest trusted logical dump of this install is younger than pitr.logicalDumpEveryDays (0:
 * dumps are never due). A snapshot that fails its signature check never counts as that dump.
 */
export async function chooseDatabasePart(ec: EngineContext, d: Discovery, logical?: boolean): Promise<DatabasePart> {
  const dump = (reason: string): DatabasePart => ({ physical: false, reason });
  if (d.database.driver !== 'postgres') return dump('a dump (physical mode is for PostgreSQL)');
  const state = await loadPitrState(ec.cfg).catch(() => undefined);
  if (state?.phase !== 'enabled') return dump('a dump (physical mode is not enabled)');
  if (logical) return dump('a logical dump (--logical)');
  const every = ec.cfg.pitr.logicalDumpEveryDays;
  if (every === 0) return { physical: true, reason: 'a pgBackRest reference (pitr.logicalDumpEveryDays is 0)' };
  const { manifests } = await ec.repo.listSnapshotSummaries();
  const candidates = manifests.filter((m) => m.installDir === d.installDir && hasLogicalDump(m)).reverse();
  for (const m of candidates) {
    if ((await ec.trust.checkManifest(ec.repo, m)).state !== 'signed') continue;
    const age = Date.now() - Date.parse(m.startedAt);
    if (age >= every * DAY_MS) {
      return dump(
        `a logical dump (the last one, in snapshot ${m.id}, is ${Math.floor(age / DAY_MS)} days old; pitr.logicalDumpEveryDays ${every})`,
      );
    }
    return { physical: true, reason: `a pgBackRest reference (the last logical dump is in snapshot ${m.id})` };
  }
  return dump('a logical dump (none of this install yet)');
}

/** With `part` physical, the main database's component becomes a reference (its dump stays as the fallback). */
export function withDatabasePart(
  components: BackupComponent[],
  part: DatabasePart | undefined,
  cfg: Config,
  engineFor: (t: DbTarget) => DatabaseEngine,
): BackupComponent[] {
  if (!part?.physical) return components;
  return components.map((c) =>
    c.plan.id === MAIN_DATABASE && c.plan.db ? new PhysicalReferenceComponent(c, cfg, engineFor(c.plan.db), part) : c,
  );
}

interface Source {
  site: PitrSite;
  cli: PgBackRest;
  backup: BackupInfo;
  timeline: number;
}

/**
 * The main database as a reference. Its estimate finds the backup to refer to; when there is none
 * (no physical backup on the current timeline yet, pgBackRest unusable, archiving failing) the
 * component dumps instead, and says why as a warning of the job: a backup is never lost for it.
 */
export class PhysicalReferenceComponent implements BackupComponent {
  private source?: Source;
  private fallback?: string;
  private preparing?: Promise<void>;

  constructor(
    private readonly dump: BackupComponent,
    private readonly cfg: Config,
    private readonly engine: DatabaseEngine,
    /** Told when the component dumps after all, so the job's result says why. */
    private readonly part?: DatabasePart,
  ) {}

  get plan(): ComponentPlan {
    return this.dump.plan;
  }

  /**
   * What its steps do: refer to a pgBackRest backup (named once the estimate has found it), or,
   * after a fallback, the dump's own titles.
   */
  stepTitles(): ComponentStepTitles | undefined {
    if (this.fallback) return this.dump.stepTitles?.();
    const backup = this.source ? `PostgreSQL backup ${this.source.backup.label}` : 'the newest PostgreSQL backup';
    const what = this.plan.title;
    return {
      backup: `Reference ${backup} (pgBackRest) and the WAL position of ${what}`,
      pin: `Reference ${backup} (pgBackRest): read the WAL position of ${what}`,
      finish: `Finish the reference of ${what}: its WAL archived by pgBackRest`,
    };
  }

  async estimate(previous?: ComponentRecord, walk?: WalkContext): Promise<Estimate> {
    await this.prepare();
    if (!this.source) return this.dump.estimate(previous, walk);
    return { files: 0, bytes: 0, changedBytes: 0 };
  }

  async backup(ctx: BackupContext): Promise<ComponentRecord> {
    await this.prepare(ctx.step.signal);
    const source = this.source;
    if (!source) {
      ctx.step.log('warn', `the database is dumped instead of referenced: ${this.fallback ?? 'unknown'}`);
      if (this.part) {
        this.part.physical = false;
        this.part.reason = `a dump instead of a pgBackRest reference: ${this.fallback ?? 'unknown'}`;
      }
      return this.dump.backup(ctx);
    }
    const t0 = Date.now();
    const signal = ctx.step.signal;
    const point = await readPoint(source.site.su, signal);
    // What the snapshot holds of the database is fixed from here (the dump's "pinned").
    ctx.onPinned?.();
    const timeline = segmentTimeline(point.segment);
    if (timeline !== source.timeline) {
      throw new PreconditionError(
        'PRECONDITION_FAILED',
        `the cluster changed timeline (${source.timeline} → ${timeline}) during the backup`,
        { hint: 'run the backup again' },
      );
    }
    // A commit and a switch after the point: recovery finds a record at or after it (it must, or it
    // fails at the end of WAL), and the segment holding both is archived before the manifest is written.
    // The server's version (a connection of its own) is asked beside the switch and the wait.
    const version = this.engine.serverVersion();
    version.catch(() => undefined);
    const segment = await switchWal(source.site.su, signal);
    await waitArchived(source.site.su, segment, Math.max(60, 3 * this.cfg.pitr.archiveTimeoutSeconds) * 1000, signal);
    const physical: PhysicalReference = {
      tool: 'pgbackrest',
      stanza: this.cfg.pitr.stanza,
      label: source.backup.label,
      backupType: source.backup.type as PhysicalReference['backupType'],
      backupStoppedAt: new Date(source.backup.timestamp.stop * 1000).toISOString(),
      lsn: point.lsn,
      timeline,
      segment,
      at: point.at.toISOString(),
      target: describeTarget(this.engine.target),
      serverVersion: await version,
    };
    ctx.step.log(
      'info',
      `database: pgBackRest backup ${physical.label} and WAL to ${physical.lsn} (consistent at ${physical.at}, timeline ${timeline}, ${segment} archived)`,
    );
    return {
      id: this.plan.id,
      title: this.plan.title,
      status: 'included',
      exclude: [],
      entries: [],
      physical,
      files: 0,
      bytes: 0,
      newBytes: 0,
      filesRead: 0,
      durationMs: Date.now() - t0,
    };
  }

  /** Finds the backup to refer to, once (preflight starts it; estimate and backup await the same promise). */
  prepare(signal?: AbortSignal): Promise<void> {
    this.preparing ??= (async () => {
      try {
        this.source = await findSource(this.cfg, signal);
      } catch (err) {
        if (signal?.aborted) throw err;
        this.fallback = (err as Error).message;
      }
    })();
    return this.preparing;
  }
}

/** The backup a reference made now starts from: the newest one of the current timeline. Throws why there is none. */
async function findSource(cfg: Config, signal?: AbortSignal): Promise<Source> {
  const info = earlyInfo(cfg, signal);
  const site = await inspectPitr(cfg, true, signal);
  const cli = site.pgbackrest?.cli;
  if (!cli) throw new PreconditionError('PRECONDITION_FAILED', 'pgBackRest is not usable here');
  const [a, now] = await Promise.all([readArchiver(site.su, signal), readPoint(site.su, signal)]);
  if (
    a.last_failed_time &&
    (!a.last_archived_time || Date.parse(a.last_failed_time) > Date.parse(a.last_archived_time))
  ) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `WAL archiving is failing (the last attempt, for ${a.last_failed_wal ?? 'a segment'}, failed): mm-backup pitr status says why`,
    );
  }
  const timeline = segmentTimeline(now.segment);
  const backups = ((await info)?.backup ?? [])
    .filter((b) => b.archive?.stop && segmentTimeline(b.archive.stop) === timeline)
    .filter((b) => b.type === 'full' || b.type === 'diff' || b.type === 'incr')
    .sort((x, y) => x.timestamp.stop - y.timestamp.stop);
  const backup = backups[backups.length - 1];
  if (!backup) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `there is no physical backup on the cluster's current timeline (${timeline}) yet: mm-backup pitr backup makes one (schedule.pitrBackup keeps them coming)`,
    );
  }
  return { site, cli, backup, timeline };
}

/**
 * `pgbackrest info` (a process reading its repository: the slowest call of the preflight), started
 * before the site's checks and beside them: it only reads, and its answer is used only once those
 * checks passed (a failing archive, too, is reported before anything info says). Never an
 * unhandled rejection: whoever awaits it gets the error.
 */
function earlyInfo(cfg: Config, signal?: AbortSignal): Promise<StanzaInfo | undefined> {
  const p = (async () => {
    const bin = resolvePgBackRest(cfg.pitr.pgbackrestBin);
    return new PgBackRest(bin, cfg.pitr.configDir, cfg.pitr.stanza, postgresAccount()).info(signal);
  })();
  p.catch(() => undefined);
  return p;
}

const pointSchema = z.object({ lsn: z.string(), segment: z.string(), at: z.string() });

/** The WAL insert position now, its segment (for the timeline) and the server's clock, in one query. */
async function readPoint(
  su: LocalSuperuser,
  signal?: AbortSignal,
): Promise<{ lsn: string; segment: string; at: Date }> {
  const raw = await su.json(
    `SELECT json_build_object('lsn', pg_current_wal_insert_lsn()::text,
       'segment', pg_walfile_name(pg_current_wal_insert_lsn()), 'at', clock_timestamp())::text`,
    signal,
  );
  const p = pointSchema.safeParse(raw);
  const at = p.success ? new Date(p.data.at) : undefined;
  if (!p.success || !at || Number.isNaN(at.getTime())) {
    throw new ProcessError('the WAL position came back in an unexpected shape');
  }
  return { ...p.data, at };
}

/** Waits until `segment` (or a later one) is archived; refuses after `limitMs`. */
async function waitArchived(su: LocalSuperuser, segment: string, limitMs: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const a = await readArchiver(su, signal);
    // Names of one timeline sort in WAL order; a later timeline's sort after it.
    if (a.last_archived_wal && a.last_archived_wal.slice(0, 24) >= segment) return;
    if (Date.now() > deadline) {
      throw new PreconditionError(
        'PRECONDITION_FAILED',
        `WAL segment ${segment} was not archived within ${limitMs / 1000} s, so the snapshot's database point is not in the repository; no snapshot was written`,
        { hint: 'mm-backup pitr status shows why archiving fails; fix it, or run mm-backup backup --logical' },
      );
    }
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, POLL_MS);
      signal.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          reject(signal.reason as Error);
        },
        { once: true },
      );
    });
  }
}
