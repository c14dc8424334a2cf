/**
 * restore --at T --pg-data-dir DIR: the database of T onto a new host, into an empty data
 * directory, from the pgBackRest repository the config names (pitr.repoPath, or the bucket of
 * pitr.repo s3; pitr.stanza). There
 * is no live cluster: the recovery window ends at the last segment archived in the repository,
 * nothing is moved aside, no other database is asked about. Everything is checked before
 * anything changes except pgBackRest's config in pitr.configDir (and, for a bucket, the CA
 * certificate's copy beside it), which reading the repository needs; then the person confirms, then restore_at_new_host_plan.ts builds the job.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { readSecretFile } from '../config/load';
import type { PitrConfig } from '../config/pitr_schema';
import { PreconditionError } from '../core/errors';
import { redact, registerSecret } from '../core/redact';
import { findPgBinDir, pgTool } from '../database/pg_tools';
import { lastArchivedSegment, lastArchivedSegmentVia } from '../database/pgbackrest/archive_end';
import { CONFIG_FILE_NAME, renderConfig, writeConfigFile } from '../database/pgbackrest/config_file';
import type { StanzaInfo } from '../database/pgbackrest/info';
import { findDataDirByPort, isLocalHost } from '../database/pgbackrest/local_cluster';
import {
  checkNewHostTarget,
  refuseTablespaces,
  checkTargetApart,
  freeBytesAt,
  type KeptApart,
} from '../database/pgbackrest/new_host_target';
import { readRegularFile } from '../database/pgbackrest/safe_fs';
import { PgBackRest, resolvePgBackRest } from '../database/pgbackrest/pgbackrest';
import { asAccount, postgresAccount, type OsAccount } from '../database/pgbackrest/postgres_account';
import { postgresService, type PostgresService } from '../database/pgbackrest/postgres_service';
import { chooseBackupSet, parseRecoveryTarget } from '../database/pgbackrest/recovery_target';
import { formatBytes, restoreSpace } from '../database/pgbackrest/restore_space';
import { applyHistory, describeHole, holeAt, readHistoryView } from '../database/pgbackrest/timelines';
import { checkSupported } from '../database/pgbackrest/version';
import { discoverOrFromSnapshot } from '../discovery/from_snapshot';
import { kindOf } from '../components/registry';
import type { Config } from '../config/schema';
import { collectEntries, isWholeTree } from '../manifest/entry_list';
import type { Manifest } from '../manifest/manifest';
import { runProcess } from '../process/run_process';
import { describePitrRepo, installS3Ca, planS3Repo } from './pitr_repo';
import { chooseFileSnapshots } from './restore_at_files';
import { describeNewHostFailure, planRestoreAtNewHost, type NewHostInputs } from './restore_at_new_host_plan';
import { restoreAtFilesOverwrites, restoreAtFilesResult, restoreAtOperation } from './restore_at_plan';
import { selectRecords } from './restore_plan';
import type { Operation, OperationRuntime } from './request';

export interface RestoreAtNewHostRequest {
  /** An ISO time with its offset, or "latest". */
  at: string;
  /** The empty (or not yet existing) data directory of the restored cluster. */
  pgDataDir: string;
  /** Restore although the schema is newer than the Mattermost that will run it. */
  force?: boolean;
  allowUnsigned?: boolean;
}

export interface PreparedRestoreAtNewHost {
  inputs: NewHostInputs;
  overwrites: string[];
  warnings: string[];
  build(): Operation;
}

