/**
 * `pitr enable`: checks everything first (pitr_enable_plan.ts; nothing is changed when a check refuses), then writes
 * pgBackRest's config, creates the stanza, applies the PostgreSQL settings with ALTER SYSTEM, and
 * runs `pgbackrest check`. wal_level and archive_mode need a restart: made only with consent,
 * never leaving PostgreSQL down; without consent only what a reload applies is set.
 */
import type { Config } from '../config/schema';
import { writeConfigFile } from '../database/pgbackrest/config_file';
import { sqlLiteral } from '../database/pgbackrest/local_superuser';
import { describeCommand } from '../database/pgbackrest/postgres_service';
import { current, readSettings, type SettingChange } from '../database/pgbackrest/settings';
import type { OsAccount } from '../database/pgbackrest/postgres_account';
import { applyGrant, makeOwnedDir } from './pitr_access';
import { planPitrEnable, type PitrEnablePlan } from './pitr_enable_plan';
import { installS3Ca, makeSpoolDir, type planS3Repo } from './pitr_repo';
import { restartPostgres, saveAutoConf } from './pitr_restart';
import { savePitrState, type PitrState } from './pitr_state';

export interface PitrEnableOptions {
  /** The admin's consent to restart PostgreSQL (--restart-postgres). */
  restartPostgres: boolean;
  /** Replace a foreign archive_command / restart despite other pending changes (--force). */
  force: boolean;
  log: (message: string) => void;
  signal?: AbortSignal;
  /** Marks in the job lock that PostgreSQL may be down during the restart (pitr_restart.ts). */
  marks?: Parameters<typeof restartPostgres>[4];
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

/**
 * One enable, in the phases a job runs as steps (and the CLI runs one after the other): `check`
 * plans and refuses on the first failed check (nothing changed), `configure` writes pgBackRest's
 * config and creates the stanza, `settings` applies the PostgreSQL settings (restarting only with
 * consent), `verify` reads them back and runs `pgbackrest check`.
 */
export class PitrEnableRun {
  plan?: PitrEnablePlan;
  private state?: PitrState;
  private configFile = '';
  private restarted = false;
  private result?: PitrEnableResult;

  constructor(
    private readonly cfg: Config,
    private readonly o: PitrEnableOptions,
  ) {}

  /** Plans; throws the first failed check's error. Returns a line for the job step. */
  async check(signal = this.o.signal): Promise<string> {
    const plan = await planPitrEnable(this.cfg, {
      restartPostgres: this.o.restartPostgres,
      force: this.o.force,
      signal,
    });
    if (plan.refusal) throw plan.refusal;
    this.plan = plan;
    const restart = plan.changes.filter((c) => c.restart).map((c) => c.name);
    return `pgBackRest ${plan.pgbackrestVersion ?? '?'}; ${plan.changes.length ? `changes ${plan.changes.map((c) => c.name).join(', ')}` : 'no setting changes'}${restart.length ? ` (${restart.join(', ')} need${restart.length === 1 ? 's' : ''} a restart${this.o.restartPostgres ? '' : ': not made without consent'})` : ''}`;
  }

  private ready(): { plan: PitrEnablePlan; internal: NonNullable<PitrEnablePlan['internal']> } {
    if (!this.plan?.internal) throw new Error('pitr enable: the check phase did not run');
    return { plan: this.plan, internal: this.plan.internal };
  }

  async configure(signal = this.o.signal): Promise<string> {
    const { plan, internal } = this.ready();
    const { site, s3, grant } = internal;
    const { cfg, o } = this;
    const { account } = site;
    const previous = plan.previous;
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
    this.state = state;
    if (grant && !state.repositoryAccess) {
      state.repositoryAccess = grant;
      await savePitrState(cfg, state);
      await applyGrant(grant, account);
    }
    if (s3) await prepareS3(s3, site.configDir, account, o.log);
    else await makeOwnedDir(site.repoPath, account, cfg.repository.path);
    this.configFile = await writeConfigFile(site.configDir, internal.configText, account);
    o.log(`wrote ${this.configFile} (owned by ${account.name}, 0600)`);
    await internal.pgbr.cli.stanzaCreate(signal);
    o.log(`stanza ${cfg.pitr.stanza} is ready in ${site.repoPath}`);
    return `stanza ${cfg.pitr.stanza} in ${site.repoPath}`;
  }

