/**
 * The steps of an in-place point-in-time restore (restore --at): a WAL switch archived first;
 * Mattermost stopped and the files' safety snapshot taken (the logical restore's own steps);
 * PostgreSQL stopped, its data directory moved aside by rename, pgBackRest's restore to T into an
 * empty one, PostgreSQL started and promoted; the schema version checked; the files of T put back
 * (the logical restore's steps) and the attachments uploaded since merged in; Mattermost started.
 * Every step after the move undoes back to the old directory, PostgreSQL running and Mattermost
 * started (the runner undoes in reverse, then runs `finally`).
 */
import { BridgeError, PreconditionError, ProcessError } from '../core/errors';
import { newJobId } from '../core/ids';
import { buildRestoreCommand } from '../database/pgbackrest/archive_command';
import type { BackupInfo } from '../database/pgbackrest/info';
import { setRestoreCommand } from '../database/pgbackrest/recovery_conf';
import { moveAside, putBackAside } from '../database/pgbackrest/data_dir';
import type { PgBackRest } from '../database/pgbackrest/pgbackrest';
import { describeCommand, runServiceCommand, type ServiceCommand } from '../database/pgbackrest/postgres_service';
import { recoveryWindow } from '../database/pgbackrest/recovery_window';
import { inRecovery, switchWal } from '../database/pgbackrest/restore_queries';
import { readArchiver } from '../database/pgbackrest/settings';
import type { Discovery } from '../discovery/discover';
import { kindOf, APPLICATION } from '../components/registry';
import type { EngineContext } from '../jobs/context';
import type { JobLock } from '../jobs/lock';
import type { Job, Step, StepContext } from '../jobs/runner';
import type { Manifest } from '../manifest/manifest';
import type { Operation } from './request';
import { checkAttachments, type AttachmentPresence } from './attachment_presence';
import { checkObjectsPresent } from './object_presence';
import type { PitrSite } from './pitr_site';
import { addedSince, FILE_STORE, fileStoreRecord } from './restore_at_files';
import { markPostgresDown } from './postgres_down';
import { clearPitrRestoreMarker, setAsidePitrRestoreMarker, writePitrRestoreMarker } from './restore_at_marker';
import {
  describeRestore,
  describeRollback,
  planRestore,
  restoreTargets,
  selectRecords,
  type RestoreOutcome,
} from './restore_plan';
import { plural } from '../core/units';
import { sleep } from '../core/sleep';

/** Everything prepare found and checked; the plan changes nothing before its `stop` step. */
export interface RestoreAtInputs {
  site: PitrSite;
  cli: PgBackRest;
  /** undefined: the end of the archived WAL ("latest"), or `point`. */
  at?: Date;
  /**
   * restore <id> of a snapshot in physical mode: recovery stops just before this WAL position on
   * this timeline (the snapshot's point), and the files are that snapshot's own (nothing merged).
   */
  point?: { lsn: string; timeline: number; snapshotId: string };
  set: BackupInfo;
  d: Discovery;
  before: Manifest;
  after?: Manifest;
  /** The tree components restored from `before`. */
  treeIds: string[];
  /** Schema version of the running database before anything changes (what the installed Mattermost runs). */
  runningSchema?: number;
  aside: string;
  force: boolean;
  allowUnsigned: boolean;
  archiveTimeoutSeconds: number;
}

export interface RestoreAtOutcome {
  /** The WAL segment switched to and archived before anything stopped. */
  switchedSegment?: string;
  /** The live cluster's timeline (the segment's first 8 hex digits): the history the restore follows. */
  timeline?: number;
  /** Where the archive ended after the switch (what "latest" reaches). */
  archiveEnd?: Date;
  movedAside: boolean;
  /** The old data directory is back in place after a failure. */
  putBack: boolean;
  /** PostgreSQL could not be brought back: said first in the failure. */
  postgresDown?: string;
  restoredSchema?: number;
  /** Which snapshot the attachments added since `before` came from, and how many paths. */
  attachmentsFrom?: string;
  attachmentsAdded?: number;
  attachments?: AttachmentPresence;
  files: RestoreOutcome;
  warnings: string[];
}

/**
 * The result fields of the files part of a point-in-time restore, one shape in place and on a new
 * host. `rolledBack`: whether the files are back as they were (the database part decides too).
 */