export async function prepareRestoreAtNewHost(
  req: RestoreAtNewHostRequest,
  rt: OperationRuntime,
): Promise<PreparedRestoreAtNewHost> {
  const { ec } = rt;
  const cfg = ec.cfg;
  const target = parseRecoveryTarget(req.at);
  const warnings: string[] = [];
  // A bucket (pitr.repo s3): everything pgBackRest needs to reach it is checked (and the keys
  // read) before anything changes; the keys go only into the 0600 pgbackrest.conf below.
  const s3 = cfg.pitr.repo.type === 's3' ? await planS3Repo(cfg, cfg.pitr.configDir) : undefined;
  const repoName = describePitrRepo(cfg);
  const account = postgresAccount();
  const bin = resolvePgBackRest(cfg.pitr.pgbackrestBin);
  const cli = new PgBackRest(bin, cfg.pitr.configDir, cfg.pitr.stanza, account);
  const version = await cli.version();
  const dest = await checkNewHostTarget(req.pgDataDir, account);
  const repoPath = cfg.pitr.repoPath ?? path.join(cfg.repository.path, 'pgbackrest');

  // The files first: they name the install, and through its config the DSN the cluster must serve.
  const installDir = path.resolve(cfg.mattermost.installDir);
  const probe = await chooseFileSnapshots(ec.repo, installDir, new Date());
  const newest = probe.before;
  if (!newest) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `the repository holds no file snapshot of ${installDir} (mattermost.installDir): the config, plugins and attachments are not there; nothing was changed`,
      {
        hint: "point repository.path at the old host's repository, and mattermost.installDir at the same path as there",
      },
    );
  }
  const d = await discoverOrFromSnapshot(cfg, newest, ec.repo, (s) => rt.notice(redact(s)));
  const db = d.database;
  if (db.driver !== 'postgres') {
    throw new PreconditionError('PRECONDITION_FAILED', 'a point-in-time restore is for PostgreSQL only');
  }
  if (!isLocalHost(db.host)) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `Mattermost's DSN names ${db.host}, not this host: the restored cluster would not be the one Mattermost uses; nothing was changed`,
      { hint: 'run the restore on the host Mattermost reaches its database on (localhost or a socket in its DSN)' },
    );
  }
  // Before anything is written: the target must be a place of its own (the file trees this restore
  // mirrors would remove the restored cluster as a file not in their snapshot).
  checkTargetApart(dest.dir, [...placesOf(cfg, repoPath, s3?.spec.spoolPath), ...(await treePlaces(newest))]);
  const busy = findDataDirByPort(db.port);
  if (busy) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `a PostgreSQL server already listens on port ${db.port} (Mattermost's DSN) here, in ${busy}; nothing was changed`,
      {
        hint: 'to restore that cluster, use restore --at without --pg-data-dir (in place); else stop it first',
      },
    );
  }

  // pgBackRest reads the repository only through a config file (the cipher passphrase must not be
  // in argv or the environment): ours, with pg1-path the new directory. One serving another
  // cluster here is not replaced.
  await refuseForeignConfig(cfg.pitr.configDir, dest.dir);
  const cipherPass = cfg.pitr.cipherPassFile
    ? await readSecretFile(cfg.pitr.cipherPassFile, 'pitr.cipherPassFile')
    : undefined;
  registerSecret(cipherPass);
  // The CA certificate's copy first: the config names it.
  if (s3) await installS3Ca(s3, cfg.pitr.configDir, account);
  await writeConfigFile(
    cfg.pitr.configDir,
    renderConfig({
      stanza: cfg.pitr.stanza,
      pg: { dataDir: dest.dir, port: db.port },
      repo: s3 ? s3.spec : { type: 'posix', path: repoPath },
      cipherPass,
      processMax: cfg.pitr.processMax,
      archivePushQueueMaxBytes: cfg.pitr.archivePushQueueMaxMiB * 1024 * 1024,
    }),
    account,
  );

  const stanza = await cli.info();
  const backups = stanza?.backup ?? [];
  if (!stanza || !backups.length) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `the pgBackRest repository ${repoName} holds no physical backup of stanza ${cfg.pitr.stanza}${stanza ? ` (${stanza.status.message})` : ''}: nothing to restore from; nothing was changed`,
      {
        hint: s3
          ? `pitr.stanza and pitr.repo.prefix (or offsite.s3.prefix) must name the old host's, and the keys must be allowed to read the bucket`
          : `pitr.repoPath and pitr.stanza must name the old host's; ${account.name} must be able to read ${repoPath}`,
      },
    );
  }
  const major = repoMajor(stanza);
  checkSupported(version, major);
  const archiveId = stanza.archive[stanza.archive.length - 1]?.id ?? '';
  const end = s3
    ? await lastArchivedSegmentVia((dir) => cli.repoLs(dir), cfg.pitr.stanza, archiveId)
    : await lastArchivedSegment(repoPath, cfg.pitr.stanza, archiveId);
  const newestStop = [...backups].sort((a, b) => a.timestamp.stop - b.timestamp.stop).pop()?.archive?.stop;
  const timeline = end?.timeline ?? (newestStop ? parseInt(newestStop.slice(0, 8), 16) : 1);
  // Along that timeline's history (timelines.ts): the backups it can use, the gaps along it in the
  // repository's listing, the holes an earlier restore left.
  const view = await readHistoryView(cli, stanza.name, backups, archiveId, timeline);
  const effect = applyHistory(
    stanza,
    {
      archived_count: 0,
      last_archived_wal: end?.segment ?? null,
      last_archived_time: end?.at.toISOString() ?? null,
      failed_count: 0,
      last_failed_wal: null,
      last_failed_time: null,
    },
    view,
    [],
  );
  const window = effect.window;
  if (effect.problem) warnings.push(effect.problem);
  const wanted = target.kind === 'time' ? target.at : undefined;
  if (effect.broken && (!window || !wanted || wanted > window.end)) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `${wanted ? wanted.toISOString() : 'latest'} cannot be reached: ${effect.problem ?? 'a WAL gap'}${window ? `; the reachable window is ${window.start.toISOString()} … ${window.end.toISOString()}` : ''}; nothing was changed`,
      { hint: 'choose a time before the gap' },
    );
  }
  if (!window) {
    throw new PreconditionError('PRECONDITION_FAILED', 'there is no physical backup yet: nothing to restore from');
  }
  const at = target.kind === 'time' ? target.at : undefined;
  if (at && (at < window.start || at > window.end)) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `${at.toISOString()} is outside the recovery window ${window.start.toISOString()} … ${window.end.toISOString()} (it ends at the last WAL segment archived in the repository: with no live cluster here, nothing later can be reached); nothing was changed`,
      {
        hint: 'choose a time inside the window, or --at latest',
        details: { window_start: window.start.toISOString(), window_end: window.end.toISOString() },
      },
    );
  }
  const hole = at ? holeAt(effect.holes, at) : undefined;
  if (hole) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `${at?.toISOString()}: ${describeHole(hole)}; nothing was changed`,
      {
        hint: `choose a time before ${hole.from.toISOString()} or after ${hole.to.toISOString()}`,
      },
    );
  }
  const set = chooseBackupSet(view?.usable ?? backups, at);
  if (!set) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `no physical backup is consistent at ${String(at?.toISOString())}`,
    );
  }
  refuseTablespaces(set.label, await cli.backupTablespaces(set.label));
  const service = postgresService(cfg.pitr.postgresService, { major, dataDir: dest.dir });
  await checkServer(cfg.pitr.postgresService.preset, service, major, account);

  const space = restoreSpace(set, end?.segment);
  const free = await freeBytesAt(dest);
  if (space.need > free) {
    throw new PreconditionError(
      'DISK_SPACE',
      `the restored cluster needs about ${formatBytes(space.need)} in ${dest.dir} (the database ${formatBytes(space.databaseBytes)}, WAL replayed through pg_wal up to ${formatBytes(space.walBytes)}), and ${formatBytes(free)} are free; nothing was changed`,
      { hint: 'give a directory on a filesystem with room for it' },
    );
  }

  const { before, after } = await chooseFileSnapshots(ec.repo, d.installDir, at ?? window.end);
  if (!before) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `no file snapshot of this install finished at or before ${(at ?? window.end).toISOString()}: the config, plugins and attachments of that time are not in the repository; nothing was changed`,
      { hint: 'choose a later time (mm-backup list shows the snapshots)' },
    );
  }
  const treeIds = selectRecords(before)
    .filter((r) => kindOf(r).store === 'tree')
    .map((r) => r.id);
  // The snapshots chosen for the time may place the trees elsewhere than the newest one.
  checkTargetApart(dest.dir, [...(await treePlaces(before)), ...(after ? await treePlaces(after) : [])]);
  const psql = pgTool(findPgBinDir(cfg.database.pgBinDir), 'psql');
  const inputs: NewHostInputs = {
    cli,
    at,
    set,
    d,
    before,
    after,
    treeIds,
    runningSchema: undefined,
    force: !!req.force,
    allowUnsigned: !!req.allowUnsigned,
    account,
    target: dest,
    service,
    port: db.port,
    timeline,
    psql,
    spoolPath: s3?.spec.spoolPath,
  };
  const what = at ? at.toISOString() : `the end of the archived WAL (${window.end.toISOString()})`;
  const overwrites = [
    `${dest.dir}: ${dest.existed ? 'filled' : 'created'} with the PostgreSQL cluster of ${what} (pgBackRest backup ${set.label} and WAL on timeline ${timeline}), listening on port ${db.port}, with archive_mode off`,
    ...(await restoreAtFilesOverwrites({ before, after, treeIds, force: !!req.force, d })),
  ];
  return {
    inputs,
    overwrites,
    warnings,
    build: () => {
      const plan = planRestoreAtNewHost(ec, rt.lock, inputs);
      const o = plan.outcome;
      o.warnings.push(...warnings);
      const result = () => ({
        target: at ? at.toISOString() : 'latest',
        archive_end: window.end.toISOString(),
        backup_set: set.label,
        timeline,
        data_dir: dest.dir,
        port: db.port,
        archive_mode: 'off',
        new_host: true,
        cleaned: o.cleaned,
        ...restoreAtFilesResult(o, before.id, overwrites, o.files.rolledBack || o.cleaned),
      });
      return restoreAtOperation(plan, before.id, {
        result,
        restored: (filesFrom) =>
          `Restored the database to ${what} into ${dest.dir} (port ${db.port}) from pgBackRest backup ${set.label}, and ${filesFrom}.`,
        next: `WAL archiving is OFF in the restored cluster (archive_mode=off), so it writes nothing into the old host's repository. To protect this host, run mm-backup pitr enable --restart-postgres here (with a new pitr.stanza${s3 ? ' or pitr.repo.prefix' : ' or pitr.repoPath'} if the old host still archives into ${repoName}), then mm-backup pitr backup --type=full.`,
        failureNote: () => describeNewHostFailure(o, dest.dir),
      });
    },
  };
}

