/**
 * The steps of a point-in-time restore onto a new host (restore --at T --pg-data-dir DIR): no live
 * cluster, so no WAL switch and no move-aside. Mattermost stopped and the files' safety snapshot
 * taken; the empty target made postgres's; pgBackRest's restore to T into it, with archive_mode
 * off (the restored cluster must not archive into the old host's repository) and the port of
 * Mattermost's DSN; PostgreSQL started with its service commands and promoted; then the same
 * schema check, file restore, attachment merge and check, and Mattermost start as the in-place
 * restore (taken from restore_at_plan.ts by step id). A failure stops the restored cluster and
 * empties the target (as postgres); the files are put back from the safety snapshot as usual.
 */
import path from 'node:path';
import { BridgeError, ProcessError } from '../core/errors';
import { newJobId } from '../core/ids';
import { buildRestoreCommand } from '../database/pgbackrest/archive_command';
import { readPostmasterPid } from '../database/pgbackrest/local_cluster';
import { LocalSuperuser } from '../database/pgbackrest/local_superuser';
import { cleanNewHostTarget, prepareNewHostTarget, type NewHostTarget } from '../database/pgbackrest/new_host_target';
import type { OsAccount } from '../database/pgbackrest/postgres_account';
import {
  describeCommand,
  runServiceCommand,
  type PostgresService,
  type ServiceCommand,
} from '../database/pgbackrest/postgres_service';
import { setRestoreCommand } from '../database/pgbackrest/recovery_conf';
import { readRegularFile } from '../database/pgbackrest/safe_fs';
import { inRecovery } from '../database/pgbackrest/restore_queries';
import { setAutoConf } from '../database/pgbackrest/restored_settings';
import type { EngineContext } from '../jobs/context';
import type { JobLock } from '../jobs/lock';
import type { Job, Step, StepContext } from '../jobs/runner';
import { makeSpoolDir } from './pitr_repo';
import type { PitrSite } from './pitr_site';
import { planRestoreAt, type RestoreAtInputs, type RestoreAtOutcome } from './restore_at_plan';
import { describeRollback } from './restore_plan';

/** What prepare found and checked for the new host; the plan changes nothing before its `stop` step. */
export interface NewHostInputs extends Omit<RestoreAtInputs, 'site' | 'aside' | 'archiveTimeoutSeconds'> {
  account: OsAccount;
  target: NewHostTarget;
  service: PostgresService;
  /** The port of Mattermost's DSN: the restored cluster listens there. */
  port: number;
  /** The history to follow: the timeline the old host archived last. */
  timeline: number;
  /** psql, to ask the restored server whether recovery has finished. */
  psql: string;
  /** A bucket's repository: pgBackRest's spool directory, where archive-get fetches WAL ahead during recovery. */
  spoolPath?: string;
}

export interface NewHostOutcome extends RestoreAtOutcome {
  /** The target holds a restored cluster (it is emptied again after a failure). */
  written: boolean;
  /** Emptied (or removed) after a failure. */
  cleaned: boolean;
  /** What could not be deleted after a failure, to do by hand. */
  left?: string;
  /** A restored server still runs after a failure (its stop failed): said first. */
  stillRunning?: string;
  /** postgres-start failed: the server's log is worth reading before the target goes. */
  startFailed?: boolean;
}

const POLL_MS = 500;
/** How long a started service may run without a server in the target: its data directory is another. */
const PID_WAIT_MS = 120_000;

/** The in-place plan's steps this plan takes as they are (they read the discovery and files, never the live cluster). */
const SHARED = ['preflight', 'at-preflight', 'stop', 'schema-check', 'merge-attachments', 'attachment-check', 'start'];

