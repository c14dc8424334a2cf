/**
 * What `pitr enable` would check and change, found without changing anything: every check with its
 * result, the PostgreSQL settings that change (and which of them only a restart applies), pgBackRest
 * and its version, where the repository goes. `pitr enable` runs exactly this first and refuses on
 * its first failed check; `pitr enable --dry-run` and GET /v1/pitr/plan show it.
 */
import type { Config } from '../config/schema';
import { readSecretFile } from '../config/load';
import { BridgeError, PreconditionError } from '../core/errors';
import { registerSecret } from '../core/redact';
import path from 'node:path';
import { CONFIG_FILE_NAME, renderConfig } from '../database/pgbackrest/config_file';
import { current, NEEDS_RESTART, plannedChanges, type SettingChange } from '../database/pgbackrest/settings';
import { planAccess, type AccessGrant } from './pitr_access';
import { planS3Repo } from './pitr_repo';
import { inspectPitr, type PitrSite } from './pitr_site';
import { loadPitrState, type PitrState } from './pitr_state';

export type CheckStatus = 'ok' | 'warning' | 'failed' | 'skipped';

/** One check of the plan: `failed` refuses enable; `warning` is said but does not. */
export interface PlanCheck {
  id: 'postgres' | 'state' | 'pgbackrest' | 'archiving' | 'restart' | 'encryption' | 'repository' | 'config-dir';
  title: string;
  status: CheckStatus;
  detail: string;
  hint?: string;
}

export interface PitrEnablePlan {
  checks: PlanCheck[];
  /** The first failed check's error, as it was thrown: what `pitr enable` throws (undefined when it may go on). */
  refusal?: Error;
  stanza: string;
  repoPath: string;
  configDir: string;
  configFile: string;
  postgresVersion?: string;
  pgbackrestVersion?: string;
  /** Every managed setting that differs from what physical mode needs. */
  changes: SettingChange[];
  /** Some change takes effect only when PostgreSQL restarts (wal_level, archive_mode). */
  restartNeeded: boolean;
  /** Other settings already waiting for a restart: a restart of ours would apply them too. */
  othersPending: string[];
  /** What physical mode's state file says now (an earlier enable), if anything. */
  previous?: PitrState;
  /** archive_mode as PostgreSQL runs now (undefined when it could not be read). */
  archiveMode?: string;
  /** For enable itself, present when no check failed; never shown (the config text may hold the passphrase). */
  internal?: {
    site: PitrSite;
    pgbr: NonNullable<PitrSite['pgbackrest']>;
    s3?: Awaited<ReturnType<typeof planS3Repo>>;
    grant?: AccessGrant;
    configText: string;
    cipherPass?: string;
  };
}

export interface PlanOptions {
  /** The admin consents to a restart: other pending restart settings then refuse (unless force). */
  restartPostgres: boolean;
  /** Replace a foreign archive_command, restart despite other pending changes (--force). */
  force: boolean;
  signal?: AbortSignal;
}

const TITLES: Record<PlanCheck['id'], string> = {
  postgres: 'PostgreSQL: the local cluster behind Mattermost, superuser access, its data directory',
  state: "Physical mode's state file, beside the signing key",
  pgbackrest: 'pgBackRest installed, in a version that supports this PostgreSQL',
  archiving: 'No other tool archives WAL (archive_mode, archive_command, archive_library)',
  restart: 'No other PostgreSQL setting waits for a restart',
  encryption: "pgBackRest's repository encryption (pitr.cipherPassFile)",
  repository: "postgres can reach pgBackRest's repository",
  'config-dir': "postgres can reach pgBackRest's config directory",
};