  async settings(signal = this.o.signal): Promise<string> {
    const { plan, internal } = this.ready();
    const { site } = internal;
    const state = this.state;
    if (!state) throw new Error('pitr enable: the configure phase did not run');
    const { cfg, o } = this;
    const { changes, previous } = plan;
    const restartOnes = changes.filter((c) => c.restart);
    const saved = await saveAutoConf(site);
    const now = changes.filter((c) => !c.restart || o.restartPostgres);
    for (const c of now) {
      // Recorded before it is made: a crash in between leaves disable one undo too many, never one too few.
      // A setting changed by an earlier run keeps the value from before that run.
      const earlier = state.changed[c.name];
      state.changed[c.name] = {
        before: earlier ? earlier.before : (site.settings.auto_conf[c.name] ?? null),
        value: c.to,
      };
    }
    await savePitrState(cfg, state);
    if (now.length) {
      await site.su.run(
        [...now.map((c) => `ALTER SYSTEM SET ${c.name} = ${sqlLiteral(c.to)}`), 'SELECT pg_reload_conf()'],
        signal,
      );
      for (const c of now) o.log(`set ${c.name} = ${c.to}${c.restart ? ' (applied by the restart)' : ''}`);
    }
    if (o.restartPostgres && restartOnes.length) {
      try {
        await restartPostgres(site, saved, o.log, signal, o.marks);
      } catch (err) {
        // The settings of this run were put back (restartPostgres): so is what the state says. Only
        // when postgresql.auto.conf is back as it was: one that could not be put back still holds
        // them, and the state must keep them for disable to undo.
        const now = await saveAutoConf(site).catch(() => undefined);
        if (now?.equals(saved)) {
          state.changed = { ...previous?.changed };
          await savePitrState(cfg, state);
        }
        throw err;
      }
      this.restarted = true;
    }
    const pending = o.restartPostgres ? [] : restartOnes.map((c) => c.name);
    return `${now.length ? `set ${now.map((c) => c.name).join(', ')}` : 'nothing to set'}${this.restarted ? '; PostgreSQL restarted' : ''}${pending.length ? `; waiting for a restart: ${pending.join(', ')}` : ''}`;
  }

  async verify(signal = this.o.signal): Promise<string> {
    const { plan, internal } = this.ready();
    const { site, pgbr } = internal;
    const state = this.state;
    if (!state) throw new Error('pitr enable: the configure phase did not run');
    const { cfg, o } = this;
    const after = await readSettings(site.su, signal);
    const archiving =
      current(after, 'archive_mode') !== 'off' && current(after, 'archive_command') === pgbr.archiveCommand;
    if (archiving) {
      await pgbr.cli.check(signal);
      state.phase = 'enabled';
      await savePitrState(cfg, state);
      o.log('pgbackrest check passed: WAL is archived');
    }
    const pending = o.restartPostgres ? [] : plan.changes.filter((c) => c.restart).map((c) => c.name);
    this.result = {
      stanza: cfg.pitr.stanza,
      pgbackrestVersion: pgbr.version,
      configFile: this.configFile,
      repoPath: site.repoPath,
      changes: plan.changes.map((c) => ({ ...c, applied: current(after, c.name) === c.to })),
      restarted: this.restarted,
      pendingRestart: pending,
      finish: pending.length
        ? `mm-backup --config ${describeCommand([cfg.configFile])} pitr enable --restart-postgres (restarts PostgreSQL with ${describeCommand(site.service.stop.argv)} and ${describeCommand(site.service.start.argv)})`
        : undefined,
      checked: archiving,
    };
    return archiving
      ? 'pgbackrest check passed: WAL is archived'
      : `archiving waits for a restart (${pending.join(', ')})`;
  }

  /** What the run did; undefined until `verify` ran. */
  outcome(): PitrEnableResult | undefined {
    return this.result;
  }
}

export async function pitrEnable(cfg: Config, o: PitrEnableOptions): Promise<PitrEnableResult> {
  const run = new PitrEnableRun(cfg, o);
  await run.check();
  await run.configure();
  await run.settings();
  await run.verify();
  const r = run.outcome();
  if (!r) throw new Error('pitr enable: verify gave no result');
  return r;
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
