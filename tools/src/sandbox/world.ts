/**
 * The sandbox world: a throwaway PostgreSQL cluster, a Mattermost-shaped install with its
 * database, the Mattermost stand-in (a daemon the service commands stop and start) and an
 * mm-backup config pointing at it all. The demo uses it and tears it down; a kept world
 * (kept_world.ts) leaves it running.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  freePort,
  generateSandbox,
  makeTempDir,
  removeTempDir,
  standinCommands,
  standinUrl,
  startPostgres,
  type PgServer,
  type Sandbox,
} from '@mm-backup/testkit';

/** The sidecar's command as installed (its package's bin), run as a real child process like a user would. */
export const CLI = path.join(
  path.dirname(require.resolve('mattermost-backup-server-bridge/package.json')),
  'bin',
  'mm-backup.js',
);

export interface World {
  root: string;
  pg: PgServer;
  sb: Sandbox;
  cfgFile: string;
  standinUrl: string;
  standinState: string;
  /** The stand-in's service commands (argv arrays), as in the config. */
  cmds: { start: string[]; stop: string[] };
  /** The port the sidecar listens on when the world is kept (in the config's listen block). */
  sidecarPort: number;
}

export interface WorldOptions {
  /** Nothing is removed or stopped when this process exits: the caller keeps the world or tears it down. */
  keep: boolean;
  /** A small install (a few hundred posts, a few MB of files) instead of the demo's. */
  small?: boolean;
}

const DEMO_SIZE = { users: 50, channels: 20, posts: 5000, attachments: 200, attachmentBytes: 20_000_000 };
const SMALL_SIZE = { users: 10, channels: 4, posts: 200, attachments: 20, attachmentBytes: 400_000 };

/** Creates the world with the stand-in running; on failure whatever was made is removed again. */
export async function createWorld(opts: WorldOptions): Promise<World> {
  const pg = await startPostgres({ name: 'sandbox', keep: opts.keep });
  let root: string | undefined;
  let stop: string[] | undefined;
  try {
    root = await makeTempDir('mm-backup-sandbox-', { keep: opts.keep });
    const port = await freePort();
    const sidecarPort = await freePort();
    const sb = await generateSandbox({ root, db: pg, port, size: opts.small ? SMALL_SIZE : DEMO_SIZE });
    const standinState = path.join(root, 'standin');
    const cmds = standinCommands(standinState, sb.installDir, { port });
    const cfgFile = path.join(root, 'mm-backup.json');
    await writeFile(
      cfgFile,
      JSON.stringify(
        {
          mattermost: {
            installDir: sb.installDir,
            url: standinUrl(port),
            ...(sb.envFilePath ? { envFile: sb.envFilePath } : {}),
          },
          service: { start: cmds.start, stop: cmds.stop },
          repository: { path: path.join(root, 'repository') },
          database: { adminUrl: pg.adminUrl(sb.dbName) },
          listen: { host: '127.0.0.1', port: sidecarPort },
        },
        null,
        2,
      ),
      { mode: 0o600 },
    );
    stop = cmds.stop;
    const started = spawnSync(cmds.start[0] as string, cmds.start.slice(1), { stdio: 'inherit' });
    if (started.status !== 0) throw new Error(`the Mattermost stand-in did not start (exit ${started.status})`);
    return {
      root,
      pg,
      sb,
      cfgFile,
      standinUrl: standinUrl(port),
      standinState,
      cmds: { start: cmds.start, stop: cmds.stop },
      sidecarPort,
    };
  } catch (err) {
    if (stop) spawnSync(stop[0] as string, stop.slice(1));
    await pg.destroy();
    if (root) await removeTempDir(root);
    throw err;
  }
}

/** Stops the stand-in and the database and removes the directories (the demo's end). */
export async function destroyWorld(w: World): Promise<void> {
  spawnSync(w.cmds.stop[0] as string, w.cmds.stop.slice(1));
  await w.pg.destroy();
  await removeTempDir(w.root);
}