export function planRestoreAtNewHost(
  ec: EngineContext,
  lock: JobLock,
  x: NewHostInputs,
): { job: Job; outcome: NewHostOutcome } {
  const inPlace = planRestoreAt(ec, lock, {
    ...x,
    // Read only by the steps that act on the live cluster, none of which is taken here.
    site: noLiveCluster(),
    aside: '',
    archiveTimeoutSeconds: 0,
  });
  const o = inPlace.outcome as NewHostOutcome;
  o.written = false;
  o.cleaned = false;
  const steps = inPlace.job.steps;
  const take = (id: string): Step => {
    const s = steps.find((st) => st.id === id);
    if (!s) throw new BridgeError('INTERNAL', `the point-in-time restore has no ${id} step`);
    return s;
  };
  for (const id of SHARED) take(id);
  const prefixed = (p: string) => steps.filter((s) => s.id.startsWith(p));
  const dir = x.target.dir;
  const pg = (c: ServiceCommand, ctx: StepContext) => runServiceCommand(c, x.account, ctx.signal);
  const running = (ctx: StepContext) =>
    pg(x.service.status, ctx).then(
      () => true,
      () => false,
    );

  /** Stops a restored server this job started and empties the target: nothing half-restored is left. */
  const tearDown = async (ctx: StepContext): Promise<void> => {
    if (await running(ctx)) {
      try {
        await pg(x.service.stop, ctx);
      } catch (err) {
        o.stillRunning = `a half-restored PostgreSQL may still run on ${dir}: stop it (${describeCommand(x.service.stop.argv)}) and empty ${dir}`;
        throw new BridgeError('PROCESS_FAILED', o.stillRunning, { cause: err });
      }
    }
    // The server's own log may be inside the target: what it said goes into the job's warnings first.
    if (o.startFailed) {
      const said = await serverLogTail(x.service, dir);
      if (said) {
        o.warnings.push(`the restored server's log (${said.file}, deleted with ${dir}) ended with:\n${said.tail}`);
      }
    }
    o.left = await cleanNewHostTarget(x.target, x.account, ctx.signal);
    if (o.left) throw new BridgeError('PROCESS_FAILED', o.left);
    o.cleaned = true;
    o.written = false;
    ctx.log('warn', `${dir} was ${x.target.existed ? 'emptied' : 'removed'}: no half-restored cluster is left`);
  };

  const pgTarget: Step = {
    id: 'postgres-target',
    title: 'Prepare the new data directory',
    run: async () => {
      await prepareNewHostTarget(x.target, x.account);
      o.written = true;
      // The restored cluster's restore_command fetches from the bucket ahead of recovery (archive-async).
      if (x.spoolPath) await makeSpoolDir(x.spoolPath, x.account);
      return `${dir}: ${x.target.existed ? 'empty' : 'created'}, owned by ${x.account.name}, 0700${x.spoolPath ? `; spool ${x.spoolPath}` : ''}`;
    },
    // Runs last of the database undos: the server is stopped by then (postgres-start's undo).
    undo: async (ctx) => {
      if (o.written) await tearDown(ctx);
    },
  };

  const pgRestore: Step = {
    id: 'postgres-restore',
    title: 'Restore the database with pgBackRest',
    run: async (ctx) => {
      await x.cli.restore({ set: x.set.label, at: x.at, timeline: x.timeline }, ctx.signal);
      const restoreCommand = buildRestoreCommand({
        pgbackrest: x.cli.bin,
        configPath: x.cli.configPath,
        stanza: x.cli.stanza,
      });
      await setRestoreCommand(dir, restoreCommand);
      // Off until `pitr enable` on this host: the restored settings name the old host's archive
      // (this very repository and stanza), which a second history must not be pushed into.
      await setAutoConf(dir, { archive_mode: 'off', port: String(x.port) });
      return `backup ${x.set.label}, ${x.at ? `to ${x.at.toISOString()}` : 'to the end of the archived WAL'} on timeline ${x.timeline}; archive_mode off, port ${x.port}`;
    },
  };

  const pgStart: Step = {
    id: 'postgres-start',
    title: 'Start PostgreSQL and wait until recovery has finished',
    run: async (ctx) => {
      o.startFailed = true; // until it returns
      try {
        await pg(x.service.start, ctx);
      } catch (err) {
        // pg_ctl -w gives up after its timeout while a long recovery goes on: only a stopped server is a failure.
        if (!(await running(ctx))) throw err;
      }
      const pidDeadline = Date.now() + PID_WAIT_MS;
      for (;;) {
        const pm = readPostmasterPid(dir);
        if (!pm && Date.now() > pidDeadline) {
          throw new ProcessError(
            `the PostgreSQL service started, but no server runs on ${dir} after ${PID_WAIT_MS / 1000} s: the service's data directory must be ${dir} (pitr.postgresService; on Debian, data_directory in /etc/postgresql/<major>/<cluster>/postgresql.conf)`,
          );
        }
        if (pm?.socketDir) {
          const su = new LocalSuperuser(x.psql, pm.socketDir, pm.port, x.account);
          let recovering: boolean | undefined;
          try {
            recovering = await inRecovery(su, ctx.signal);
          } catch (err) {
            if (ctx.signal.aborted) throw err; // else not accepting connections yet
          }
          if (recovering === false) {
            const mode = (await su.run(['SHOW archive_mode'], ctx.signal)).trim();
            if (mode !== 'off') {
              throw new ProcessError(
                `the restored cluster runs with archive_mode ${mode}, not off: it could archive into the old host's repository`,
              );
            }
            o.startFailed = false;
            return `recovered, promoted and accepting connections on port ${pm.port}; archive_mode off`;
          }
        }
        if (!(await running(ctx))) {
          throw new ProcessError(`PostgreSQL stopped while starting on ${dir} (read its log for why)`);
        }
        await sleep(POLL_MS, ctx.signal);
      }
    },
    undo: async (ctx) => {
      if (await running(ctx)) await pg(x.service.stop, ctx);
    },
  };

  return {
    job: {
      id: newJobId(),
      kind: 'restore',
      steps: [
        take('preflight'),
        take('at-preflight'),
        take('stop'),
        ...prefixed('safety-'),
        pgTarget,
        pgRestore,
        pgStart,
        take('schema-check'),
        ...prefixed('restore-'),
        take('merge-attachments'),
        take('attachment-check'),
        take('start'),
      ],
      // Not the in-place ensure-postgres: after a failure nothing of the restore may run.
      finally: inPlace.job.finally.filter((s) => s.id !== 'ensure-postgres'),
    },
    outcome: o,
  };
}

