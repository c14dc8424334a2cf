/**
 * `pitr enable`: checks everything first (nothing is changed when a check refuses), then writes
 * pgBackRest's config, creates the stanza, applies the PostgreSQL settings with ALTER SYSTEM, and
 * runs `pgbackrest check`. wal_level and archive_mode need a restart: made only with consent,
 * never leaving PostgreSQL down; without consent only what a reload applies is set.
 */
import type { Config } from '../config/schema';
import { readSecretFile } from '../config/load';
import { PreconditionError } from '../core/errors';
import { registerSecret } from '../core/redact';
import { renderConfig, writeConfigFile } from '../database/pgbackrest/config_file';
import { sqlLiteral } from '../database/pgbackrest/local_superuser';
import { describeCommand } from '../database/pgbackrest/postgres_service';
import { current, plannedChanges, readSettings, type SettingChange } from '../database/pgbackrest/settings';
import type { OsAccount } from '../database/pgbackrest/postgres_account';
import { applyGrant, makeOwnedDir, planAccess } from './pitr_access';
import { installS3Ca, makeSpoolDir, planS3Repo } from './pitr_repo';
import { restartPostgres, saveAutoConf } from './pitr_restart';
import { inspectPitr } from './pitr_site';
import { loadPitrState, savePitrState, type PitrState } from './pitr_state';

export interface PitrEnableOptions {
  /** The admin's consent to restart PostgreSQL (--restart-postgres). */
  restartPostgres: boolean;
  /** Replace a foreign archive_command / restart despite other pending changes (--force). */
  force: boolean;
  log: (message: string) => void;
  signal?: AbortSignal;
}

export interface PitrEnableResult {
  stanza: string;
  pgbackrestVersion: string;
  configFile: string;
  repoPath: string;
  /** Every setting that differs from what physical mode needs, and whether it is in effect now. */
  changes: Array<SettingChange & { applied: boolean }>;
  restarted: boolean;
  /** Settings waiting for the admin's consent to a restart; `finish` says how. */
  pendingRestart: string[];
  finish?: string;
  /** `pgbackrest check` passed: WAL reaches the repository. */
  checked: boolean;
}

