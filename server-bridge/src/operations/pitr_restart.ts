/**
 * The one PostgreSQL restart physical mode makes, never leaving PostgreSQL down: when it does not
 * come back with the new settings, postgresql.auto.conf is put back exactly as it was before (the
 * server is down, so ALTER SYSTEM cannot) and PostgreSQL is started again.
 */
import path from 'node:path';
import { BridgeError, ProcessError } from '../core/errors';
import { describeCommand, runServiceCommand } from '../database/pgbackrest/postgres_service';
import { readRegularFile, replaceFile } from '../database/pgbackrest/safe_fs';
import type { PitrSite } from './pitr_site';

/** How long a started PostgreSQL may take to accept queries (crash recovery may replay WAL). */
const READY_MS = 120_000;

/** The bytes of postgresql.auto.conf now, to put back if the restart fails (a link there is refused, not read). */
export async function saveAutoConf(site: PitrSite): Promise<Buffer> {
  return (await readRegularFile(path.join(site.cluster.dataDir, 'postgresql.auto.conf'))).data;
}

/** Puts `saved` back as postgresql.auto.conf, owned by postgres, 0600 (what ALTER SYSTEM writes); never through a link. */
export async function restoreAutoConf(site: PitrSite, saved: Buffer): Promise<void> {
  const file = path.join(site.cluster.dataDir, 'postgresql.auto.conf');
  await replaceFile(file, saved, { owner: { uid: site.account.uid, gid: site.account.gid }, mode: 0o600 });
}

/**
 * Stops and starts PostgreSQL with the service commands. On failure after the stop, restores
 * `saved`, starts again and throws saying PostgreSQL runs with its old settings (or, when even
 * that fails, that it is down and how to start it).
 */
export async function restartPostgres(
  site: PitrSite,
  saved: Buffer,
  log: (m: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  const run = (c: typeof site.service.start) => runServiceCommand(c, site.account, signal);
  log(`stopping PostgreSQL: ${describeCommand(site.service.stop.argv)}`);
  try {
    await run(site.service.stop);
  } catch (err) {
    // Still running (a failed stop leaves it up): the new settings must not wait for a later restart.
    await restoreAutoConf(site, saved);
    await site.su.run(['SELECT pg_reload_conf()'], signal).catch(() => undefined);
    throw new BridgeError('PROCESS_FAILED', 'PostgreSQL did not stop; its settings were put back as they were', {
      cause: err,
      hint: `check the stop command (${describeCommand(site.service.stop.argv)}, pitr.postgresService) and run pitr enable --restart-postgres again`,
    });
  }
  log(`starting PostgreSQL: ${describeCommand(site.service.start.argv)}`);
  const firstError = await startAndWait(site, run, signal);
  if (!firstError) return;
  log('PostgreSQL did not come back with the new settings: putting postgresql.auto.conf back and starting it again');
  await restoreAutoConf(site, saved);
  await run(site.service.stop).catch(() => undefined); // a half-started server must go before the next start
  const secondError = await startAndWait(site, run, signal);
  if (!secondError) {
    throw new BridgeError(
      'PROCESS_FAILED',
      `PostgreSQL did not start with the new settings (${firstError.message}); they were reverted and PostgreSQL runs again as before`,
      {
        cause: firstError,
        hint: "read PostgreSQL's log for why it did not start, fix that, then run pitr enable --restart-postgres again",
      },
    );
  }
  throw new BridgeError(
    'PROCESS_FAILED',
    `PostgreSQL IS DOWN: it did not start with the new settings (${firstError.message}), nor after they were reverted (${secondError.message})`,
    { cause: secondError, hint: `read PostgreSQL's log, then start it: ${describeCommand(site.service.start.argv)}` },
  );
}

async function startAndWait(
  site: PitrSite,
  run: (c: typeof site.service.start) => Promise<void>,
  signal?: AbortSignal,
): Promise<Error | undefined> {
  try {
    await run(site.service.start);
  } catch (err) {
    return err as Error;
  }
  if (await site.su.waitReady(READY_MS, signal)) return undefined;
  return new ProcessError(`it did not accept connections within ${READY_MS / 1000} s`);
}
