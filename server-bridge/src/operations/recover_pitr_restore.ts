/**
 * The database half of repairing a killed restore --at (recover_stale_lock.ts runs it first):
 * the old data directory is put back if it was moved aside, and PostgreSQL is started on it. The
 * file half (rollback from the safety snapshot) and Mattermost's start follow as for any restore.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { putBackAside } from '../database/pgbackrest/data_dir';
import { postgresAccount } from '../database/pgbackrest/postgres_account';
import { postgresService, runServiceCommand } from '../database/pgbackrest/postgres_service';
import type { EngineContext } from '../jobs/context';
import { clearPostgresDownMarker } from '../jobs/postgres_down_marker';
import { markPostgresDown } from './postgres_down';
import { clearPitrRestoreMarker, readPitrRestoreMarker, setAsidePitrRestoreMarker } from './restore_at_marker';

/**
 * undefined when no restore --at was in progress; else one sentence of what was done. Throws when
 * PostgreSQL cannot be started. A marker written by another job than `staleJobId` (the killed
 * job's, from its lock) is not acted on: it is set aside and the sentence says so.
 */
export async function recoverPitrRestore(
  ec: EngineContext,
  staleJobId: string,
  log: (level: 'warn', message: string) => void,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const m = await readPitrRestoreMarker(ec.trust.keyFile);
  if (!m) return undefined;
  if (m.jobId !== staleJobId) {
    const kept = await setAsidePitrRestoreMarker(ec.trust.keyFile);
    const note = `A point-in-time restore marker of ${m.jobId ? `job ${m.jobId}` : 'an unknown job'}, not of the interrupted job ${staleJobId}, was found: nothing was done to PostgreSQL, and the marker was set aside as ${kept ?? '(gone)'}; check ${m.dataDir} and ${m.aside} by hand (docs/pitr.md).`;
    log('warn', note);
    return note;
  }
  const account = postgresAccount();
  const run = (argv: Parameters<typeof runServiceCommand>[0]) => runServiceCommand(argv, account, signal);
  // The major is needed for the service commands only; the aside copy has it when the data dir is gone.
  const versionFile = async (dir: string) => readFile(path.join(dir, 'PG_VERSION'), 'utf8').catch(() => undefined);
  const version = (await versionFile(m.aside)) ?? (await versionFile(m.dataDir)) ?? '0';
  const service = postgresService(ec.cfg.pitr.postgresService, { major: Number(version.trim()), dataDir: m.dataDir });
  const running = await run(service.status).then(
    () => true,
    () => false,
  );
  log('warn', `it was a point-in-time restore: putting ${m.dataDir} back as it was and starting PostgreSQL`);
  if (running) await run(service.stop);
  const errorLog = (_l: 'error', msg: string) => log('warn', msg);
  let how: Awaited<ReturnType<typeof putBackAside>>;
  try {
    how = await putBackAside(m.dataDir, m.aside, account, { signal, warn: (w) => log('warn', w) });
  } catch (err) {
    // Shown and looked at, never started by a retry: the data directory is not the old one.
    await markPostgresDown(
      ec,
      `an interrupted point-in-time restore's old data directory could not be put back from ${m.aside} (${(err as Error).message})`,
      errorLog,
      false,
    );
    throw err;
  }
  // The old directory is back: from here a start is all that is left, which the marker's retries
  // do (it is written before the restore marker goes, so a kill in between loses neither).
  await markPostgresDown(
    ec,
    'an interrupted point-in-time restore was undone, and PostgreSQL is to be started on its old data directory',
    errorLog,
  );
  await clearPitrRestoreMarker(ec.trust.keyFile);
  try {
    await run(service.start);
    await run(service.status);
  } catch (err) {
    await markPostgresDown(
      ec,
      `an interrupted point-in-time restore was undone, but PostgreSQL did not start on its old data directory (${(err as Error).message})`,
      errorLog,
    );
    throw err;
  }
  await clearPostgresDownMarker(ec.trust.keyFile);
  return how === 'put back'
    ? `The old PostgreSQL data directory was put back in ${m.dataDir} and PostgreSQL started on it.`
    : 'PostgreSQL was started again on its data directory (it had not been moved yet).';
}