export function restoreAtFilesResult(
  o: RestoreAtOutcome,
  filesSnapshotId: string,
  overwrites: string[],
  rolledBack: boolean,
) {
  return {
    files_snapshot_id: filesSnapshotId,
    attachments_snapshot_id: o.attachmentsFrom ?? null,
    attachments_added: o.attachmentsAdded ?? 0,
    attachments_checked: o.attachments?.checked ?? null,
    attachments_missing: o.attachments?.missing ?? [],
    attachments_missing_count: o.attachments?.missingCount ?? null,
    restored_schema: o.restoredSchema ?? null,
    restored: o.files.restored,
    safety_snapshot_id: o.files.safetySnapshotId ?? null,
    rolled_back: rolledBack,
    overwritten: overwrites,
    warnings: o.warnings,
  };
}

/** The summary's words for the files part: what came from which snapshot, and the safety snapshot's line ('' without one). */
export function restoreAtFilesSummary(o: RestoreAtOutcome, filesSnapshotId: string): { from: string; safety: string } {
  return {
    from: `${o.files.restored.join(', ')} from snapshot ${filesSnapshotId}${o.attachmentsFrom ? `, with ${o.attachmentsAdded ?? 0} attachment files added from snapshot ${o.attachmentsFrom}` : ''}`,
    safety: o.files.safetySnapshotId ? `Safety snapshot of the files: ${o.files.safetySnapshotId}.` : '',
  };
}

/**
 * The overwrite lines of the files part of a point-in-time restore, one shape in place and on a
 * new host: each tree restored from `before` (with a safety snapshot), then where the attachments
 * uploaded since come from, `after` or the safety snapshot; that last line is left out when
 * `attachments` is false (a restore to a snapshot's own point adds none).
 */
export async function restoreAtFilesOverwrites(
  x: { before: Manifest; after: Manifest | undefined; treeIds: string[]; force: boolean; d?: Discovery },
  attachments = true,
): Promise<string[]> {
  const { before, after } = x;
  const trees = await describeRestore(selectRecords(before, x.treeIds), { safetySnapshot: true, force: x.force }, x.d);
  return [
    ...trees.map((l) => `${l} (from snapshot ${before.id})`),
    ...(attachments
      ? [
          after
            ? `attachments uploaded after snapshot ${before.id} are added from snapshot ${after.id}`
            : 'no file snapshot after the target time: attachments uploaded since are added from the safety snapshot',
        ]
      : []),
  ];
}

/**
 * The operation of a point-in-time restore, one shape in place and on a new host: `result` is
 * read when asked (the outcome fills in as the job runs); the summary's text is the line
 * `restored` makes of the files' words, then `next`, then the safety snapshot's line if any.
 */
export function restoreAtOperation(
  plan: { job: Job; outcome: RestoreAtOutcome },
  filesSnapshotId: string,
  parts: {
    result: () => Record<string, unknown>;
    restored: (filesFrom: string) => string;
    next: string;
    failureNote: () => string | undefined;
  },
): Operation {
  return {
    job: plan.job,
    result: parts.result,
    summary: () => {
      // Read when the job has run: the outcome is filled in as it goes.
      const files = restoreAtFilesSummary(plan.outcome, filesSnapshotId);
      return {
        json: { ok: true, ...parts.result() },
        text: [parts.restored(files.from), parts.next, files.safety].filter(Boolean).join('\n'),
      };
    },
    failureNote: parts.failureNote,
  };
}

const POLL_MS = 500;

