/**
 * Deep verify's physical half (physical mode enabled): `pgbackrest verify` of the whole repository
 * (damaged files, WAL gaps, judged along the live timeline's history as status and restore --at
 * judge them), then a restore drill of the latest physical backup on that history into a scratch
 * directory on a free port: recovery must end and the copy accept connections, Mattermost's schema
 * version must be readable, and its row counts must equal those of the verified logical dump when
 * that dump lies inside the archived WAL after the backup (the copy is then recovered to the
 * moment the snapshot finished). Problems are collected and make the job fail after the
 * snapshot's own verification is recorded; the scratch copy is always stopped and deleted.
 */
import path from 'node:path';
import type { Config } from '../config/schema';
import { asBridgeError, BridgeError, PreconditionError, VerificationError } from '../core/errors';
import { findPgBinDir, pgTool } from '../database/pg_tools';
import { buildRestoreCommand } from '../database/pgbackrest/archive_command';
import { DrillCluster, freeBytes, removeLeftoverDrills } from '../database/pgbackrest/drill_cluster';
import type { BackupInfo } from '../database/pgbackrest/info';
import { switchWal } from '../database/pgbackrest/restore_queries';
import { readArchiver } from '../database/pgbackrest/settings';
import { applyHistory, gapOnHistory, readLiveHistoryView, type HistoryView } from '../database/pgbackrest/timelines';
import { parseVerifyOutput, verifyProblems } from '../database/pgbackrest/verify_output';
import { walGaps, type WalGap } from '../database/pgbackrest/wal_gaps';
import { discover } from '../discovery/discover';
import type { Job, JobStepContext, Step } from '../jobs/runner';
import type { Manifest } from '../manifest/manifest';
import { compareDrillCounts, COUNT_ROWS_SQL, SCHEMA_VERSION_SQL, type CountDifference } from './pitr_drill_counts';
import { planAccess } from './pitr_access';
import { inspectPitr, type PitrSite } from './pitr_site';
import { savePitrVerifyRecord } from './pitr_verify_record';

export interface PitrDrillOutcome {
  verify?: { status: 'ok' | 'error'; wal_checked: number; wal_valid: number; backups_checked: number };
  gaps: WalGap[];
  drill?: {
    backup: string;
    /** ISO time recovered to, or "immediate" (consistent at the backup's end). */
    target: string;
    schema_version: number | null;
    /** The copy's archive_mode as it ran (must be off: it never archives into the repository). */
    archive_mode: string | null;
    tables: number;
    rows: number;
    compared_with: string | null;
    /** Why no comparison was made. */
    not_compared: string | null;
    differences: CountDifference[];
  };
  /** Each a sentence; the job fails when there is any. */
  problems: string[];
  warnings: string[];
  /** Each a sentence: found, but nothing to do (a gap only on a timeline a restore abandoned). */
  notes: string[];
}

/** The newest signed snapshot of this install holding a PostgreSQL dump that finished after `after`. */
export type DumpFinder = (after: Date) => Promise<Manifest | undefined>;

/** Mattermost's rows are what the drill proves; the whole cluster is restored, so need its size. */
const SPACE_MARGIN = 256 * 1024 * 1024;

/**
 * Adds the physical steps to a deep verify job of snapshot `m`: before its `record` step the
 * verify and the drill, after it the verdict; the cleanup among the job's `finally` steps.
 */
