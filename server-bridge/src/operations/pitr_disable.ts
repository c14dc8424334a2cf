/**
 * `pitr disable`: puts back exactly the settings `pitr enable` changed (the state file says what
 * postgresql.auto.conf held before each), leaving pgBackRest's repository and config in place.
 * archive_mode goes off only at a restart: without consent WAL is discarded meanwhile
 * (archive_command = 'true'), because an empty archive_command with archive_mode on would keep
 * every WAL segment in pg_wal until the disk is full.
 */
import type { Config } from '../config/schema';
import { sqlLiteral } from '../database/pgbackrest/local_superuser';
import { describeCommand } from '../database/pgbackrest/postgres_service';
import { current, NEEDS_RESTART, readSettings, type ManagedSetting } from '../database/pgbackrest/settings';
import { restartPostgres, saveAutoConf } from './pitr_restart';
import { inspectPitr } from './pitr_site';
import { loadPitrState, removePitrState, savePitrState } from './pitr_state';

/** What a disabled archive_command is while archive_mode waits for the restart that turns it off. */
export const DISCARD_COMMAND = 'true';

export interface PitrDisableOptions {
  restartPostgres: boolean;
  log: (message: string) => void;
  signal?: AbortSignal;
  /** Marks in the job lock that PostgreSQL may be down during the restart (pitr_restart.ts). */
  marks?: Parameters<typeof restartPostgres>[4];
}

export interface PitrDisableResult {
  /** What each setting was put back to (null: RESET, PostgreSQL's default or postgresql.conf). */
  reverted: Array<{ name: ManagedSetting; to: string | null }>;
  restarted: boolean;
  /** archive_mode still on until PostgreSQL restarts; `finish` says how. */
  pendingRestart: boolean;
  finish?: string;
  /** Left in place: the repository holds the backups and WAL archived so far. */
  kept: { repoPath: string; configDir: string };
  /** Nothing to undo: physical mode was not enabled by mm-backup here. */
  nothingToDo: boolean;
}

export async function pitrDisable(cfg: Config, o: PitrDisableOptions): Promise<PitrDisableResult> {
  const state = await loadPitrState(cfg);
  const site = await inspectPitr(cfg, false, o.signal);
  const kept = { repoPath: state?.repoPath ?? site.repoPath, configDir: state?.configDir ?? site.configDir };
  if (!state) return { reverted: [], restarted: false, pendingRestart: false, kept, nothingToDo: true };
  const entries = Object.entries(state.changed) as Array<[ManagedSetting, { before: string | null }]>;
  // The restart applies archive_mode/wal_level; is archiving still on until then?
  const restartNeeded = entries.some(([n]) => NEEDS_RESTART.has(n)) && current(site.settings, 'archive_mode') !== 'off';
  const restartNow = restartNeeded && o.restartPostgres;
  const saved = await saveAutoConf(site);
  const statements = entries.map(([name, { before }]) => {
    if (name === 'archive_command' && restartNeeded && !restartNow) {
      return `ALTER SYSTEM SET archive_command = ${sqlLiteral(DISCARD_COMMAND)}`;
    }
    return before === null ? `ALTER SYSTEM RESET ${name}` : `ALTER SYSTEM SET ${name} = ${sqlLiteral(before)}`;
  });
  await site.su.run([...statements, 'SELECT pg_reload_conf()'], o.signal);
  for (const [name, { before }] of entries) o.log(`${name}: ${before === null ? 'reset' : `set back to ${before}`}`);
  if (restartNow) {
    await restartPostgres(site, saved, o.log, o.signal, o.marks);
  }
  const after = await readSettings(site.su, o.signal);
  const pendingRestart = current(after, 'archive_mode') !== 'off' && restartNeeded;
  if (pendingRestart) {
    await savePitrState(cfg, { ...state, phase: 'disabling' });
    o.log(
      `until PostgreSQL restarts, archive_mode stays on and WAL is discarded (archive_command = '${DISCARD_COMMAND}')`,
    );
  } else {
    await removePitrState(cfg);
  }
  return {
    reverted: entries.map(([name, { before }]) => ({ name, to: before })),
    restarted: restartNow,
    pendingRestart,
    finish: pendingRestart
      ? `mm-backup --config ${describeCommand([cfg.configFile])} pitr disable --restart-postgres (or restart PostgreSQL yourself: ${describeCommand(site.service.stop.argv)}; ${describeCommand(site.service.start.argv)}, then run pitr disable again to tidy up)`
      : undefined,
    kept,
    nothingToDo: false,
  };
}
