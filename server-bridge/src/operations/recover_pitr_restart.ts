/**
 * The PostgreSQL half of repairing a pitr enable/disable killed during its restart of PostgreSQL
 * (recover_stale_lock.ts runs it when the lock says `postgresStopped`): the cluster that physical
 * mode's state names is started if it is not running. The lock only says that it may be down; which
 * cluster comes from the state beside the signing key, never from the lock in the repository.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PreconditionError } from '../core/errors';
import { postgresAccount } from '../database/pgbackrest/postgres_account';
import { describeCommand, postgresService, runServiceCommand } from '../database/pgbackrest/postgres_service';
import type { EngineContext } from '../jobs/context';
import { loadPitrState } from './pitr_state';

/** How long the start command may take (pg_ctl waits for the server to accept connections). */
const START_MS = 180_000;

/** One sentence of what was done; throws when PostgreSQL could not be started. */
export async function recoverPitrRestart(
  ec: EngineContext,
  log: (level: 'warn', message: string) => void,
): Promise<string> {
  const state = await loadPitrState(ec.cfg);
  if (!state) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      "the interrupted job was restarting PostgreSQL, but physical mode's state is gone: which cluster to start is unknown",
    );
  }
  const version = await readFile(path.join(state.dataDir, 'PG_VERSION'), 'utf8');
  const service = postgresService(ec.cfg.pitr.postgresService, {
    major: Number(version.trim()),
    dataDir: state.dataDir,
  });
  const account = postgresAccount();
  // Never cancelled, only bounded: this start is what keeps Mattermost's database from staying down.
  const run = (c: typeof service.start) => runServiceCommand(c, account, AbortSignal.timeout(START_MS));
  const running = await run(service.status).then(
    () => true,
    () => false,
  );
  if (running) return 'PostgreSQL was running: the interrupted restart had brought it back.';
  log('warn', `the interrupted job had stopped PostgreSQL: starting it (${describeCommand(service.start.argv)})`);
  await run(service.start);
  return `PostgreSQL (${state.dataDir}) was down after the interrupted restart and was started again.`;
}
