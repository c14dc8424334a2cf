/**
 * A complete, throwaway Mattermost-shaped world for end-to-end tests: a real database server,
 * a sandbox install with realistic rows and attachments, the Mattermost stand-in started and
 * stopped by the configured service commands, and an mm-backup config file pointing at it all.
 */
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
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
  startMariadb,
  startPostgres,
  type Sandbox,
} from '@mm-backup/testkit';
import type { Violation } from '@mm-backup/testkit/mm_rest';
import { runCli, type CliResult } from './cli';

export interface E2E {
  driver: 'postgres' | 'mysql';
  db: Awaited<ReturnType<typeof startPostgres>> | Awaited<ReturnType<typeof startMariadb>>;
  sb: Sandbox;
  root: string;
  repo: string;
  cfgFile: string;
  url: string;
  commands: { start: string[]; stop: string[] };
  cli(...args: string[]): Promise<CliResult>;
  startStandin(): void;
  stopStandin(): void;
  writeConfig(patch?: Record<string, unknown>): Promise<void>;
  /** Spec violations the stand-in recorded so far (see the kit's standin/violations.ts). */
  violations(): Violation[];
  /** Stops everything and removes the temp dir; then fails if the stand-in recorded any violation. */
  cleanup(): Promise<void>;
}

export async function setupE2E(
  driver: 'postgres' | 'mysql',
  opts: { size?: Record<string, number>; writer?: boolean } = {},
): Promise<E2E> {
  const db = driver === 'postgres' ? await startPostgres() : await startMariadb();
  const root = await makeTempDir(`e2e-${driver}-`);
  const port = await freePort();
  const sb = await generateSandbox({
    root,
    db,
    port,
    size: { users: 20, channels: 8, posts: 300, attachments: 40, attachmentBytes: 400_000, ...opts.size },
  });
  const standinState = path.join(root, 'standin');
  const commands = standinCommands(standinState, sb.installDir, { port, writer: opts.writer });
  const url = standinUrl(port);
  const repo = path.join(root, 'repo');
  const cfgFile = path.join(root, 'mm-backup.json');
  const base = {
    mattermost: { installDir: sb.installDir, url, ...(sb.envFilePath ? { envFile: sb.envFilePath } : {}) },
    service: { stop: commands.stop, start: commands.start, stopTimeoutSeconds: 30, healthTimeoutSeconds: 60 },
    repository: { path: repo },
    database: { adminUrl: db.adminUrl(sb.dbName) },
    // Every backup prunes afterwards by default (backup.pruneAfter); these tests count the
    // snapshots they make and prune when they mean to, so the automatic prune is off here unless
    // a test's config turns it on (test/service/same_steps.test.ts tests the follow-ups).
    backup: { pruneAfter: false },
  };
  const writeConfig = async (patch: Record<string, unknown> = {}) => {
    const backup = { ...base.backup, ...(patch.backup as Record<string, unknown> | undefined) };
    await writeFile(cfgFile, JSON.stringify({ ...base, ...patch, backup }, null, 2), { mode: 0o600 });
    await chmod(cfgFile, 0o600);
  };
  await writeConfig();
  const run = (argv: string[]) => {
    const [cmd, ...args] = argv;
    const r = spawnSync(cmd as string, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
  };
  run(commands.start);
  // Killed outright (jest on a signal), the test's process leaves it to the kit's reaper.
  const disarmReaper = reapStandinAtExit(standinState);
  return {
    driver,
    db,
    sb,
    root,
    repo,
    cfgFile,
    url,
    commands,
    cli: (...args: string[]) => runCli(['--config', cfgFile, '--json', ...args]),
    startStandin: () => run(commands.start),
    stopStandin: () => run(commands.stop),
    writeConfig,
    violations: () => standinViolations(standinState),
    cleanup: async () => {
      spawnSync(commands.stop[0] as string, commands.stop.slice(1));
      disarmReaper();
      const violations = standinViolations(standinState);
      await db.destroy();
      await removeTempDir(root);
      assertNoSpecViolations(violations);
    },
  };
}

/** True when Mattermost (the stand-in) answers ping with OK. */
export async function isUp(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/api/v4/system/ping?get_server_status=true`, { signal: AbortSignal.timeout(2000) });
    return res.ok && ((await res.json()) as { status?: string }).status === 'OK';
  } catch {
    return false;
  }
}
