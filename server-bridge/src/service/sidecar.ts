/**
 * The always-on sidecar (`mm-backup serve`): owns the config, the engine, the job manager and
 * its history, session auth, the status reporter, the scheduler and the HTTP server, and checks
 * at start-up and after every restore that its bot token and status channel still work.
 */
import type { FastifyInstance } from 'fastify';
import {
  API_VERSION,
  type ConnectReport,
  type ConnectRequest,
  type ConnectState,
  type Settings,
  type SettingsPatch,
  type Status,
} from '@mm-backup/api';
import pino, { type Logger } from 'pino';
import { loadConfig } from '../config/load';
import type { Config } from '../config/schema';
import { asBridgeError } from '../core/errors';
import { redact } from '../core/redact';
import { discover } from '../discovery/discover';
import { SessionAuth } from '../http/auth';
import { buildServer } from '../http/server';
import type { SidecarApi, SlashRequest } from '../http/sidecar_api';
import { openContext, type EngineContext } from '../jobs/context';
import { describeRestore, selectRecords } from '../operations/restore_plan';
import { describeRestoreAt, type RestoreAtDescription } from '../operations/restore_at_describe';
import { planPitrEnable, type PitrEnablePlan } from '../operations/pitr_enable_plan';
import { pitrLines } from '../operations/pitr_view';
import { ping, serverVersion } from '../mattermost/health';
import { MattermostClient, isOutage } from '../mattermost/client';
import { readVerifications } from '../repository/verifications';
import { handleSlash } from '../slash/handler';
import { ChannelReporter } from '../status/channel_reporter';
import { secs, size } from '../status/format_post';
import { connect, slashUrl } from '../operations/connect';
import { JobHistory } from '../jobs/job_history';
import { JobManager } from './job_manager';
import { renderMetrics } from './metrics';
import { PitrWatch } from './pitr_watch';
import { RestoreConfirmations } from '../operations/restore_confirmations';
import { Scheduler } from './scheduler';
import { commitSettings, prepareSettings, readSettings } from './settings';
import { StateStore } from '../operations/state_store';
import type { Recovery } from '../operations/recover_stale_lock';
import { lockView, recentInterruptions } from '../status/recovery_state';
import { escapeMarkdown as md } from '../status/markdown';
import { checkLockAtStart } from './startup_check';
import { PostgresDownWatch } from './postgres_down_watch';
import {
  postgresDownLines,
  postgresDownView,
  type PostgresDownRetry,
  type RetryNote,
} from '../operations/postgres_down';
import { readPostgresDownMarker } from '../jobs/postgres_down_marker';
import { plural } from '../core/units';

export const SIDECAR_VERSION = '0.1.0';

export class Sidecar implements SidecarApi {
  readonly version = SIDECAR_VERSION;
  readonly restores = new RestoreConfirmations();
  readonly auth: SessionAuth;
  readonly reporter: ChannelReporter;
  readonly scheduler: Scheduler;
  readonly jobs: JobManager;
  /** Physical mode's recovery window and WAL archive health, read every minute. */
  readonly pitr: PitrWatch;
  /** The reading of physical mode started when an enable or disable job ended; status waits for it once. */
  private pitrAfterSetup?: Promise<void>;
  problems: string[] = [];
  /** Slash requests received with a valid token; the command self-check watches it move. */
  private slashSeen = 0;
  private server?: FastifyInstance;
  private channelCache?: { key: string; id: string };
  /** The start-up lock check (repairs after a killed job); close() cancels it. */
  private startup?: Promise<void>;
  private readonly startupAbort = new AbortController();
  /** The last repair after a killed job, for GET /v1/status and the page. */
  lastRecovery?: Recovery & { at: string };
  /** Retries of a PostgreSQL a job left down, every 5 minutes while its marker is there. */
  readonly postgresWatch: PostgresDownWatch;
  /** The last such retry (any of the three places), for GET /v1/status. */
  private lastPostgresRetry?: RetryNote;
  /** The marker (its `since`) already said to be still down in the status channel. */
  private postedPostgresDown?: string;