/** The places of this host the new cluster must keep apart from: the repositories, pgBackRest's config and spool. */
function placesOf(cfg: Config, repoPath: string, spoolPath: string | undefined): KeptApart[] {
  return [
    { what: 'the repository (repository.path)', path: cfg.repository.path },
    ...(cfg.pitr.repo.type === 'local' ? [{ what: "pgBackRest's repository (pitr.repoPath)", path: repoPath }] : []),
    { what: "pgBackRest's config directory (pitr.configDir)", path: cfg.pitr.configDir },
    ...(spoolPath ? [{ what: "pgBackRest's spool (pitr.repo.spoolPath)", path: spoolPath }] : []),
    { what: 'the Mattermost install (mattermost.installDir)', path: cfg.mattermost.installDir },
  ];
}

/** Where `m`'s file components are put back: a whole tree's root (mirrored), or each single file. */
async function treePlaces(m: Manifest): Promise<KeptApart[]> {
  const out: KeptApart[] = [];
  for (const r of selectRecords(m)) {
    if (kindOf(r).store !== 'tree' || r.root === undefined) continue;
    const what = `the ${r.id} files a restore puts back (snapshot ${m.id})`;
    if (await isWholeTree(r.entries)) out.push({ what, path: r.root });
    else for (const e of await collectEntries(r.entries)) out.push({ what, path: path.join(r.root, e.path) });
  }
  return out;
}