export function addPitrDrill(job: Job, cfg: Config, m: Manifest, findDump: DumpFinder): PitrDrillOutcome {
  const o: PitrDrillOutcome = { gaps: [], problems: [], warnings: [], notes: [] };
  /** The snapshot whose dump the copy is compared with. */
  let ref: Manifest | undefined;
  let site: PitrSite | undefined;
  let cluster: DrillCluster | undefined;
  let failed = false;
  /** Backups pgbackrest verify found damaged: restoring one would only fail again (after retries). */
  const damaged = new Set<string>();
  /** The backups a restore along the live timeline's history can use (unknown if its reading failed). */
  let usable: BackupInfo[] | undefined;
  const psql = pgTool(findPgBinDir(cfg.database.pgBinDir), 'psql');
  const binDir = () => cfg.pitr.postgresService.binDir ?? `/usr/lib/postgresql/${site?.cluster.major ?? 0}/bin`;
  const cli = () => {
    const c = site?.pgbackrest?.cli;
    if (!c) throw new PreconditionError('PRECONDITION_FAILED', 'pgBackRest is not usable here');
    return c;
  };
  /** A failure of the drill is a finding (the job goes on to record the snapshot), cancellation is not. */
  const guarded =
    (what: string, run: (ctx: JobStepContext) => Promise<string>) =>
    async (ctx: JobStepContext): Promise<string> => {
      try {
        return await run(ctx);
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        failed = true;
        const e = asBridgeError(err);
        o.problems.push(`${what}: ${e.message}${e.hint ? ` (${e.hint})` : ''}`);
        return `FAILED: ${e.message}`;
      }
    };
  const skipAfterFailure = () => (failed ? 'the restore drill failed earlier' : undefined);

  const verify: Step = {
    id: 'pitr-verify',
    title: "Verify pgBackRest's repository (every backup and WAL segment)",
    run: guarded('pgbackrest verify', async (ctx) => {
      site = await inspectPitr(cfg, true, ctx.signal);
      const report = parseVerifyOutput(await cli().verify(ctx.signal));
      const found = verifyProblems(report);
      for (const b of report.backups) if (b.status === 'invalid') damaged.add(b.label);
      o.gaps = walGaps(report.ranges);
      const stanza = await cli().info(ctx.signal);
      // Judged as status and restore --at judge it (timelines.ts): along the live timeline's
      // history, with the gaps of its listing (verify 2.45 cannot see one at a switch) and verify's.
      let view: HistoryView | undefined;
      try {
        view = await readLiveHistoryView(cli(), stanza, site.su, ctx.signal);
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        // Without it the gaps cannot be judged as a restore would meet them: not a pass.
        found.push(`the timeline history could not be read: ${asBridgeError(err).message}`);
      }
      usable = view?.usable;
      const effect = applyHistory(stanza, await readArchiver(site.su, ctx.signal), view, o.gaps);
      // A gap no backup starts after leaves everything since unrestorable: a failure. One a later
      // backup starts after only shortens the window (status shows it): a warning.
      if (effect.problem && effect.broken) found.push(effect.problem);
      else if (effect.problem) o.warnings.push(effect.problem);
      const lineage = view?.lineage;
      for (const g of lineage ? o.gaps.filter((x) => !gapOnHistory(x, lineage)) : []) {
        const note = `WAL after segment ${g.lastBefore} up to ${g.firstAfter} is missing, on timeline ${parseInt(g.firstAfter.slice(0, 8), 16)} after the point a restore left it: the live timeline's history (${lineage?.timeline}) never reads it, nothing restorable is lost`;
        o.notes.push(note);
        ctx.log('info', note);
      }
      await savePitrVerifyRecord(cfg, found.length === 0, o.gaps);
      const archived = report.archives.reduce((n, a) => n + a.checked, 0);
      o.verify = {
        status: report.status,
        wal_checked: archived,
        wal_valid: report.archives.reduce((n, a) => n + a.valid, 0),
        backups_checked: report.backups.length,
      };
      if (found.length) {
        const named = report.badFiles.length ? ` (files: ${report.badFiles.join(', ')})` : '';
        o.problems.push(
          `pgBackRest's repository: ${found.join('; ')}${named}. Take a full physical backup (mm-backup pitr backup --type full); the damaged backups and WAL cannot be used for a restore`,
        );
        return `${found.length} problems`;
      }
      const gapText = effect.problem ? 'a WAL gap (warning above)' : 'no gap along the live history';
      const off = o.notes.length ? `, ${o.notes.length} off it (abandoned timeline)` : '';
      return `${report.backups.length} backups and ${archived} WAL segments intact, ${gapText}${off}`;
    }),
  };

  const drillRestore: Step = {
    id: 'pitr-drill-restore',
    title: 'Restore the latest physical backup into a scratch directory',
    skip: () => (site?.pgbackrest ? undefined : 'pgBackRest could not be reached'),
    run: guarded('restore drill', async (ctx) => {
      const s = site as PitrSite;
      // The newest backup a restore along the live history can use (restore --at chooses among
      // those): one on a part a restore abandoned recovers onto no timeline the cluster is on.
      const pool = usable ?? (await cli().info(ctx.signal))?.backup ?? [];
      const latest = [...pool].sort((a, b) => a.timestamp.start - b.timestamp.start).pop();
      if (!latest) {
        throw new PreconditionError(
          'PRECONDITION_FAILED',
          `there is no physical backup${usable ? " on the live timeline's history" : ''} to drill`,
          { hint: 'mm-backup pitr backup makes one' },
        );
      }
      if (damaged.has(latest.label)) {
        failed = true;
        return `not run: backup ${latest.label} is damaged (above)`;
      }
      const root = cfg.pitr.drillDir ?? path.dirname(s.cluster.dataDir);
      for (const w of await removeLeftoverDrills(root, s.account, binDir())) o.warnings.push(w);
      const need = (latest.info?.size ?? 0) * 1.25 + SPACE_MARGIN;
      const free = await freeBytes(root);
      if (need > free) {
        throw new PreconditionError(
          'PRECONDITION_FAILED',
          `the drill's copy needs about ${Math.ceil(need / 1048576)} MiB in ${root} and ${Math.floor(free / 1048576)} MiB are free`,
          { hint: 'set pitr.drillDir to a disk with room for a copy of the database' },
        );
      }
      const target = await chooseTarget(s, latest, m, findDump, ctx);
      ref = target.ref;
      await planAccess(path.join(root, 'x'), s.account, 'the drill directory');
      cluster = await DrillCluster.create(root, s.account, binDir());
      const c = cli();
      await c.drillRestore(
        {
          set: latest.label,
          pgPath: cluster.dir,
          tablespaceDir: cluster.tablespaceDir,
          timeline: target.timeline,
          at: target.at,
        },
        ctx.signal,
      );
      await cluster.configure(
        buildRestoreCommand({ pgbackrest: c.bin, configPath: c.configPath, stanza: c.stanza }, cluster.dir),
      );
      o.drill = {
        backup: latest.label,
        target: target.at ? target.at.toISOString() : 'immediate',
        schema_version: null,
        archive_mode: null,
        tables: 0,
        rows: 0,
        compared_with: target.ref?.id ?? null,
        not_compared: target.why ?? null,
        differences: [],
      };
      return `backup ${latest.label} into ${cluster.dir}, ${target.at ? `recovering to ${target.at.toISOString()}` : 'to its consistent end'}`;
    }),
  };

  const drillStart: Step = {
    id: 'pitr-drill-start',
    title: 'Start the copy and wait until it has recovered and accepts connections',
    skip: skipAfterFailure,
    run: guarded('restore drill', async (ctx) => {
      const c = cluster as DrillCluster;
      await c.start(ctx.signal);
      await c.waitPromoted(psql, cfg.pitr.drillTimeoutMinutes * 60_000, ctx.signal);
      return `recovered and promoted, port ${c.port}`;
    }),
  };

  const drillCheck: Step = {
    id: 'pitr-drill-check',
    title: "Read Mattermost's schema version and count its rows in the copy",
    skip: skipAfterFailure,
    run: guarded('restore drill', async (ctx) => {
      const c = cluster as DrillCluster;
      const d = o.drill as NonNullable<PitrDrillOutcome['drill']>;
      const dbName = (await discover(cfg)).database.database;
      const su = c.superuser(psql, dbName);
      d.archive_mode = (await su.run(['SHOW archive_mode'], ctx.signal)).trim();
      if (d.archive_mode !== 'off') {
        o.problems.push(`restore drill: the copy ran with archive_mode ${d.archive_mode}, not off`);
      }
      const schema = (await su.json(SCHEMA_VERSION_SQL, ctx.signal)) as { v?: unknown } | null;
      d.schema_version = typeof schema?.v === 'number' ? schema.v : null;
      if (d.schema_version === null) {
        throw new BridgeError(
          'VERIFICATION_FAILED',
          `the copy has no readable Mattermost schema version in database ${dbName}`,
        );
      }
      const counts = parseCounts(await su.json(COUNT_ROWS_SQL, ctx.signal));
      d.tables = Object.keys(counts).length;
      d.rows = Object.values(counts).reduce((a, b) => a + b, 0);
      const dump = ref ? pgDumpOf(ref) : undefined;
      if (ref && dump) {
        const cmp = compareDrillCounts(dump.rowCounts, counts);
        d.differences = cmp.differences;
        if (cmp.problems.length) {
          o.problems.push(
            `restore drill: the copy's row counts do not match snapshot ${ref.id}'s dump: ${cmp.problems.slice(0, 5).join('; ')}`,
          );
        }
        return `schema ${d.schema_version}, ${d.tables} tables, ${d.rows} rows; ${cmp.problems.length ? `${cmp.problems.length} tables DIFFER from` : 'counts match'} snapshot ${ref.id}${cmp.differences.length && !cmp.problems.length ? ` (${cmp.differences.length} within tolerance)` : ''}`;
      }
      return `schema ${d.schema_version}, ${d.tables} tables, ${d.rows} rows (not compared: ${d.not_compared ?? 'no dump'})`;
    }),
  };

  const cleanup: Step = {
    id: 'pitr-drill-cleanup',
    title: "Stop and delete the drill's copy",
    skip: () => (cluster ? undefined : 'no copy was made'),
    run: async (ctx) => {
      const w = await (cluster as DrillCluster).destroy();
      if (w) {
        o.warnings.push(`${w}: delete it by hand`);
        ctx.log('warn', w);
        return w;
      }
      return `${(cluster as DrillCluster).dir} deleted`;
    },
  };

  const verdict: Step = {
    id: 'pitr-verdict',
    title: 'Physical backups: the verdict',
    run: async () => {
      if (!o.problems.length) return 'pgBackRest repository and restore drill passed';
      throw new VerificationError(
        `physical backups failed verification (${o.problems.length} problems): ${o.problems.join('; ')}`,
        o.problems.map((p) => ({ component: 'physical', problem: p })),
        {
          hint: 'take a full physical backup (mm-backup pitr backup --type full), then run mm-backup verify --deep again',
        },
      );
    },
  };

  const at = job.steps.findIndex((s) => s.id === 'record');
  const where = at < 0 ? job.steps.length : at;
  job.steps.splice(where, 0, verify, drillRestore, drillStart, drillCheck);
  job.steps.push(verdict);
  job.finally.unshift(cleanup);
  return o;
}