/** Plans enable; never changes anything. A check that throws fails, and every later one is skipped. */
export async function planPitrEnable(cfg: Config, o: PlanOptions): Promise<PitrEnablePlan> {
  const local = cfg.pitr.repo.type === 'local';
  const plan: PitrEnablePlan = {
    checks: [],
    stanza: cfg.pitr.stanza,
    repoPath: '',
    configDir: cfg.pitr.configDir,
    configFile: path.join(cfg.pitr.configDir, CONFIG_FILE_NAME),
    changes: [],
    restartNeeded: false,
    othersPending: [],
  };
  const check = async (
    id: PlanCheck['id'],
    fn: () => Promise<{ detail: string; warning?: string; hint?: string }>,
  ): Promise<boolean> => {
    if (plan.refusal) {
      plan.checks.push({ id, title: TITLES[id], status: 'skipped', detail: 'not checked: an earlier check failed' });
      return false;
    }
    try {
      const r = await fn();
      plan.checks.push({
        id,
        title: TITLES[id],
        status: r.warning ? 'warning' : 'ok',
        detail: r.warning ? `${r.detail}; ${r.warning}` : r.detail,
        ...(r.hint ? { hint: r.hint } : {}),
      });
      return true;
    } catch (err) {
      const e = err instanceof Error ? err : new BridgeError('INTERNAL', String(err), { cause: err });
      const hint = e instanceof BridgeError ? e.hint : undefined;
      plan.refusal = e;
      plan.checks.push({ id, title: TITLES[id], status: 'failed', detail: e.message, ...(hint ? { hint } : {}) });
      return false;
    }
  };

  let site: PitrSite | undefined;
  await check('postgres', async () => {
    site = await inspectPitr(cfg, false, o.signal);
    plan.repoPath = site.repoPath;
    plan.postgresVersion = String(site.cluster.major);
    plan.archiveMode = current(site.settings, 'archive_mode');
    return {
      detail: `PostgreSQL ${site.cluster.major}, data directory ${site.cluster.dataDir}, port ${site.cluster.port}`,
    };
  });
  await check('state', async () => {
    plan.previous = await loadPitrState(cfg);
    return { detail: plan.previous ? `physical mode is ${plan.previous.phase}` : 'physical mode is off' };
  });
  let pgbr: PitrSite['pgbackrest'];
  await check('pgbackrest', async () => {
    if (!site?.pgbackrest) {
      const why = site?.pgbackrestError;
      throw why instanceof Error ? why : new Error(`pgBackRest could not be used: ${String(why)}`);
    }
    pgbr = site.pgbackrest;
    plan.pgbackrestVersion = pgbr.version;
    return { detail: `pgBackRest ${pgbr.version}` };
  });
  await check('archiving', async () => {
    if (!site || !pgbr) throw new Error('no site');
    const s = site.settings;
    refuseForeignArchiving(
      current(s, 'archive_mode'),
      current(s, 'archive_command'),
      current(s, 'archive_library'),
      [pgbr.archiveCommand, plan.previous?.changed.archive_command?.value ?? ''],
      o.force,
    );
    plan.changes = plannedChanges(s, pgbr.archiveCommand, cfg.pitr.archiveTimeoutSeconds);
    plan.restartNeeded = plan.changes.some((c) => c.restart);
    const mode = current(s, 'archive_mode');
    return {
      detail: `archive_mode = ${mode}${mode === 'off' ? '' : `, archive_command = '${current(s, 'archive_command')}'`}`,
    };
  });
  await check('restart', async () => {
    if (!site) throw new Error('no site');
    const changes = plan.changes;
    plan.othersPending = site.settings.pending.filter((n) => !changes.some((c) => c.name === n));
    const others = plan.othersPending;
    if (!others.length || !plan.restartNeeded) return { detail: 'none waits' };
    if (o.restartPostgres && !o.force) {
      throw new PreconditionError(
        'PRECONDITION_FAILED',
        `PostgreSQL has other changes waiting for a restart (${others.join(', ')}): restarting now would apply them too`,
        {
          hint: 'restart PostgreSQL yourself first (or add --force to let this restart apply them), then run pitr enable again',
        },
      );
    }
    return {
      detail: `${others.join(', ')} wait${others.length === 1 ? 's' : ''} for a restart`,
      warning: 'a restart made by enable would apply them too, so it is refused unless forced',
      hint: 'restart PostgreSQL yourself first, then enable with the restart',
    };
  });
  let cipherPass: string | undefined;
  await check('encryption', async () => {
    // A bucket without the cipher is refused by the repository check (planS3Repo says why).
    if (!cfg.pitr.cipherPassFile) return { detail: 'not encrypted (no pitr.cipherPassFile)' };
    cipherPass = await readSecretFile(cfg.pitr.cipherPassFile, 'pitr.cipherPassFile');
    registerSecret(cipherPass);
    return { detail: `encrypted with the passphrase in ${cfg.pitr.cipherPassFile}` };
  });
  let s3: Awaited<ReturnType<typeof planS3Repo>> | undefined;
  let grant: AccessGrant | undefined;
  await check('repository', async () => {
    if (!site) throw new Error('no site');
    if (!local) {
      s3 = await planS3Repo(cfg, site.configDir);
      return { detail: site.repoPath };
    }
    grant = await planAccess(site.repoPath, site.account, "pgBackRest's repository", cfg.repository.path);
    return {
      detail: grant
        ? `${site.repoPath}: enable lets the group ${site.account.name} traverse ${grant.path} (g+x, no listing)`
        : site.repoPath,
    };
  });
  await check('config-dir', async () => {
    if (!site) throw new Error('no site');
    await planAccess(site.configDir, site.account, "pgBackRest's config directory");
    if (s3) await planAccess(s3.spec.spoolPath, site.account, "pgBackRest's spool directory");
    return { detail: `${plan.configFile}, owned by ${site.account.name}, 0600` };
  });
  if (!plan.refusal && site && pgbr) {
    const configText = renderConfig({
      stanza: cfg.pitr.stanza,
      pg: { dataDir: site.cluster.dataDir, port: site.cluster.port, socketPath: site.cluster.socketDir },
      repo: s3 ? s3.spec : { type: 'posix', path: site.repoPath },
      cipherPass,
      processMax: cfg.pitr.processMax,
      archivePushQueueMaxBytes: cfg.pitr.archivePushQueueMaxMiB * 1024 * 1024,
    });
    plan.internal = { site, pgbr, s3, grant, configText, cipherPass };
  }
  return plan;
}

/** What disable would put back, from the state file and the running settings; nothing changed. */
export interface PitrDisablePlan {
  reverts: Array<{ name: string; to: string | null }>;
  /** archive_mode goes off only at a restart. */
  restartNeeded: boolean;
}

/** Plans disable from what the enable plan read (null when physical mode is off). */
export function planPitrDisable(plan: PitrEnablePlan): PitrDisablePlan | null {
  const state = plan.previous;
  if (!state) return null;
  const entries = Object.entries(state.changed) as Array<[keyof PitrState['changed'], { before: string | null }]>;
  const archiveOn = plan.archiveMode !== 'off';
  return {
    reverts: entries.map(([name, { before }]) => ({ name, to: before })),
    restartNeeded: entries.some(([n]) => NEEDS_RESTART.has(n)) && archiveOn,
  };
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