export function planRestoreAt(
  ec: EngineContext,
  lock: JobLock,
  x: RestoreAtInputs,
): { job: Job; outcome: RestoreAtOutcome } {
  const { site, cli, d } = x;
  const files = planRestore(ec, x.before, d, lock, {
    components: x.treeIds,
    safetySnapshot: true,
    force: x.force,
    allowUnsigned: x.allowUnsigned,
  });
  const o: RestoreAtOutcome = { movedAside: false, putBack: false, files: files.outcome, warnings: [] };
  const fileStep = (id: string): Step => {
    const s = files.job.steps.find((st) => st.id === id);
    if (!s) throw new BridgeError('INTERNAL', `the file restore has no ${id} step`);
    return s;
  };
  const fileSteps = (prefix: string) => files.job.steps.filter((s) => s.id.startsWith(prefix));
  const pg = (c: ServiceCommand, ctx: StepContext) => runServiceCommand(c, site.account, ctx.signal);
  const running = (ctx: StepContext) =>
    pg(site.service.status, ctx).then(
      () => true,
      () => false,
    );

  const atPreflight: Step = {
    id: 'at-preflight',
    title: 'Check the attachments snapshot after the target time',
    run: async (ctx) => {
      if (x.point) return "not needed: the files are the snapshot's own";
      if (!x.after) return 'none after the target time: the safety snapshot (taken next) supplies them';
      await ec.trust.requireManifest(ec.repo, x.after, { allowUnsigned: x.allowUnsigned, action: 'restored' });
      const check = await checkObjectsPresent(ec.repo, x.after, ctx, new Set([FILE_STORE]));
      if (check.issues.length) {
        throw new PreconditionError(
          'PRECONDITION_FAILED',
          `snapshot ${x.after.id}, which holds the attachments uploaded before the target time, is damaged: ${check.issues
            .slice(0, 3)
            .map((i) => `${i.path ?? ''}: ${i.problem}`)
            .join('; ')}`,
          { hint: 'run mm-backup verify; restore to a time whose next snapshot is sound' },
        );
      }
      return `snapshot ${x.after.id}: ${plural(check.objects, 'object')} present`;
    },
  };

  const walSwitch: Step = {
    id: 'wal-switch',
    title: 'Switch WAL and wait until it is archived',
    run: async (ctx) => {
      const segment = await switchWal(site.su, ctx.signal);
      o.switchedSegment = segment;
      o.timeline = parseInt(segment.slice(0, 8), 16);
      const limitMs = Math.max(60, 3 * x.archiveTimeoutSeconds) * 1000;
      const deadline = Date.now() + limitMs;
      for (;;) {
        const a = await readArchiver(site.su, ctx.signal);
        // Names of one timeline sort in WAL order; a later timeline's sort after it.
        if (a.last_archived_wal && a.last_archived_wal.slice(0, 24) >= segment) {
          const w = recoveryWindow(await cli.info(ctx.signal), a);
          o.archiveEnd = w?.end;
          if (x.at && w && x.at > w.end) {
            throw new PreconditionError(
              'PRECONDITION_FAILED',
              `${x.at.toISOString()} is after the end of the recovery window (${w.start.toISOString()} … ${w.end.toISOString()}); nothing was changed`,
              { hint: 'choose a time inside the window (mm-backup pitr status), or --at latest' },
            );
          }
          return `${segment} archived`;
        }
        if (Date.now() > deadline) {
          throw new PreconditionError(
            'PRECONDITION_FAILED',
            `WAL segment ${segment} was not archived within ${limitMs / 1000} s: the newest changes are not in the repository; nothing was changed`,
            { hint: 'mm-backup pitr status shows why archiving fails; fix it and restore again' },
          );
        }
        await sleep(POLL_MS, ctx.signal);
      }
    },
  };

  const pgStop: Step = {
    id: 'postgres-stop',
    title: 'Stop PostgreSQL',
    run: async (ctx) => {
      // From here until the restored cluster is committed to, a successor of a kill puts the old one back.
      await writePitrRestoreMarker(ec.trust.keyFile, {
        dataDir: site.cluster.dataDir,
        aside: x.aside,
        jobId: lock.current.jobId,
      });
      await pg(site.service.stop, ctx);
      return describeCommand(site.service.stop.argv);
    },
    undo: async (ctx) => {
      // Runs last of the database undos. A repair that cannot complete sets the marker aside: left
      // in place, a later killed job's successor could put this old directory back over a newer one.
      const giveUp = async (why: string, err?: unknown, autoStart = true) => {
        // Recorded beside the signing key before the job's lock goes: the next job, the sidecar's
        // start and its retries start it (autoStart) or, with the wrong data directory, only show it.
        await markPostgresDown(
          ec,
          `a point-in-time restore failed and was undone, but ${why}`,
          (_l, m) => ctx.log('error', m),
          autoStart,
        );
        const kept = await setAsidePitrRestoreMarker(ec.trust.keyFile).catch(() => undefined);
        const note = kept ? `; the repair marker was set aside as ${kept}, so no later job acts on it` : '';
        o.postgresDown = `PostgreSQL IS DOWN: ${why}${note}`;
        throw new BridgeError('PROCESS_FAILED', o.postgresDown, { cause: err });
      };
      if (o.movedAside && !o.putBack) {
        await giveUp(
          `its old data directory could not be put back; it is in ${x.aside}: move it back to ${site.cluster.dataDir} by hand, then start PostgreSQL: ${describeCommand(site.service.start.argv)}`,
          undefined,
          false,
        );
      }
      // The old directory is back (or was never moved), so PostgreSQL starts on it.
      if (!(await running(ctx))) {
        try {
          await startAndWait(ctx);
        } catch (err) {
          await giveUp(
            `it did not start on its old data directory (${(err as Error).message}); start it: ${describeCommand(site.service.start.argv)}`,
            err,
          );
        }
        ctx.log('warn', 'PostgreSQL runs again on its old data directory');
      }
      await clearPitrRestoreMarker(ec.trust.keyFile);
    },
  };

  const pgMove: Step = {
    id: 'postgres-move-aside',
    title: 'Move the data directory aside',
    run: async () => {
      await moveAside(site.cluster.dataDir, x.aside, site.account);
      o.movedAside = true;
      return `${site.cluster.dataDir} → ${x.aside}`;
    },
    undo: async (ctx) => {
      if (!o.movedAside) return;
      if (await running(ctx)) await pg(site.service.stop, ctx);
      await putBackAside(site.cluster.dataDir, x.aside, site.account, {
        signal: ctx.signal,
        warn: (w) => ctx.log('warn', w),
      });
      o.putBack = true;
      ctx.log('warn', `the old data directory is back in ${site.cluster.dataDir}`);
    },
  };

  const pgRestore: Step = {
    id: 'postgres-restore',
    title: 'Restore the database with pgBackRest',
    run: async (ctx) => {
      if (!o.timeline) throw new BridgeError('INTERNAL', 'wal-switch did not run');
      // A snapshot's point is on the timeline it was taken on, which a later restore may have left.
      const timeline = x.point?.timeline ?? o.timeline;
      await cli.restore({ set: x.set.label, at: x.at, lsn: x.point?.lsn, timeline }, ctx.signal);
      const restoreCommand = buildRestoreCommand({
        pgbackrest: cli.bin,
        configPath: cli.configPath,
        stanza: cli.stanza,
      });
      await setRestoreCommand(site.cluster.dataDir, restoreCommand);
      const to = x.point
        ? `to snapshot ${x.point.snapshotId}'s point ${x.point.lsn}`
        : x.at
          ? `to ${x.at.toISOString()}`
          : 'to the end of the archived WAL';
      return `backup ${x.set.label}, ${to} on timeline ${timeline}`;
    },
  };

  const startAndWait = async (ctx: StepContext): Promise<void> => {
    try {
      await pg(site.service.start, ctx);
    } catch (err) {
      // pg_ctl -w gives up after its timeout while a long recovery goes on: only a stopped server is a failure.
      if (!(await running(ctx))) throw err;
    }
    for (;;) {
      try {
        if (!(await inRecovery(site.su, ctx.signal))) return;
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        if (!(await running(ctx))) {
          throw new ProcessError('PostgreSQL stopped while starting (read its log for why)', { cause: err });
        }
      }
      await sleep(POLL_MS, ctx.signal);
    }
  };

  const pgStart: Step = {
    id: 'postgres-start',
    title: 'Start PostgreSQL and wait until recovery has finished',
    run: async (ctx) => {
      await startAndWait(ctx);
      return 'recovered, promoted and accepting connections';
    },
    undo: async (ctx) => {
      if (await running(ctx)) await pg(site.service.stop, ctx);
    },
  };

  const schemaCheck: Step = {
    id: 'schema-check',
    title: "Check Mattermost's schema version",
    run: async () => {
      o.restoredSchema = await ec
        .engineFor(d.database)
        .schemaVersion()
        .catch(() => undefined);
      // The Mattermost that will run it: the one restored with the files, else the installed one.
      const appRestored = x.treeIds.includes(APPLICATION);
      const runs = appRestored ? x.before.mattermost.schemaVersion : x.runningSchema;
      if (o.restoredSchema !== undefined && runs !== undefined && o.restoredSchema > runs) {
        const msg = `the restored database's schema (${o.restoredSchema}) is newer than the Mattermost that will run it (${runs})`;
        if (!x.force) {
          throw new PreconditionError('VERSION_MISMATCH', msg, {
            hint: 'upgrade Mattermost first, or pass --force',
          });
        }
        o.warnings.push(`${msg} (--force given)`);
      }
      return `schema ${o.restoredSchema ?? 'unknown'}`;
    },
  };

  const mergeAttachments: Step = {
    id: 'merge-attachments',
    title: 'Add the attachments uploaded since the file snapshot',
    skip: () => {
      if (x.point) return "the files are the snapshot's own, of the same moment as its database";
      return fileStoreRecord(x.before) ? undefined : 'the file snapshot holds no file store';
    },
    run: async (ctx) => {
      const from = x.after ?? safetyManifest();
      const base = fileStoreRecord(x.before);
      const later = fileStoreRecord(from);
      if (!base || !later || !from) {
        o.warnings.push('no file snapshot after the target time holds the file store: no attachments were added');
        return 'nothing to add from';
      }
      if (later.root !== base.root) {
        o.warnings.push(`snapshot ${from.id} has the file store in ${later.root}, not ${base.root}: nothing was added`);
        return 'file store moved';
      }
      const targets = restoreTargets({ safetySnapshot: false, force: false }, d, ec);
      const root = kindOf(later).restoreRoot(later, targets);
      if (root === undefined) throw new BridgeError('INTERNAL', 'the file store has no root to merge into');
      const added = await addedSince(base, later, root);
      if (added.refused) {
        o.warnings.push(
          `${added.refused} path(s) of snapshot ${from.id} were NOT added to ${root}, because writing them would go through a symbolic link or replace something else there (a snapshot or a file store altered by someone): ${added.refusedExamples.join('; ')}${added.refused > added.refusedExamples.length ? '; …' : ''}`,
        );
      }
      await kindOf(added.record).checkRestore(added.record, targets);
      const summary = await kindOf(added.record).restore(added.record, { repo: ec.repo, step: ctx, targets });
      o.attachmentsFrom = from.id;
      o.attachmentsAdded = added.record.files;
      return `${plural(added.record.files, 'file')} from snapshot ${from.id}${x.after ? '' : ' (the safety snapshot)'}: ${summary}${added.refused ? `; ${added.refused} refused` : ''}`;
    },
  };

  // The safety snapshot as its step built it, never re-read: a repository writer could swap the
  // file during the database restore and so choose what root writes here.
  const safetyManifest = (): Manifest | undefined => files.safety();

  const attachmentCheck: Step = {
    id: 'attachment-check',
    title: 'Check that every attachment the database references is on disk',
    skip: () => {
      if (d.fileDriver !== 'local') return `the file store is ${d.fileDriver}, not on this disk`;
      return d.components.some((c) => c.id === FILE_STORE && c.root) ? undefined : 'no file store here';
    },
    run: async (ctx) => {
      const root = d.components.find((c) => c.id === FILE_STORE)?.root as string;
      const r = await checkAttachments(d.database, root, {
        signal: ctx.signal,
        onProgress: (n) => ctx.progress(n, undefined, 'files'),
      });
      o.attachments = r;
      if (r.missingCount) {
        o.warnings.push(
          `${r.missingCount} file(s) the restored database references are missing from ${root} (no snapshot holds them): ${r.missing.slice(0, 10).join(', ')}${r.missingCount > 10 ? ', …' : ''}`,
        );
      }
      return `${plural(r.checked, 'path')} referenced, ${r.missingCount} missing`;
    },
  };

  const commitDatabase: Step = {
    id: 'commit-database',
    title: 'Keep the restored database',
    run: async () => {
      // Everything is in place: a successor of a kill from here on only starts Mattermost.
      await clearPitrRestoreMarker(ec.trust.keyFile);
      return `the previous data directory stays in ${x.aside}`;
    },
  };

  const ensurePostgres: Step = {
    id: 'ensure-postgres',
    title: 'Make sure PostgreSQL is running',
    run: async (ctx) => {
      if (await running(ctx)) return 'running';
      await startAndWait(ctx);
      return 'started again';
    },
  };

  return {
    job: {
      id: newJobId(),
      kind: 'restore',
      steps: [
        fileStep('preflight'),
        atPreflight,
        walSwitch,
        fileStep('stop'),
        ...fileSteps('safety-'),
        pgStop,
        pgMove,
        pgRestore,
        pgStart,
        schemaCheck,
        ...fileSteps('restore-'),
        mergeAttachments,
        attachmentCheck,
        commitDatabase,
        fileStep('start'),
      ],
      // PostgreSQL first: Mattermost started on a stopped database would not come up.
      finally: [ensurePostgres, ...files.job.finally],
    },
    outcome: o,
  };
}

/** What a failed restore --at left behind, after its error. */
export function describeRestoreAtFailure(o: RestoreAtOutcome, dataDir: string): string | undefined {
  const parts: string[] = [];
  if (o.postgresDown) parts.push(o.postgresDown);
  else if (o.putBack) parts.push(`The old data directory is back in ${dataDir} and PostgreSQL runs on it.`);
  else if (!o.movedAside) parts.push('The database was not touched.');
  const files = describeRollback(o.files)?.replace(/^\.\s*/, '');
  if (files) parts.push(files);
  return parts.length ? `. ${parts.join(' ')}` : undefined;
}
