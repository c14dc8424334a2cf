/**
 * Starting physical mode's cluster again when it was left down, the one implementation for every
 * repair: a pitr enable/disable killed during its restart of PostgreSQL (recover_stale_lock.ts runs
 * it when the lock says `postgresStopped`) and the retries of a "PostgreSQL left down" marker
 * (postgres_down.ts). The cluster is the one physical mode's state names (beside the signing key),
 * never one named by the lock in the repository or by the marker.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PreconditionError, ProcessError } from '../core/errors';
import type { Config } from '../config/schema';
import { postgresAccount } from '../database/pgbackrest/postgres_account';
import { describeCommand, postgresService, runServiceCommand } from '../database/pgbackrest/postgres_service';
import type { EngineContext } from '../jobs/context';
import { loadPitrState } from './pitr_state';

/** How long the start command may take (pg_ctl waits for the server to accept connections). */
const START_MS = 180_000;

/** The cluster of physical mode's state and its service commands; throws when the state is gone. */
async function stateCluster(cfg: Config) {
  const state = await loadPitrState(cfg);
  if (!state) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      "physical mode's state is gone: which PostgreSQL cluster to start is unknown",
      { hint: 'start PostgreSQL yourself (docs/pitr.md, "PostgreSQL left down")' },
    );
  }
  const version = await readFile(path.join(state.dataDir, 'PG_VERSION'), 'utf8');
  const service = postgresService(cfg.pitr.postgresService, { major: Number(version.trim()), dataDir: state.dataDir });
  return { dataDir: state.dataDir, service };
}

/** The start command of physical mode's cluster as a person would type it, or undefined when it cannot be told. */
export async function pitrStartCommand(cfg: Config): Promise<string | undefined> {
  return stateCluster(cfg).then(
    (c) => describeCommand(c.service.start.argv),
    () => undefined,
  );
}

/**
 * Looks whether physical mode's cluster runs (its status command) and, when it does not and
 * `start` is true, starts it and looks again: 'started' only once the status command says it
 * runs. Never cancelled, only bounded: this start is what keeps Mattermost's database from
 * staying down. 'down' when `start` is false and it does not run; throws when a start failed.
 */
export async function ensurePitrCluster(
  cfg: Config,
  log: (level: 'warn', message: string) => void,
  /** `why`: the log line's opening, before ": starting it (<command>)". */
  o: { start: boolean; why?: string },
): Promise<{ state: 'running' | 'started' | 'down'; dataDir: string; startCommand: string }> {
  const { dataDir, service } = await stateCluster(cfg);
  const startCommand = describeCommand(service.start.argv);
  const account = postgresAccount();
  const run = (c: typeof service.start) => runServiceCommand(c, account, AbortSignal.timeout(START_MS));
  const running = () =>
    run(service.status).then(
      () => true,
      () => false,
    );
  if (await running()) return { state: 'running', dataDir, startCommand };
  if (!o.start) return { state: 'down', dataDir, startCommand };
  log('warn', `${o.why ?? `PostgreSQL (${dataDir}) is down`}: starting it (${startCommand})`);
  await run(service.start);
  if (!(await running())) {
    throw new ProcessError(`the start command ended, but PostgreSQL (${dataDir}) does not run`, {
      hint: `read PostgreSQL's log, then start it: ${startCommand}`,
    });
  }
  return { state: 'started', dataDir, startCommand };
}

/** One sentence of what was done; throws when PostgreSQL could not be started. */
export async function recoverPitrRestart(
  ec: EngineContext,
  log: (level: 'warn', message: string) => void,
): Promise<string> {
  const r = await ensurePitrCluster(ec.cfg, log, { start: true, why: 'the interrupted job had stopped PostgreSQL' });
  if (r.state === 'running') return 'PostgreSQL was running: the interrupted restart had brought it back.';
  return `PostgreSQL (${r.dataDir}) was down after the interrupted restart and was started again.`;
}