/** What a failed restore onto a new host left behind, after its error. */
export function describeNewHostFailure(o: NewHostOutcome, dir: string): string | undefined {
  const parts: string[] = [];
  if (o.stillRunning) parts.push(`${o.stillRunning}.`);
  else if (o.left) parts.push(`${o.left}.`);
  else if (o.cleaned) parts.push(`${dir} was emptied again: no restored cluster is left.`);
  else if (!o.written) parts.push(`Nothing was written to ${dir}.`);
  const files = describeRollback(o.files)?.replace(/^\.\s*/, '');
  // Another sentence may follow: the retry hint (a command) ends without a full stop.
  if (files) parts.push(/[.!?]$/.test(files) ? files : `${files}.`);
  if (o.written || o.cleaned) {
    parts.push(
      'Mattermost has no database on this host until a restore succeeds (it was started again, and cannot be healthy): fix the cause and run the restore again.',
    );
  }
  return parts.length ? `. ${parts.join(' ')}` : undefined;
}

/**
 * The last lines of the pg_ctl preset's log (`-l`) when it lies inside the target, read without
 * following a link; undefined for other presets or when there is nothing to read.
 */
async function serverLogTail(
  service: PostgresService,
  dir: string,
): Promise<{ file: string; tail: string } | undefined> {
  const argv = service.start.argv;
  const i = argv.indexOf('-l');
  const file = i >= 0 ? argv[i + 1] : undefined;
  if (!file || path.dirname(path.resolve(file)) !== dir) return undefined;
  const text = await readRegularFile(file).then(
    (f) => f.data.subarray(-4096).toString('utf8'),
    () => '',
  );
  const tail = text.trimEnd().split('\n').slice(-10).join('\n');
  return tail ? { file, tail } : undefined;
}

/** Stands for the live cluster the in-place plan's dropped steps act on: any use is a bug, said as one. */
function noLiveCluster(): PitrSite {
  return new Proxy({} as PitrSite, {
    get: (_t, key) => {
      throw new BridgeError('INTERNAL', `a restore onto a new host has no live cluster (${String(key)} was read)`);
    },
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const t = setTimeout(resolve, ms);
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