export async function pitrEnable(cfg: Config, o: PitrEnableOptions): Promise<PitrEnableResult> {
  const site = await inspectPitr(cfg, true, o.signal);
  const pgbr = site.pgbackrest;
  if (!pgbr) throw new Error('inspectPitr returned no pgBackRest although it was required');
  const { settings, account } = site;
  const previous = await loadPitrState(cfg);
  refuseForeignArchiving(
    current(settings, 'archive_mode'),
    current(settings, 'archive_command'),
    current(settings, 'archive_library'),
    [pgbr.archiveCommand, previous?.changed.archive_command?.value ?? ''],
    o.force,
  );
  const changes = plannedChanges(settings, pgbr.archiveCommand, cfg.pitr.archiveTimeoutSeconds);
  const restartOnes = changes.filter((c) => c.restart);
  const othersPending = settings.pending.filter((n) => !changes.some((c) => c.name === n));
  if (o.restartPostgres && restartOnes.length && othersPending.length && !o.force) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `PostgreSQL has other changes waiting for a restart (${othersPending.join(', ')}): restarting now would apply them too`,
      {
        hint: 'restart PostgreSQL yourself first (or add --force to let this restart apply them), then run pitr enable again',
      },
    );
  }
  const cipherPass = cfg.pitr.cipherPassFile
    ? await readSecretFile(cfg.pitr.cipherPassFile, 'pitr.cipherPassFile')
    : undefined;
  registerSecret(cipherPass);
  const local = cfg.pitr.repo.type === 'local';
  const s3 = local ? undefined : await planS3Repo(cfg, site.configDir);
  const grant = local
    ? await planAccess(site.repoPath, account, "pgBackRest's repository", cfg.repository.path)
    : undefined;
  await planAccess(site.configDir, account, "pgBackRest's config directory");
  if (s3) await planAccess(s3.spec.spoolPath, account, "pgBackRest's spool directory");
  const text = renderConfig({
    stanza: cfg.pitr.stanza,
    pg: { dataDir: site.cluster.dataDir, port: site.cluster.port, socketPath: site.cluster.socketDir },
    repo: s3 ? s3.spec : { type: 'posix', path: site.repoPath },
    cipherPass,
    processMax: cfg.pitr.processMax,
    archivePushQueueMaxBytes: cfg.pitr.archivePushQueueMaxMiB * 1024 * 1024,
  });

  // Checks are over: from here on things change, and the state file says what.
  const state: PitrState = {
    version: 1,
    phase: 'enabling',
    stanza: cfg.pitr.stanza,
    configDir: site.configDir,
    repoPath: site.repoPath,
    dataDir: site.cluster.dataDir,
    changed: { ...previous?.changed },
    repositoryAccess: previous?.repositoryAccess,
    updatedAt: '',
  };
  if (grant && !state.repositoryAccess) {
    state.repositoryAccess = grant;
    await savePitrState(cfg, state);
    await applyGrant(grant, account);
  }
  if (local) await makeOwnedDir(site.repoPath, account, cfg.repository.path);
  else if (s3) await prepareS3(s3, site.configDir, account, o.log);
  const configFile = await writeConfigFile(site.configDir, text, account);
  o.log(`wrote ${configFile} (owned by ${account.name}, 0600)`);
  if (s3 && !cipherPass) {
    o.log('warning: pgBackRest writes to the bucket unencrypted; set pitr.cipherPassFile before the first enable');
  }
  await pgbr.cli.stanzaCreate(o.signal);
  o.log(`stanza ${cfg.pitr.stanza} is ready in ${site.repoPath}`);

  const saved = await saveAutoConf(site);
  const now = changes.filter((c) => !c.restart || o.restartPostgres);
  for (const c of now) {
    // Recorded before it is made: a crash in between leaves disable one undo too many, never one too few.
    // A setting changed by an earlier run keeps the value from before that run.
    const earlier = state.changed[c.name];
    state.changed[c.name] = { before: earlier ? earlier.before : (settings.auto_conf[c.name] ?? null), value: c.to };
  }
  await savePitrState(cfg, state);
  if (now.length) {
    await site.su.run(
      [...now.map((c) => `ALTER SYSTEM SET ${c.name} = ${sqlLiteral(c.to)}`), 'SELECT pg_reload_conf()'],
      o.signal,
    );
    for (const c of now) o.log(`set ${c.name} = ${c.to}${c.restart ? ' (applied by the restart)' : ''}`);
  }
  let restarted = false;
  if (o.restartPostgres && restartOnes.length) {
    try {
      await restartPostgres(site, saved, o.log, o.signal);
    } catch (err) {
      // The settings of this run were put back (restartPostgres): so is what the state says.
      state.changed = { ...previous?.changed };
      await savePitrState(cfg, state);
      throw err;
    }
    restarted = true;
  }
  const after = await readSettings(site.su, o.signal);
  const archiving =
    current(after, 'archive_mode') !== 'off' && current(after, 'archive_command') === pgbr.archiveCommand;
  if (archiving) {
    await pgbr.cli.check(o.signal);
    state.phase = 'enabled';
    await savePitrState(cfg, state);
    o.log('pgbackrest check passed: WAL is archived');
  }
  const pending = o.restartPostgres ? [] : restartOnes.map((c) => c.name);
  return {
    stanza: cfg.pitr.stanza,
    pgbackrestVersion: pgbr.version,
    configFile,
    repoPath: site.repoPath,
    changes: changes.map((c) => ({ ...c, applied: current(after, c.name) === c.to })),
    restarted,
    pendingRestart: pending,
    finish: pending.length
      ? `mm-backup --config ${describeCommand([cfg.configFile])} pitr enable --restart-postgres (restarts PostgreSQL with ${describeCommand(site.service.stop.argv)} and ${describeCommand(site.service.start.argv)})`
      : undefined,
    checked: archiving,
  };
}

/** The spool directory and the CA certificate's copy, before the config names them. */
async function prepareS3(
  s3: Awaited<ReturnType<typeof planS3Repo>>,
  configDir: string,
  account: OsAccount,
  log: (m: string) => void,
): Promise<void> {
  await makeSpoolDir(s3.spec.spoolPath, account);
  if (await installS3Ca(s3, configDir, account)) log(`copied the endpoint's CA certificate to ${s3.spec.caFile}`);
}

/** archive_mode on with an archive_command (or archive_library) that is not ours: someone else archives. */
function refuseForeignArchiving(mode: string, command: string, library: string, ours: string[], force: boolean): void {
  if (library) {
    // PostgreSQL uses archive_library instead of archive_command: --force could not make ours run.
    throw new PreconditionError('PRECONDITION_FAILED', `PostgreSQL archives WAL with archive_library = '${library}'`, {
      hint: 'physical mode needs archive_command: remove archive_library (ALTER SYSTEM RESET archive_library) if nothing depends on it, then run pitr enable again',
    });
  }
  if (force || mode === 'off' || !command || ours.includes(command)) return;
  const foreign = `archive_command = '${command}'`;
  throw new PreconditionError(
    'PRECONDITION_FAILED',
    `PostgreSQL already archives WAL elsewhere: archive_mode = ${mode}, ${foreign}`,
    {
      hint: 'physical mode would replace it: make sure nothing depends on it (another backup tool, a replica), then run pitr enable --force',
    },
  );
}
