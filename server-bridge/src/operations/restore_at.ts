/**
 * restore --at T, in place: everything is found and checked before anything changes (physical
 * mode on, T inside the recovery window, no other databases in the cluster, a data directory a
 * rename can move, room for the restored copy, a file snapshot at or before T), then the person
 * confirms, then restore_at_plan.ts builds the job.
 */
import { BridgeError, PreconditionError } from '../core/errors';
import { freeBytesBeside, asidePath, checkMovable, listAside } from '../database/pgbackrest/data_dir';
import { parseRecoveryTarget, chooseBackupSet } from '../database/pgbackrest/recovery_target';
import { recoveryWindow } from '../database/pgbackrest/recovery_window';
import { applyHistory, describeHole, holeAt, readLiveHistoryView } from '../database/pgbackrest/timelines';
import { formatBytes, restoreSpace } from '../database/pgbackrest/restore_space';
import type { Manifest } from '../manifest/manifest';
import { listDatabases } from '../database/pgbackrest/restore_queries';
import { readArchiver } from '../database/pgbackrest/settings';
import { discover } from '../discovery/discover';
import { kindOf } from '../components/registry';
import { inspectPitr } from './pitr_site';
import { checkPointUsable, physicalPointOf } from './physical_point';
import { loadPitrState } from './pitr_state';
import { loadPitrVerifyRecord } from './pitr_verify_record';
import { chooseFileSnapshots } from './restore_at_files';
import {
  describeRestoreAtFailure,
  planRestoreAt,
  restoreAtFilesResult,
  restoreAtFilesOverwrites,
  restoreAtOperation,
  type RestoreAtInputs,
} from './restore_at_plan';
import { selectRecords } from './restore_plan';
import type { Operation, OperationRuntime } from './request';

export interface RestoreAtRequest {
  /** An ISO time with its offset, or "latest" (unused with `snapshot`). */
  at: string;
  /**
   * restore <id> of a snapshot whose database part is a physical reference (physical_snapshot.ts):
   * the database to that point, the files from the snapshot itself (restore_physical.ts).
   */
  snapshot?: { manifest: Manifest; components?: string[] };
  /** Restore although the cluster holds other databases, or the schema is newer. */
  force?: boolean;
  allowUnsigned?: boolean;
}

export interface PreparedRestoreAt {
  inputs: RestoreAtInputs;
  /** What the restore replaces, one line each, for the confirmation. */
  overwrites: string[];
  warnings: string[];
  build(): Operation;
}

/** The runtime preparing needs; the lock only for build() (the API and /backup describe a restore without it). */
export type PrepareAtRuntime = Omit<OperationRuntime, 'lock'> & { lock?: OperationRuntime['lock'] };