  private constructor(
    private cfg: Config,
    private engine: EngineContext,
    private readonly history: JobHistory,
    readonly state: StateStore,
    readonly log: Logger,
    authFreshMs?: number,
    pitrPollMs?: number,
    postgresRetryMs?: number,
  ) {
    this.auth = new SessionAuth({ mattermostUrl: cfg.mattermost.url, freshMs: authFreshMs });
    this.jobs = new JobManager(() => this.engine, history);
    this.reporter = new ChannelReporter({
      client: () => this.bot(),
      channelId: () => this.statusChannelId(),
      successes: () => this.cfg.notify.successes,
      log: (level, msg) => this.log[level](msg),
    });
    this.scheduler = new Scheduler(this.jobs, {
      notice: (m) => this.reporter.notice(m),
      log: (l, m) => this.log[l](m),
      dailySummary: () => this.dailySummary(),
    });
    this.pitr = new PitrWatch(
      () => this.cfg,
      { notice: (m) => this.reporter.notice(m), log: (l, m) => this.log[l](m) },
      pitrPollMs,
    );
    this.jobs.onRecovery((r) => this.noteRecovery(r));
    this.jobs.onPostgres((r) => this.notePostgres(r));
    this.postgresWatch = new PostgresDownWatch(
      () => this.engine,
      {
        log: (l, m) => this.log[l](m),
        onRecovery: (r) => this.noteRecovery(r),
        onPostgres: (r) => this.notePostgres(r),
      },
      postgresRetryMs,
    );
    this.jobs.on((rec, e) => {
      this.reporter.onEvent(rec, e);
      if (e.type === 'job.finished') {
        this.log.info({ job: rec.id, kind: rec.kind, status: rec.status, error: rec.error?.message }, 'job finished');
        if (rec.kind === 'restore') void this.selfCheck();
        if (rec.kind === 'verify' && rec.status === 'failed') this.log.warn({ job: rec.id }, 'verification failed');
        if (rec.kind === 'backup' && rec.status === 'succeeded') void this.checkSpace();
        if (rec.kind === 'pitr-enable' || rec.kind === 'pitr-disable') {
          // The page reloads status as soon as it sees the job end: that answer waits for this reading.
          this.pitrAfterSetup = this.pitr.fresh().then(() => undefined);
        } else if (rec.kind === 'pitr-backup') void this.pitr.poll();
      }
    });
  }

  /** Loads the config and prepares everything; call listen() to serve. */
  /**
   * `pitrPollMs`: how often physical mode is read (default a minute); `postgresRetryMs`: how often
   * a PostgreSQL left down is retried (default 5 minutes). Tests make them short.
   */
  static async open(
    configFile: string,
    opts: { log?: Logger; authFreshMs?: number; pitrPollMs?: number; postgresRetryMs?: number } = {},
  ): Promise<Sidecar> {
    const cfg = await loadConfig(configFile);
    const log = opts.log ?? pino({ name: 'mm-backup', redact: ['token', 'password'] });
    const s = new Sidecar(
      cfg,
      await openContext(cfg, { notice: (text) => log.warn(text), warn: (text) => log.warn(text) }),
      await JobHistory.open(cfg.repository.path),
      await StateStore.open(cfg.repository.path),
      log,
      opts.authFreshMs,
      opts.pitrPollMs,
      opts.postgresRetryMs,
    );
    for (const n of cfg.notices) log.warn(`config: ${n}`);
    s.scheduler.apply(cfg);
    s.scheduler.detectMissed(cfg, await s.history.list());
    return s;
  }

  async listen(): Promise<string> {
    this.server = await buildServer(this);
    const url = await this.server.listen({ host: this.cfg.listen.host, port: this.cfg.listen.port });
    this.log.info({ url }, 'mm-backup sidecar listening');
    this.startup = checkLockAtStart({
      ec: this.engine,
      history: this.history,
      log: (l, m) => this.log[l](m),
      onRecovery: (r) => this.noteRecovery(r),
      onPostgres: (r) => this.notePostgres(r),
      notice: (m) => this.reporter.notice(m),
      signal: this.startupAbort.signal,
    });
    void this.selfCheck();
    this.pitr.start();
    this.postgresWatch.start();
    return url;
  }

  /** Waits for the start-up lock check (tests). */
  async started(): Promise<void> {
    await this.startup;
  }