/** The whole-database PostgreSQL dump of a snapshot, if it holds one (not the config store's tables). */
export function pgDumpOf(m: Manifest) {
  return m.components.find((c) => c.database?.driver === 'postgres' && !c.database.tables)?.database;
}

/**
 * Where the copy recovers to, and the snapshot whose dump it is compared with: the verified
 * snapshot when it holds a dump finished after the backup ended, else the newest signed snapshot
 * of this install that does (`findDump`; in physical mode most snapshots hold a reference, and a
 * dump is taken only every pitr.logicalDumpEveryDays). The copy then recovers to the moment that
 * snapshot finished (a transaction is committed and WAL switched and archived first, so recovery
 * finds a record after the target; as restore --at does). Otherwise the backup's consistent end,
 * and no comparison.
 */
async function chooseTarget(
  s: PitrSite,
  latest: BackupInfo,
  m: Manifest,
  findDump: DumpFinder,
  ctx: JobStepContext,
): Promise<{ at?: Date; timeline: number; ref?: Manifest; why?: string }> {
  const stop = latest.timestamp.stop * 1000;
  const ref =
    pgDumpOf(m) && Date.parse(m.finishedAt) > stop ? m : await findDump(new Date(stop)).catch(() => undefined);
  if (!ref) {
    return {
      timeline: 0,
      why: `no signed snapshot with a PostgreSQL dump finished after physical backup ${latest.label} ended (take a logical backup after the physical one to compare them)`,
    };
  }
  const segment = await switchWal(s.su, ctx.signal);
  const timeline = parseInt(segment.slice(0, 8), 16);
  const deadline = Date.now() + 120_000;
  for (;;) {
    const a = await readArchiver(s.su, ctx.signal);
    if (a.last_archived_wal && a.last_archived_wal.slice(0, 24) >= segment) break;
    if (Date.now() > deadline) {
      return {
        timeline: 0,
        why: `WAL segment ${segment} was not archived within 120 s (mm-backup pitr status says why)`,
      };
    }
    await new Promise((r) => setTimeout(r, 500));
    if (ctx.signal.aborted) throw ctx.signal.reason as Error;
  }
  return { at: new Date(ref.finishedAt), timeline, ref };
}

function parseCounts(raw: unknown): Record<string, number> {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new BridgeError('PROCESS_FAILED', 'the row counts of the copy came back in an unexpected shape');
  }
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
      throw new BridgeError('PROCESS_FAILED', 'a row count of the copy is not a number');
    }
    out[k] = v;
  }
  return out;
}