export async function prepareRestoreAt(req: RestoreAtRequest, rt: PrepareAtRuntime): Promise<PreparedRestoreAt> {
  const { ec } = rt;
  const cfg = ec.cfg;
  const point = req.snapshot ? physicalPointOf(req.snapshot.manifest) : undefined;
  if (req.snapshot && !point) throw new BridgeError('INTERNAL', 'the snapshot has no physical reference');
  const target = point ? ({ kind: 'time', at: new Date(point.at) } as const) : parseRecoveryTarget(req.at);
  const warnings: string[] = [];
  const state = await loadPitrState(cfg);
  if (state?.phase !== 'enabled') {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `a point-in-time restore needs physical mode, which is ${state ? `not finished (${state.phase})` : 'not enabled'}; nothing was changed`,
      {
        hint: 'mm-backup restore <snapshot> restores a snapshot; mm-backup pitr enable turns physical mode on for the future',
      },
    );
  }
  const site = await inspectPitr(cfg, true);
  const cli = site.pgbackrest?.cli;
  if (!cli) throw new PreconditionError('PRECONDITION_FAILED', 'pgBackRest is not usable here');
  const d = await discover(cfg);

  // A physical restore replaces the whole cluster: anyone else's database would go back in time too.
  const mine = new Set([d.database.database, ...d.components.flatMap((c) => (c.db ? [c.db.database] : []))]);
  const others = (await listDatabases(site.su)).filter((n) => !mine.has(n));
  if (others.length && !req.force) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `the PostgreSQL cluster holds databases other than Mattermost's (${others.join(', ')}): a point-in-time restore replaces the whole cluster and would take them back in time too; nothing was changed`,
      {
        hint: 'restore a snapshot instead (a logical restore touches only Mattermost), or pass --force to take them back as well',
      },
    );
  }
  if (others.length) warnings.push(`the databases ${others.join(', ')} go back to the target time too (--force given)`);
  await checkMovable(site.cluster.dataDir);

  const stanza = await cli.info();
  const archiver = await readArchiver(site.su);
  const raw = recoveryWindow(stanza, archiver);
  // No backup left at all: a snapshot's reference has expired (said as such) like any other.
  if (point && req.snapshot && !raw) {
    checkPointUsable(req.snapshot.manifest, point, stanza, cfg.pitr.stanza, '(none: no physical backup is left)');
  }
  // Along the live timeline's history (timelines.ts): the backups it can use, a WAL gap along it
  // (in the repository's listing, or found by the last deep verify): no restore crosses one.
  const view = await readLiveHistoryView(cli, stanza, site.su);
  const gapped = applyHistory(stanza, archiver, view, (await loadPitrVerifyRecord(cfg))?.gaps ?? []);
  const window = gapped.window;
  if (gapped.problem) warnings.push(gapped.problem);
  const beyondGap = target.kind === 'time' ? !!window && target.at > window.end : true;
  if (gapped.broken && (!window || beyondGap)) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `${target.kind === 'time' ? target.at.toISOString() : 'latest'} cannot be reached: ${gapped.problem ?? 'a WAL gap'}${window ? `; the reachable window is ${window.start.toISOString()} … ${window.end.toISOString()}` : ''}; nothing was changed`,
      {
        hint: 'take a full physical backup (mm-backup pitr backup --type full): times after it become reachable; or choose a time before the gap',
      },
    );
  }
  if (!window) {
    throw new PreconditionError('PRECONDITION_FAILED', 'there is no physical backup yet: nothing to restore from', {
      hint: 'mm-backup pitr backup makes one',
    });
  }
  const now = new Date();
  const span = `${window.start.toISOString()} … ${window.end.toISOString()} (and up to now once the current WAL is archived)`;
  const at = target.kind === 'time' ? target.at : undefined;
  if (point && req.snapshot) checkPointUsable(req.snapshot.manifest, point, stanza, cfg.pitr.stanza, span);
  if (!point && at && (at < window.start || at > now)) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `${at.toISOString()} is outside the recovery window ${span}${gapped.problem ? ` (${gapped.problem})` : ''}; nothing was changed`,
      {
        hint: 'choose a time inside the window (mm-backup pitr status)',
        details: { window_start: window.start.toISOString(), window_end: window.end.toISOString() },
      },
    );
  }
  const hole = !point && at ? holeAt(gapped.holes, at) : undefined;
  if (hole) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `${at?.toISOString()}: ${describeHole(hole)}; nothing was changed`,
      {
        hint: `choose a time before ${hole.from.toISOString()} or after ${hole.to.toISOString()} (mm-backup pitr status lists the holes)`,
      },
    );
  }
  // Only a backup on the live timeline's history: one taken on an abandoned part cannot reach it.
  const set = point
    ? stanza?.backup.find((b) => b.label === point.label)
    : chooseBackupSet(view?.usable ?? stanza?.backup ?? [], at);
  if (!set) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `no physical backup is consistent at ${String(at?.toISOString())}`,
    );
  }
  // pg_wal is inside the data directory (checkMovable): the WAL replayed passes through it.
  const space = restoreSpace(set, archiver.last_archived_wal ?? undefined);
  const free = await freeBytesBeside(site.cluster.dataDir);
  if (space.need > free) {
    throw new PreconditionError(
      'DISK_SPACE',
      `the restored cluster needs about ${formatBytes(space.need)} beside ${site.cluster.dataDir} (the database ${formatBytes(space.databaseBytes)}, WAL replayed through pg_wal up to ${formatBytes(space.walBytes)}), and ${formatBytes(free)} are free (the current directory is kept); nothing was changed`,
      { hint: 'free space there: earlier restores keep their old data directory next to it (docs/pitr.md)' },
    );
  }

  if (req.snapshot && req.snapshot.manifest.installDir !== d.installDir) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `snapshot ${req.snapshot.manifest.id} is of ${req.snapshot.manifest.installDir}, not of this install (${d.installDir}): its database part is a physical reference, restored in place only; nothing was changed`,
      { hint: 'restore a snapshot that holds a logical dump onto the new install' },
    );
  }
  // A snapshot's files are its own: the database is at the same moment, nothing is merged in.
  const { before, after } = req.snapshot
    ? { before: req.snapshot.manifest, after: undefined }
    : await chooseFileSnapshots(ec.repo, d.installDir, at ?? now);
  if (!before) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `no file snapshot of this install finished at or before ${(at ?? now).toISOString()}: the config, plugins and attachments of that time are not in the repository; nothing was changed`,
      { hint: 'choose a later time (mm-backup list shows the snapshots)' },
    );
  }
  const treeIds = selectRecords(before, req.snapshot?.components)
    .filter((r) => kindOf(r).store === 'tree')
    .map((r) => r.id);
  const runningSchema = await ec
    .engineFor(d.database)
    .schemaVersion()
    .catch(() => undefined);
  const earlier = await listAside(site.cluster.dataDir);
  if (earlier.length) warnings.push(`earlier restores left ${earlier.join(', ')} (remove when no longer needed)`);
  const inputs: RestoreAtInputs = {
    site,
    cli,
    at: point ? undefined : at,
    point: point && { lsn: point.lsn, timeline: point.timeline, snapshotId: before.id },
    set,
    d,
    before,
    after,
    treeIds,
    runningSchema,
    aside: asidePath(site.cluster.dataDir, now),
    force: !!req.force,
    allowUnsigned: !!req.allowUnsigned,
    archiveTimeoutSeconds: cfg.pitr.archiveTimeoutSeconds,
  };
  const overwrites = [
    `the PostgreSQL cluster in ${site.cluster.dataDir}: replaced by its state ${point ? `in snapshot ${before.id}, consistent at ${point.at} (WAL to ${point.lsn})` : `at ${at ? at.toISOString() : 'the end of the archived WAL (latest)'}`} (pgBackRest backup ${set.label} and WAL); the current directory is moved to ${inputs.aside} and kept`,
    ...(await restoreAtFilesOverwrites({ before, after, treeIds, force: !!req.force, d }, !point)),
  ];
  return {
    inputs,
    overwrites,
    warnings,
    build: () => {
      if (!rt.lock) throw new BridgeError('INTERNAL', 'a point-in-time restore is built only under the job lock');
      const plan = planRestoreAt(ec, rt.lock, inputs);
      const o = plan.outcome;
      o.warnings.push(...warnings);
      const result = () => ({
        ...(point ? { snapshot_id: before.id, lsn: point.lsn, consistent_at: point.at } : {}),
        target: at ? at.toISOString() : 'latest',
        archive_end: o.archiveEnd?.toISOString() ?? null,
        backup_set: set.label,
        data_dir: site.cluster.dataDir,
        moved_aside: o.movedAside && !o.putBack ? inputs.aside : null,
        put_back: o.putBack,
        ...restoreAtFilesResult(o, before.id, overwrites, o.files.rolledBack || o.putBack),
      });
      return restoreAtOperation(plan, before.id, {
        result,
        restored: (filesFrom) =>
          `Restored the database to ${point ? `snapshot ${before.id}'s point (${point.at}, WAL ${point.lsn})` : at ? at.toISOString() : `the end of the archive${o.archiveEnd ? ` (${o.archiveEnd.toISOString()})` : ''}`} from pgBackRest backup ${set.label}, and ${filesFrom}.`,
        next: `The previous data directory is kept in ${inputs.aside}; remove it when the restored state is confirmed (docs/pitr.md).`,
        failureNote: () => describeRestoreAtFailure(o, site.cluster.dataDir),
      });
    },
  };
}
