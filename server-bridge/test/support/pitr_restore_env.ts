/**
 * The world of a point-in-time restore: a real PostgreSQL cluster (run as postgres) holding a
 * sandbox Mattermost's database, its install and file store, the Mattermost stand-in started and
 * stopped by the service commands, and an mm-backup config with file snapshots and `pitr` (pg_ctl
 * service commands, pgbackrest through a wrapper the tests can make fail once).
 */
import { spawnSync } from 'node:child_process';
import { chmod, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  assertNoSpecViolations,
  freePort,
  generateSandbox,
  makeTempDir,
  removeTempDir,
  standinCommands,
  standinUrl,
  standinViolations,
  reapStandinAtExit,
  startPostgres,
  type PgServer,
  type Sandbox,
  type SandboxSize,
} from '@mm-backup/testkit';
import { runCli, type CliResult } from './cli';

export interface PitrRestoreEnv {
  db: PgServer;
  sb: Sandbox;
  root: string;
  repo: string;
  cfgFile: string;
  url: string;
  /** While this file exists, the pgbackrest wrapper's `restore` runs the real one, then fails. */
  failRestoreMarker: string;
  /** While this file exists, starting Mattermost fails once (the file is removed). */
  failStartMarker: string;
  /** While this file exists, a restore does its work, then writes its pid to `hangPidFile` and sleeps. */
  hangRestoreMarker: string;
  hangPidFile: string;
  /** While this file exists, a restore does its work, writes `pausedFile`, and goes on once `resumeFile` exists. */
  pauseRestoreMarker: string;
  pausedFile: string;
  resumeFile: string;
  cli(...args: string[]): Promise<CliResult>;
  cleanup(): Promise<void>;
}

/** `size`: the sandbox's size (default a small one: tests); a measurement may want more. */
export async function setupPitrRestore(opts: { size?: SandboxSize } = {}): Promise<PitrRestoreEnv> {
  if (process.getuid?.() !== 0) {
    throw new Error('physical-mode tests run as root: pgBackRest and pg_ctl run as postgres');
  }
  const db = await startPostgres({ name: 'pitr-restore' });
  const root = await makeTempDir('pitr-restore-');
  await chmod(root, 0o711);
  const port = await freePort();
  const sb = await generateSandbox({
    root,
    db,
    port,
    size: opts.size ?? { users: 10, channels: 4, posts: 60, attachments: 12, attachmentBytes: 120_000 },
  });
  const standinState = path.join(root, 'standin');
  const commands = standinCommands(standinState, sb.installDir, { port });
  const repo = path.join(root, 'repo');
  const failRestoreMarker = path.join(root, 'fail-next-restore');
  const hangRestoreMarker = path.join(root, 'hang-next-restore');
  // The wrapper runs as postgres, which cannot write in root: the pid goes to /tmp.
  const hangPidFile = `${root}.hang-pid`;
  const pauseRestoreMarker = path.join(root, 'pause-next-restore');
  const pausedFile = `${root}.paused`;
  const resumeFile = `${root}.resume`;
  const wrapper = path.join(root, 'pgbackrest-wrapper');
  await writeFile(
    wrapper,
    [
      '#!/bin/sh',
      '# pgbackrest; with the marker file present, a restore does its work and then fails, once (tests only)',
      'for last; do :; done',
      `if [ "$last" = restore ] && [ -e '${failRestoreMarker}' ]; then`,
      `  /usr/bin/pgbackrest "$@"; echo 'made to fail by the test' >&2; exit 7`,
      'fi',
      `if [ "$last" = restore ] && [ -e '${hangRestoreMarker}' ]; then`,
      `  /usr/bin/pgbackrest "$@"; echo $$ > '${hangPidFile}'; exec sleep 600`,
      'fi',
      `if [ "$last" = restore ] && [ -e '${pauseRestoreMarker}' ]; then`,
      `  /usr/bin/pgbackrest "$@" || exit $?; echo $$ > '${pausedFile}'`,
      `  while [ ! -e '${resumeFile}' ]; do sleep 0.2; done; exit 0`,
      'fi',
      'exec /usr/bin/pgbackrest "$@"',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  const failStartMarker = path.join(root, 'fail-next-start');
  const startWrapper = path.join(root, 'mattermost-start');
  await writeFile(
    startWrapper,
    [
      '#!/bin/sh',
      '# starts the stand-in; with the marker file present, fails once instead (tests only)',
      `if [ -e '${failStartMarker}' ]; then rm -f '${failStartMarker}'; echo 'start made to fail by the test' >&2; exit 1; fi`,
      `exec ${commands.start.map((a) => `'${a}'`).join(' ')}`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  const cfgFile = path.join(root, 'mm-backup.json');
  const cfg = {
    mattermost: {
      installDir: sb.installDir,
      url: standinUrl(port),
      ...(sb.envFilePath ? { envFile: sb.envFilePath } : {}),
    },
    service: { stop: commands.stop, start: [startWrapper], stopTimeoutSeconds: 30, healthTimeoutSeconds: 60 },
    repository: { path: repo },
    database: { adminUrl: db.adminUrl(sb.dbName) },
    backup: { pruneAfter: false },
    pitr: {
      stanza: `mmr${process.pid}`,
      // A hostile name (space, quote, $, %): pgBackRest's restore_command must carry it through sh.
      configDir: path.join(root, "etc pgbackrest $HOME 100% it's"),
      archiveTimeoutSeconds: 30,
      pgbackrestBin: wrapper,
      postgresService: { preset: 'pg_ctl', binDir: db.binDir, logFile: db.logFile },
    },
  };
  await writeFile(cfgFile, JSON.stringify(cfg, null, 2), { mode: 0o600 });
  const started = spawnSync(commands.start[0] as string, commands.start.slice(1), { encoding: 'utf8' });
  if (started.status !== 0) throw new Error(`the stand-in did not start: ${started.stderr}`);
  // Killed outright (jest on a signal), the test's process leaves it to the kit's reaper.
  const disarmReaper = reapStandinAtExit(standinState);
  return {
    db,
    sb,
    root,
    repo,
    cfgFile,
    url: standinUrl(port),
    failRestoreMarker,
    failStartMarker,
    hangRestoreMarker,
    hangPidFile,
    pauseRestoreMarker,
    pausedFile,
    resumeFile,
    cli: (...args: string[]) => runCli(['--config', cfgFile, '--json', ...args]),
    cleanup: async () => {
      spawnSync(commands.stop[0] as string, commands.stop.slice(1));
      disarmReaper();
      const violations = standinViolations(standinState);
      await db.destroy();
      await removeTempDir(root);
      await rm(hangPidFile, { force: true });
      await rm(pausedFile, { force: true });
      await rm(resumeFile, { force: true });
      assertNoSpecViolations(violations);
    },
  };
}