  private noteRecovery(r: Recovery): void {
    this.lastRecovery = { ...r, at: new Date().toISOString() };
    this.log[r.level]({ job: r.jobId, action: r.action, safety_snapshot: r.safetySnapshotId }, r.message);
    this.reporter.notice(md(r.message));
  }

  /**
   * Said in the status channel, whose queue holds it until Mattermost answers again (it cannot
   * while its database is down): still down once per marker, and when PostgreSQL runs again.
   */
  private notePostgres(r: PostgresDownRetry): void {
    this.lastPostgresRetry = { at: new Date().toISOString(), outcome: r.outcome, message: r.message };
    const key = r.marker.since || r.marker.reason;
    if (r.outcome === 'down') {
      if (this.postedPostgresDown === key) return;
      this.postedPostgresDown = key;
    } else {
      this.postedPostgresDown = undefined;
      this.lastPostgresRetry = undefined; // the marker is gone: status has nothing left to show
    }
    this.reporter.notice(md(r.message));
  }

  async close(): Promise<void> {
    this.startupAbort.abort();
    await this.startup?.catch(() => undefined);
    await this.postgresWatch.stop();
    this.scheduler.stop();
    this.pitr.stop();
    this.reporter.stop();
    await this.server?.close();
  }

  config(): Config {
    return this.cfg;
  }
  ec(): EngineContext {
    return this.engine;
  }

  bot(): MattermostClient | undefined {
    const token = this.cfg.mattermost.botToken ?? this.state.get().bot_token;
    return token ? new MattermostClient(this.cfg.mattermost.url, { token }) : undefined;
  }

  private async statusChannelId(): Promise<string | undefined> {
    const name = this.cfg.mattermost.statusChannel;
    const bot = this.bot();
    if (!name || !bot) return undefined;
    if (this.channelCache?.key === name) return this.channelCache.id;
    const [team = '', channel = ''] = name.split('/');
    const ch = await bot.getChannelByNameAndTeamName(team, channel);
    this.channelCache = { key: name, id: ch.id };
    return ch.id;
  }

  /** Checks that the bot token and status channel work; says clearly what does not. */
  async selfCheck(): Promise<string[]> {
    const problems: string[] = [];
    const bot = this.bot();
    // Whether the bot can still post: the channel hears about a broken setup only then.
    let canPost = !!bot;
    if (bot) {
      try {
        await bot.getMe();
        if (this.cfg.mattermost.statusChannel) {
          this.channelCache = undefined;
          await this.statusChannelId().catch((err: unknown) =>
            problems.push(
              `the bot cannot see the status channel ${md(this.cfg.mattermost.statusChannel ?? '')}: ${md(asBridgeError(err).message)}`,
            ),
          );
        }
      } catch (err) {
        canPost = false;
        // Decided on the answer's status (data), never on the message's wording.
        if (isOutage(err)) problems.push(`Mattermost is not reachable: ${md(asBridgeError(err).message)}`);
        else {
          problems.push(
            'the bot token no longer works (a restore of an older database brings back old tokens): run `mm-backup connect` again',
          );
        }
      }
    } else {
      problems.push('not connected: run `mm-backup connect` (or POST /v1/connect) to set up the bot and /backup');
    }
    if (Object.keys(this.state.get().commands).length === 0) {
      problems.push('/backup is not registered in any team: run `mm-backup connect` with an admin token');
    } else if (bot && problems.length === 0) {
      const broken = await this.checkCommand(bot);
      if (broken) problems.push(broken);
    }
    const changed = problems.join('\n') !== this.problems.join('\n');
    this.problems = problems;
    for (const p of problems) this.log.warn(p);
    // Tell the channel when the setup breaks (if the bot still can post); not on every check.
    if (changed && problems.length && canPost) {
      this.reporter.notice(`⚠️ Backup setup problem:\n${problems.map((p) => `- ${p}`).join('\n')}`);
    }
    return problems;
  }

