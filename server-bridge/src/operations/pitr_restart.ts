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
import { POSTGRES_DOWN_DOCS, POSTGRES_RETRY_MINUTES } from './postgres_down';

/** How long a started PostgreSQL may take to accept queries (crash recovery may replay WAL). */
const READY_MS = 120_000;
/** Beyond READY_MS, what a start command itself may take (systemd's own start timeout is 90 s). */
const START_SLACK_MS = 60_000;

/** The bytes of postgresql.auto.conf now, to put back if the restart fails (a link there is refused, not read). */
export async function saveAutoConf(site: PitrSite): Promise<Buffer> {
  return (await readRegularFile(path.join(site.cluster.dataDir, 'postgresql.auto.conf'))).data;
}

/** Puts `saved` back as postgresql.auto.conf, owned by postgres, 0600 (what ALTER SYSTEM writes); never through a link. */
export async function restoreAutoConf(site: PitrSite, saved: Buffer): Promise<void> {
  const file = path.join(site.cluster.dataDir, 'postgresql.auto.conf');
  await replaceFile(file, saved, { owner: { uid: site.account.uid, gid: site.account.gid }, mode: 0o600 });
}

/** What a restart records as it goes, so that nothing is lost if it is killed or leaves PostgreSQL down. */
export interface RestartMarks {
  /** Records (true) and clears (false) that PostgreSQL may be down, for a successor if this process dies. */
  stopped(stopped: boolean): Promise<void>;
  /** PostgreSQL is left down: recorded durably (outside the job's lock) before the error is thrown. */
  leftDown(reason: string): Promise<void>;
}

/**
 * Stops and starts PostgreSQL with the service commands. On failure after the stop, restores
 * `saved`, starts again and throws saying PostgreSQL runs with its old settings (or, when even
 * that fails, records it with `marks.leftDown` and throws that it is down and how to start it).
 */
export async function restartPostgres(
  site: PitrSite,
  saved: Buffer,
  log: (m: string) => void,
  signal?: AbortSignal,
  marks?: RestartMarks,
): Promise<void> {
  const markStopped = marks && ((b: boolean) => marks.stopped(b));
  const stopRun = (c: typeof site.service.start) => runServiceCommand(c, site.account, signal);
  // Once it is stopped, starting it again is no longer cancellable (Ctrl-C, a cancelled job):
  // only a deadline ends it, so a cancel never leaves PostgreSQL, and Mattermost with it, down.
  const run = (c: typeof site.service.start) =>
    runServiceCommand(c, site.account, AbortSignal.timeout(READY_MS + START_SLACK_MS));
  // Once it is stopped, a settings file that cannot be put back (a full disk, a link planted there)
  // must not end the restart before PostgreSQL is started again (or recorded as left down): it is
  // said, and the starts go on with the settings as they are.
  const putBack = (): Promise<string> =>
    restoreAutoConf(site, saved).then(
      () => '',
      (e: unknown) => {
        const why = `postgresql.auto.conf could not be put back (${e instanceof Error ? e.message : String(e)})`;
        log(why);
        return `; ${why}: it keeps this run's settings`;
      },
    );
  await markStopped?.(true);
  log(`stopping PostgreSQL: ${describeCommand(site.service.stop.argv)}`);
  try {
    await stopRun(site.service.stop);
  } catch (err) {
    // The new settings must not wait for a later restart: put back in either case.
    const notBack = await putBack();
    // A stop that failed, or was cancelled, after the server went down: it must come back now.
    const running = await run(site.service.status).then(
      () => true,
      () => false,
    );
    if (running) {
      await site.su.run(['SELECT pg_reload_conf()'], signal).catch(() => undefined);
      await markStopped?.(false);
      throw new BridgeError(
        'PROCESS_FAILED',
        `PostgreSQL did not stop; ${notBack ? notBack.slice(2) : 'its settings were put back as they were'}`,
        {
          cause: err,
          hint: `check the stop command (${describeCommand(site.service.stop.argv)}, pitr.postgresService) and run pitr enable --restart-postgres again`,
        },
      );
    }
    log(`the stop ended early but PostgreSQL is down: starting it with its old settings`);
    const startError = await startAndWait(site, run);
    if (startError) {
      const why = `its stop ended early (${err instanceof Error ? err.message : String(err)}) and it did not start again (${startError.message})${notBack}`;
      await marks?.leftDown(`a restart of PostgreSQL by mm-backup: ${why}`);
      throw new BridgeError('PROCESS_FAILED', `PostgreSQL IS DOWN: ${why}`, {
        cause: startError,
        hint: leftDownHint(site),
      });
    }
    await markStopped?.(false);
    throw new BridgeError(
      'PROCESS_FAILED',
      `the restart was interrupted after PostgreSQL stopped; ${notBack ? `it runs again${notBack}` : 'its settings were put back and it runs again as before'}`,
      {
        cause: err,
        hint: 'run pitr enable --restart-postgres again',
      },
    );
  }
  log(`starting PostgreSQL: ${describeCommand(site.service.start.argv)}`);
  const firstError = await startAndWait(site, run);
  if (!firstError) {
    await markStopped?.(false);
    return;
  }
  log('PostgreSQL did not come back with the new settings: putting postgresql.auto.conf back and starting it again');
  const notBack = await putBack();
  await run(site.service.stop).catch(() => undefined); // a half-started server must go before the next start
  const secondError = await startAndWait(site, run);
  if (!secondError) {
    await markStopped?.(false);
    throw new BridgeError(
      'PROCESS_FAILED',
      `PostgreSQL did not start with the new settings (${firstError.message}); ${notBack ? `it runs again${notBack}` : 'they were reverted and PostgreSQL runs again as before'}`,
      {
        cause: firstError,
        hint: "read PostgreSQL's log for why it did not start, fix that, then run pitr enable --restart-postgres again",
      },
    );
  }
  const why = notBack
    ? `it did not start with the new settings (${firstError.message}), nor on a second try (${secondError.message})${notBack}`
    : `it did not start with the new settings (${firstError.message}), nor after they were reverted (${secondError.message})`;
  await marks?.leftDown(`a restart of PostgreSQL by mm-backup: ${why}`);
  throw new BridgeError('PROCESS_FAILED', `PostgreSQL IS DOWN: ${why}`, {
    cause: secondError,
    hint: leftDownHint(site),
  });
}

function leftDownHint(site: PitrSite): string {
  return `read PostgreSQL's log, fix what keeps it from starting, then start it: ${describeCommand(site.service.start.argv)} (${POSTGRES_DOWN_DOCS}); mm-backup tries again before every job, when the sidecar starts and every ${POSTGRES_RETRY_MINUTES} minutes`;
}

async function startAndWait(
  site: PitrSite,
  run: (c: typeof site.service.start) => Promise<void>,
): Promise<Error | undefined> {
  try {
    await run(site.service.start);
  } catch (err) {
    return err as Error;
  }
  if (await site.su.waitReady(READY_MS)) return undefined;
  return new ProcessError(`it did not accept connections within ${READY_MS / 1000} s`);
}