/** The PostgreSQL major of the repository's newest database (pgBackRest's db list, "15"). */
function repoMajor(stanza: StanzaInfo): number {
  const v = [...stanza.db].sort((a, b) => a.id - b.id).pop()?.version;
  const major = Number((v ?? '').split('.')[0]);
  if (!Number.isInteger(major) || major < 10) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `pgBackRest names no usable PostgreSQL version for the stanza (${String(v)})`,
    );
  }
  return major;
}

/**
 * Refuses to replace a pgbackrest.conf in `configDir` whose pg1-path is a cluster other than the
 * target: another cluster on this host archives with it (use the in-place restore for that one).
 */
async function refuseForeignConfig(configDir: string, dir: string): Promise<void> {
  // Without following a link: the directory is postgres's.
  const text = await readRegularFile(path.join(configDir, CONFIG_FILE_NAME)).then(
    (f) => f.data.toString('utf8'),
    (err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    },
  );
  const pg1 = text
    ?.split('\n')
    .map((l) => /^\s*pg1-path\s*=\s*(.*?)\s*$/.exec(l)?.[1])
    .find((v) => v !== undefined);
  if (pg1 && pg1 !== dir && existsSync(path.join(pg1, 'PG_VERSION'))) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `${path.join(configDir, CONFIG_FILE_NAME)} serves the cluster in ${pg1} on this host: a restore onto a new host would replace it; nothing was changed`,
      {
        hint: 'restore that cluster in place (restore --at without --pg-data-dir), or set pitr.configDir to another directory',
      },
    );
  }
}

/** The new host's server binaries must be of the repository's major (a cluster does not start on another). */
async function checkServer(
  preset: PitrConfig['postgresService']['preset'],
  service: PostgresService,
  major: number,
  account: OsAccount,
): Promise<void> {
  // custom: the admin's commands, nothing to check them against; docker-compose: the server is
  // the image's, inside the container, not a binary of this host.
  if (preset === 'custom' || preset === 'docker-compose') return;
  const postgres =
    preset === 'pg_ctl'
      ? path.join(path.dirname(service.start.argv[0] as string), 'postgres')
      : `/usr/lib/postgresql/${major}/bin/postgres`;
  const out = await runProcess(postgres, ['--version'], asAccount(account)).catch(() => '');
  const found = /\(PostgreSQL\)\s+(\d+)/.exec(out)?.[1];
  if (Number(found) !== major) {
    throw new PreconditionError(
      'VERSION_MISMATCH',
      `the backups are of PostgreSQL ${major}, and ${postgres} is ${found ? `PostgreSQL ${found}` : 'not there'}; nothing was changed`,
      {
        hint: `install PostgreSQL ${major}'s server on this host${preset === 'pg_ctl' ? ' and set pitr.postgresService.binDir to its bin directory' : ''}`,
      },
    );
  }
}