  /**
   * Runs `/backup help` as the bot through Mattermost: it reaches this sidecar only if the
   * command still exists with the token we hold (a restore of an older database can remove it)
   * and Mattermost may call the sidecar's URL.
   */
  private async checkCommand(bot: MattermostClient): Promise<string | undefined> {
    let channelId: string | undefined;
    try {
      channelId = await this.statusChannelId();
    } catch {
      return undefined; // reported by the channel check
    }
    if (!channelId) return undefined;
    const before = this.slashSeen;
    try {
      await bot.executeCommand('/backup help', { channel_id: channelId });
    } catch (err) {
      return `/backup does not work in the status channel's team: ${md((err as Error).message)}. Run \`mm-backup connect\` again`;
    }
    return this.slashSeen > before
      ? undefined
      : '/backup answered, but not through this sidecar: run `mm-backup connect` again';
  }

  /** Posts the last 24 hours of successful jobs (notify.successes "daily"). */
  async dailySummary(): Promise<void> {
    const since = Date.now() - 86_400_000;
    const jobs = (await this.jobs.list(200)).filter((j) => Date.parse(j.created_at) > since);
    const ok = jobs.filter((j) => j.status === 'succeeded');
    const failed = jobs.filter((j) => j.status === 'failed').length;
    const lastBackup = ok.find((j) => j.kind === 'backup');
    const count = (k: string) => ok.filter((j) => j.kind === k).length;
    this.reporter.notice(
      [
        `**Daily backup summary:** ${plural(count('backup'), 'backup')}, ${plural(count('verify'), 'verification')}, ${plural(count('prune'), 'prune')} succeeded in the last 24 h${failed ? `; ${failed} failed (posted when they happened)` : ''}.`,
        lastBackup
          ? `Latest snapshot \`${String(lastBackup.result?.snapshot_id)}\`: ${size(lastBackup.result?.bytes)} (${size(lastBackup.result?.new_bytes)} new), downtime ${secs(lastBackup.result?.downtime_ms)}.`
          : '⚠️ No successful backup in the last 24 h.',
      ].join('\n'),
    );
  }

  private async checkSpace(): Promise<void> {
    const space = await this.engine.repo.space();
    if (!space) return;
    // What backups may still use: free space minus the configured reserve.
    const usable = space.free - this.cfg.repository.reserveBytes;
    if (usable < Math.max(2 * 1024 ** 3, space.total * 0.1)) {
      this.reporter.notice(
        `⚠️ The backup repository is running out of space: ${size(Math.max(0, usable))} usable (${size(space.free)} free of ${size(space.total)}, ${size(this.cfg.repository.reserveBytes)} reserved). Run \`/backup prune\` or free space.`,
      );
    }
  }

  async status(): Promise<Status> {
    // Taken before anything is awaited: a repair records the killed job in the history before it
    // is noted here, so a recovery read first is always among the interrupted jobs read after it
    // (read last, a repair finishing during the awaits below showed without its record).
    const recovered = this.lastRecovery;
    const mm = await ping(this.cfg.mattermost.url);
    const { manifests } = await this.engine.repo.listSnapshotSummaries();
    const last = [...manifests].reverse().find((m) => m.trigger !== 'safety');
    const v = await readVerifications(this.engine.storage, this.engine.trust);
    const space = await this.engine.repo.space();
    const d = await discover(this.cfg).catch(() => undefined);
    const schema = d
      ? await this.engine
          .engineFor(d.database)
          .schemaVersion()
          .catch(() => undefined)
      : undefined;
    const lastJob = (await this.jobs.list(20)).find(
      (j) => j.kind === 'backup' && j.status !== 'running' && j.status !== 'queued',
    );
    return {
      api_version: API_VERSION,
      mattermost: {
        url: this.cfg.mattermost.url,
        reachable: mm.state === 'ok',
        state: mm.state,
        detail: mm.detail,
        version: await serverVersion(this.cfg.mattermost.url),
        schema_version: schema,
      },
      sidecar: {
        version: this.version,
        connected: !!this.bot(),
        problems: this.problems,
        config_notices: this.cfg.notices,
      },
      repository: {
        path: this.cfg.repository.path,
        location: this.engine.storage.describe().location,
        snapshots: manifests.length,
        bytes: manifests.reduce((n, m) => n + m.stats.newBytes, 0),
        free_bytes: space?.free ?? null,
        total_bytes: space?.total ?? null,
      },
      last_backup: last
        ? {
            snapshot_id: last.id,
            finished_at: last.finishedAt,
            mode: last.mode,
            trigger: last.trigger,
            bytes: last.stats.bytes,
            new_bytes: last.stats.newBytes,
            duration_ms: last.stats.durationMs,
            downtime_ms: last.stats.downtimeMs,
            verification: v.get(last.id)?.ok === undefined ? 'not_verified' : v.get(last.id)?.ok ? 'ok' : 'failed',
          }
        : null,
      last_backup_job: lastJob
        ? { id: lastJob.id, status: lastJob.status, finished_at: lastJob.finished_at, error: lastJob.error }
        : null,
      next_backup: this.scheduler.nextBackup()?.toISOString() ?? null,
      running_job: this.jobs.current ?? null,
      lock: await lockView(this.engine.lockDir),
      interrupted_jobs: await recentInterruptions(this.cfg.repository.path, this.history),
      recovery: recovered
        ? {
            at: recovered.at,
            job_id: recovered.jobId,
            kind: recovered.holder.kind,
            action: recovered.action,
            safety_snapshot_id: recovered.safetySnapshotId ?? null,
            mattermost_running: recovered.mattermostRunning,
            message: recovered.message,
            error: recovered.error ?? null,
          }
        : null,
      postgres_down: (await postgresDownView(this.engine, this.lastPostgresRetry)) ?? null,
      ...(await this.pitrAfterSetupRead()),
    };
  }

  private async pitrAfterSetupRead(): Promise<{ pitr?: NonNullable<Status['pitr']> }> {
    const after = this.pitrAfterSetup;
    if (after) {
      await after; // poll() never rejects: a failed reading is logged and leaves the last one
      if (this.pitrAfterSetup === after) this.pitrAfterSetup = undefined;
    }
    const current = this.pitr.current;
    return current ? { pitr: current } : {};
  }

  async metrics(): Promise<string> {
    const { manifests } = await this.engine.repo.listSnapshotSummaries();
    return renderMetrics(
      await this.history.list(),
      manifests.length,
      manifests.reduce((n, m) => n + m.stats.newBytes, 0),
      !!this.jobs.current,
      this.pitr.current,
      !!(await readPostgresDownMarker(this.engine.trust.keyFile).catch(() => undefined)),
    );
  }

  async describeRestore(
    snapshotId: string,
    include?: string[],
  ): Promise<{ snapshotId: string; overwrites: string[]; versionCheck: string }> {
    const m = await this.engine.repo.loadSnapshot(snapshotId);
    const records = selectRecords(m, include);
    const d = await discover(this.cfg).catch(() => undefined);
    const current = d
      ? await this.engine
          .engineFor(d.database)
          .schemaVersion()
          .catch(() => undefined)
      : undefined;
    const snap = m.mattermost.schemaVersion;
    const versionCheck =
      snap === undefined || current === undefined
        ? 'schema versions unknown'
        : snap > current
          ? `the snapshot's schema (${snap}) is NEWER than the server's (${current}): the restore will be refused unless the application is restored too`
          : `ok: snapshot schema ${snap}, server schema ${current}${snap < current ? ' (Mattermost migrates forward on start)' : ''}`;
    return {
      snapshotId: m.id,
      overwrites: await describeRestore(records, { safetySnapshot: true, force: false }, d),
      versionCheck,
    };
  }

  describeRestoreAt(at: string, trigger: 'console' | 'slash' = 'console'): Promise<RestoreAtDescription> {
    return describeRestoreAt(this.engine, at, trigger, (text) => this.log.info(text));
  }

  planPitr(): Promise<PitrEnablePlan> {
    // The plan as the console's enable would run it: no restart consent, no --force.
    return planPitrEnable(this.cfg, { restartPostgres: false, force: false });
  }

  readSettings(): Settings {
    return readSettings(this.cfg);
  }

  /**
   * Validate, open, write, apply: the new config's engine context is opened BEFORE the file is
   * written, so a change whose storage cannot be opened (or a file that cannot be written)
   * leaves the file and the running sidecar as they were; only then are both switched.
   */
  async writeSettings(patch: SettingsPatch): Promise<Settings> {
    const change = await prepareSettings(this.cfg, patch);
    const engine = await openContext(change.next, {
      notice: (text) => this.log.warn(text),
      warn: (text) => this.log.warn(text),
    });
    await commitSettings(change);
    this.cfg = change.next;
    this.engine = engine;
    for (const n of this.cfg.notices) this.log.warn(`config: ${n}`);
    this.scheduler.apply(this.cfg);
    this.channelCache = undefined;
    return readSettings(this.cfg);
  }

  async connect(body: ConnectRequest, session: Parameters<SidecarApi['connect']>[1]): Promise<ConnectReport> {
    const verifier = new MattermostClient(this.cfg.mattermost.url, session);
    const report = await connect(this.cfg, this.state, {
      adminToken: body.admin_token,
      botToken: body.bot_token,
      teams: body.teams,
      commandTokens: body.command_tokens,
      verifier,
    });
    this.channelCache = undefined;
    await this.selfCheck();
    return { ...report, problems: [...report.problems, ...this.problems.filter((p) => !report.problems.includes(p))] };
  }

  async connectState(): Promise<ConnectState> {
    const st = this.state.get();
    return {
      connected: !!this.bot(),
      bot_user_id: st.bot_user_id ?? null,
      connected_at: st.connected_at ?? null,
      status_channel: this.cfg.mattermost.statusChannel ?? null,
      slash_url: slashUrl(this.cfg),
      teams: Object.values(st.commands).map((c) => c.team_name),
      problems: await this.selfCheck(),
    };
  }

  async slash(req: SlashRequest): Promise<{ response_type: 'ephemeral' | 'in_channel'; text: string }> {
    return handleSlash(req, {
      commandTokens: () =>
        Object.fromEntries(Object.entries(this.state.get().commands).map(([team, c]) => [team, c.token])),
      onAuthenticated: () => {
        this.slashSeen++;
      },
      bot: () => this.bot(),
      jobs: this.jobs,
      restores: this.restores,
      describeRestore: (id) => this.describeRestore(id),
      describeRestoreAt: (at) => this.describeRestoreAt(at, 'slash'),
      statusText: async () => {
        const s = await this.status();
        const last = s.last_backup;
        const running = s.running_job;
        const repo = s.repository;
        return [
          last
            ? `Last backup: \`${last.snapshot_id}\` at ${last.finished_at} (${last.mode}, ${size(last.bytes)}, downtime ${secs(last.downtime_ms)}, ${last.verification})`
            : 'No backup yet.',
          `Next backup: ${s.next_backup ?? 'not scheduled'}`,
          running ? `Running: ${running.kind} (${md(running.current_step ?? 'starting')})` : 'No job running.',
          `Repository: ${plural(repo.snapshots, 'snapshot')}${repo.free_bytes === null ? '' : `, ${size(repo.free_bytes)} free`}`,
          // Plain texts that quote paths and names (the repository, pgBackRest's): shown as written.
          ...(s.pitr ? pitrLines(s.pitr).map(md) : []),
          ...(s.postgres_down ? postgresDownLines(s.postgres_down).map(md) : []),
          ...(s.lock?.state === 'stale' ? [`⚠️ ${md(s.lock.message)}`] : []),
          ...(s.interrupted_jobs ?? []).slice(0, 3).map((j) => md(j.message)),
        ].join('\n');
      },
      listText: async () => {
        const { manifests } = await this.engine.repo.listSnapshotSummaries();
        const v = await readVerifications(this.engine.storage, this.engine.trust);
        const rows = [...manifests]
          .reverse()
          .slice(0, 10)
          .map(
            (m) =>
              `| \`${m.id}\` | ${m.mode} | ${m.trigger} | ${size(m.stats.bytes)} | ${v.get(m.id)?.ok === undefined ? '–' : v.get(m.id)?.ok ? '✅' : '❌'} |`,
          );
        const pitr = this.pitr.current;
        return [
          ...(pitr ? [...pitrLines(pitr).map(md), ''] : []),
          rows.length
            ? ['| snapshot | mode | trigger | size | verified |', '|---|---|---|---|---|', ...rows].join('\n')
            : 'No snapshots yet. `/backup now` takes one.',
        ].join('\n');
      },
    }).catch((err: unknown) => ({
      response_type: 'ephemeral' as const,
      text: `Something went wrong: ${md(redact((err as Error).message))}`,
    }));
  }
}
